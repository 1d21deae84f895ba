import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, redactFaces, type FaceDetector } from '../../../src/image/faces/index.js';
import { faceEllipse, featheredEllipse, insideEllipse } from '../../../src/image/faces/mask.js';
import type { Raster8 } from '../../../src/image/raster.js';
import { centre, readRgb } from './helpers.js';

/**
 * ../shared/data/dicom/OT-PAL-8-face.dcm: a 640×480 palette-colour secondary capture of a
 * real face (close-up; by eye the face spans about x 170–440, y 20–400 with the hair).
 * Decoded to RGB with dcmtk's dcm2pnm (installed here and in CI) so that this test does
 * not depend on the DICOM reader of another area.
 */
const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const file = resolve(repoRoot, '../shared/data/dicom/OT-PAL-8-face.dcm');

let detector: FaceDetector;
let dir: string;
let image: Raster8;
beforeAll(async () => {
  detector = await createFaceDetector();
  dir = await mkdtemp(join(tmpdir(), 'veil-faces-'));
  const png = join(dir, 'face.png');
  const run = spawnSync('dcm2pnm', ['--write-png', file, png], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`dcm2pnm failed: ${run.stderr}`);
  image = await readRgb(png);
});
afterAll(async () => {
  await detector.close();
  await rm(dir, { recursive: true, force: true });
});

function meanGradient(img: Raster8, box: { x: number; y: number; width: number; height: number }): number {
  let sum = 0;
  let n = 0;
  const lum = (x: number, y: number): number => {
    const p = (y * img.width + x) * 3;
    return 0.299 * (img.data[p] as number) + 0.587 * (img.data[p + 1] as number) + 0.114 * (img.data[p + 2] as number);
  };
  for (let y = Math.ceil(box.y); y < box.y + box.height - 1; y++) {
    for (let x = Math.ceil(box.x); x < box.x + box.width - 1; x++) {
      sum += Math.abs(lum(x + 1, y) - lum(x, y)) + Math.abs(lum(x, y + 1) - lum(x, y));
      n++;
    }
  }
  return sum / n;
}

describe('the face in a palette-colour DICOM secondary capture', () => {
  it('is found once, on the face', async () => {
    expect([image.width, image.height]).toEqual([640, 480]);
    const faces = await detector.detect(image);
    expect(faces).toHaveLength(1);
    const c = centre(faces[0]!.box);
    expect(c.x).toBeGreaterThan(200);
    expect(c.x).toBeLessThan(420);
    expect(c.y).toBeGreaterThan(100);
    expect(c.y).toBeLessThan(350);
    expect(faces[0]!.box.width).toBeGreaterThan(120);
  });

  it('loses its detail when blurred, the detector no longer finds it, and the rest stays', async () => {
    const before: Raster8 = { ...image, data: new Uint8Array(image.data) };
    const output: Raster8 = { ...image, data: new Uint8Array(image.data) };
    const result = await redactFaces(detector, output, 'blur');
    expect(result.verification.passed).toBe(true);
    const face = result.faces[0]!;
    expect(meanGradient(output, face.box)).toBeLessThan(0.35 * meanGradient(before, face.box));
    const region = featheredEllipse(faceEllipse(face));
    let outside = 0;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const p = (y * image.width + x) * 3;
        const same = output.data[p] === before.data[p] && output.data[p + 1] === before.data[p + 1] && output.data[p + 2] === before.data[p + 2];
        if (!same && !insideEllipse(region, x, y)) outside++;
      }
    }
    expect(outside).toBe(0);
  });
});
