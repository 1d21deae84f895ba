/**
 * Issue 14, recall ≥ 97% with < 0.05 false positives per face-free photo: the low band
 * (candidates scoring 0.4–0.5, kept only when the re-check finds them again clearly).
 * Uses the evaluation set's builders (scripts/faces-eval-set.ts): real face crops and real
 * photographs from installed npm packages, rebuilt deterministically.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, type FaceDetection, type FaceDetector } from '../../../src/image/faces/index.js';
import { isVeilError } from '../../../src/errors.js';
import { buildFaceEvalSet, buildRealPhotoSet, type EvalImage, type TruthFace } from '../../../scripts/faces-eval-set.js';
import { matchFaces } from '../../../scripts/faces-eval-metrics.js';

let withBand: FaceDetector;
let withoutBand: FaceDetector;
beforeAll(async () => {
  withBand = await createFaceDetector();
  withoutBand = await createFaceDetector({ lowScore: 0.5 });
});
afterAll(async () => {
  await withBand.close();
  await withoutBand.close();
});

function found(truth: TruthFace[], faces: FaceDetection[]): number {
  return matchFaces(truth, faces).matched.size;
}

describe('the low band', () => {
  it('finds the two faces of a 1920×1080 group that score 0.44–0.45 (missed at 0.5), and only real faces', async () => {
    const [group] = (await buildFaceEvalSet(5, (name) => name === 'group-large-3.png')) as [EvalImage];
    // The two faces (40 and 50 px, one against the top border) the detector used to miss.
    const hard = group.faces.filter((f) => (Math.round(f.x) === 632 && Math.round(f.y) === 815) || (Math.round(f.x) === 1089 && Math.round(f.y) === 29));
    expect(hard).toHaveLength(2);
    expect(found(hard, await withoutBand.detect(group))).toBe(0);
    const faces = await withBand.detect(group);
    expect(found(hard, faces)).toBe(2);
    expect(matchFaces(group.faces, faces).falsePositives).toBe(0);
    for (const f of faces.filter((x) => x.score < 0.5)) expect(f.score).toBeGreaterThanOrEqual(0.4);
  });

  it('adds no false positive on the face-free real photographs (chandeliers, bodies, floor, street, wall; full and half size)', async () => {
    const { faceFree, withFaces } = await buildRealPhotoSet();
    expect(faceFree).toHaveLength(12);
    for (const img of faceFree) expect(await withBand.detect(img), img.name).toEqual([]);
    for (const img of withFaces) expect(matchFaces(img.faces, await withBand.detect(img)).falsePositives, img.name).toBe(0);
  });

  it('rejects a low-band score above the minimum score', async () => {
    const error = await createFaceDetector({ minScore: 0.5, lowScore: 0.6 }).catch((e: unknown) => e);
    expect(isVeilError(error) && error.code === 'USAGE' && error.location.field === 'lowScore').toBe(true);
  });
});
