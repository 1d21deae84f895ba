import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, hideFaces, redactFaces, verifyFacesHidden, type FaceAction, type FaceDetection, type FaceDetector } from '../../../src/image/faces/index.js';
import { faceEllipse, featheredEllipse, insideEllipse } from '../../../src/image/faces/mask.js';
import type { Raster8 } from '../../../src/image/raster.js';
import { humanAsset, readRgb, toGrey } from './helpers.js';

let detector: FaceDetector;
let portrait: Raster8;
let faces: FaceDetection[];
beforeAll(async () => {
  detector = await createFaceDetector();
  portrait = await readRgb(humanAsset('screenshot-faceid.jpg'));
  faces = await detector.detect(portrait);
});
afterAll(async () => {
  await detector.close();
});

function copy(image: Raster8): Raster8 {
  return { ...image, data: new Uint8Array(image.data) };
}

function changedPixels(a: Raster8, b: Raster8): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let p = 0; p < a.width * a.height; p++) {
    for (let c = 0; c < a.channels; c++) {
      if (a.data[p * a.channels + c] !== b.data[p * b.channels + c]) {
        out.push({ x: p % a.width, y: Math.floor(p / a.width) });
        break;
      }
    }
  }
  return out;
}

describe('hideFaces', () => {
  it.each<FaceAction>(['blur', 'pixelate', 'fill'])('%s: the detector no longer finds the face', async (action) => {
    expect(faces).toHaveLength(1);
    const image = copy(portrait);
    const changed = hideFaces(image, faces, action);
    expect(changed).toBeGreaterThan(0);
    const verification = await verifyFacesHidden(detector, image);
    expect(verification.remaining).toEqual([]);
    expect(verification.passed).toBe(true);
  });

  it.each<FaceAction>(['blur', 'pixelate', 'fill'])('%s: changes only pixels near the face, and reports how many', (action) => {
    const image = copy(portrait);
    const reported = hideFaces(image, faces, action);
    const changed = changedPixels(portrait, image);
    expect(reported).toBe(changed.length);
    const region = featheredEllipse(faceEllipse(faces[0]!));
    for (const p of changed) expect(insideEllipse(region, p.x, p.y), `${p.x},${p.y}`).toBe(true);
    // Near the face: the changed area stays within a few face boxes, not the whole image.
    const box = faces[0]!.box;
    expect(changed.length).toBeLessThan(4 * box.width * box.height);
    expect(changed.length).toBeGreaterThan(box.width * box.height * 0.8);
  });

  it('covers the whole face box, eyes and mouth included', () => {
    const image = copy(portrait);
    hideFaces(image, faces, 'fill');
    const { box, keypoints } = faces[0]!;
    const e = faceEllipse(faces[0]!);
    for (const [x, y] of [
      [box.x + 1, box.y + 1],
      [box.x + box.width - 1, box.y + 1],
      [box.x + 1, box.y + box.height - 1],
      [box.x + box.width - 1, box.y + box.height - 1],
    ] as const) {
      expect(insideEllipse(e, Math.floor(x), Math.floor(y))).toBe(true);
    }
    for (const k of keypoints.slice(0, 4)) expect(insideEllipse(e, Math.floor(k.x), Math.floor(k.y))).toBe(true);
  });

  it('blurs a grey image in place, leaving everything else untouched', async () => {
    const grey = toGrey(portrait);
    const before = copy(grey);
    const greyFaces = await detector.detect(grey);
    expect(greyFaces).toHaveLength(1);
    hideFaces(grey, greyFaces, 'blur');
    expect(changedPixels(before, grey).length).toBeGreaterThan(0);
    expect((await verifyFacesHidden(detector, grey)).passed).toBe(true);
  });

  it('does nothing without faces', () => {
    const image = copy(portrait);
    expect(hideFaces(image, [], 'blur')).toBe(0);
    expect(changedPixels(portrait, image)).toHaveLength(0);
  });
});

describe('redactFaces', () => {
  it('detects, hides and verifies in one call, reporting boxes but no pixels', async () => {
    const image = copy(portrait);
    const result = await redactFaces(detector, image, 'blur');
    expect(result.faces).toHaveLength(1);
    expect(result.verification.passed).toBe(true);
    expect(result.passes).toBe(1);
    expect(result.pixelsChanged).toBe(changedPixels(portrait, image).length);
    expect(JSON.stringify(result)).not.toMatch(/data/);
  });

  it('passes an image without faces untouched', async () => {
    const blank: Raster8 = { width: 320, height: 240, channels: 3, data: new Uint8Array(320 * 240 * 3).fill(128) };
    const result = await redactFaces(detector, blank, 'blur');
    expect(result.faces).toHaveLength(0);
    expect(result.pixelsChanged).toBe(0);
    expect(result.verification.passed).toBe(true);
  });
});
