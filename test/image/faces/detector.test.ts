import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, type FaceDetector } from '../../../src/image/faces/index.js';
import { isVeilError } from '../../../src/errors.js';
import { centre, humanAsset, readRgb, toGrey } from './helpers.js';

/**
 * Real photographs from @vladmandic/human's assets. Expected regions were read off the
 * images by eye (documented here, not produced by the detector):
 *  - screenshot-faceid.jpg (800×564): one webcam portrait in the photo at x 14–153, y 141–281;
 *  - screenshot-facedetect.jpg (800×718): five face cards in the bottom row, y 345–497, at
 *    x 8–157, 164–314, 321–471, 478–628, 634–790 (plus small faces in the thumbnails above).
 */
const CARDS = [
  [8, 157],
  [164, 314],
  [321, 471],
  [478, 628],
  [634, 790],
] as const;

let detector: FaceDetector;
beforeAll(async () => {
  detector = await createFaceDetector();
});
afterAll(async () => {
  await detector.close();
});

describe('BlazeFace detector on real photos', () => {
  it('finds the one face of a webcam portrait, with a tight box and keypoints on the face', async () => {
    const image = await readRgb(humanAsset('screenshot-faceid.jpg'));
    const faces = await detector.detect(image);
    expect(faces).toHaveLength(1);
    const [face] = faces;
    const c = centre(face!.box);
    expect(c.x).toBeGreaterThan(14);
    expect(c.x).toBeLessThan(153);
    expect(c.y).toBeGreaterThan(141);
    expect(c.y).toBeLessThan(281);
    expect(face!.box.width).toBeGreaterThan(40);
    expect(face!.box.width).toBeLessThan(140);
    expect(face!.score).toBeGreaterThan(0.5);
    expect(face!.keypoints).toHaveLength(6);
    // Eyes above the mouth, right eye (of the person) left of the left eye.
    const [rightEye, leftEye, , mouth] = face!.keypoints;
    expect(rightEye!.x).toBeLessThan(leftEye!.x);
    expect(Math.max(rightEye!.y, leftEye!.y)).toBeLessThan(mouth!.y);
  });

  it('finds each of five faces in a row of portraits, and the small faces in the thumbnails', async () => {
    const image = await readRgb(humanAsset('screenshot-facedetect.jpg'));
    const faces = await detector.detect(image);
    for (const [x0, x1] of CARDS) {
      const inCard = faces.filter((f) => {
        const c = centre(f.box);
        return c.x > x0 && c.x < x1 && c.y > 345 && c.y < 497;
      });
      expect(inCard, `card ${x0}–${x1}`).toHaveLength(1);
    }
    // The thumbnails (y 85–245) hold several faces of ~20–25 px: only the pyramid finds them.
    const small = faces.filter((f) => f.box.y < 245 && f.box.width < 40);
    expect(small.length).toBeGreaterThanOrEqual(2);
  });

  it('finds the same five faces in the photo enlarged 4× (3200×2872: the large-image path)', async () => {
    const small = await readRgb(humanAsset('screenshot-facedetect.jpg'));
    const { data, info } = await sharp(humanAsset('screenshot-facedetect.jpg')).resize({ width: small.width * 4 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const faces = await detector.detect({ width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) });
    for (const [x0, x1] of CARDS) {
      const inCard = faces.filter((f) => {
        const c = centre(f.box);
        return c.x / 4 > x0 && c.x / 4 < x1 && c.y / 4 > 345 && c.y / 4 < 497;
      });
      expect(inCard, `card ${x0}–${x1}`).toHaveLength(1);
    }
  });

  it('works on a grey image as on colour', async () => {
    const image = toGrey(await readRgb(humanAsset('screenshot-faceid.jpg')));
    const faces = await detector.detect(image);
    expect(faces).toHaveLength(1);
    expect(centre(faces[0]!.box).x).toBeLessThan(153);
  });

  it('finds nothing confident in a face-free picture (a ceiling with lamps)', async () => {
    const full = await readRgb(humanAsset('samples.jpg'));
    // Face-free ceiling of the large photo in samples.jpg: x 520–1280, y 200–390.
    const width = 760;
    const height = 190;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) data.set(full.data.subarray(((200 + y) * full.width + 520) * 3, ((200 + y) * full.width + 520 + width) * 3), y * width * 3);
    const found = await detector.detect({ width, height, channels: 3, data });
    // Known: one lamp scores right at the default threshold (0.5); nothing scores higher.
    expect(found.length).toBeLessThanOrEqual(1);
    for (const f of found) expect(f.score).toBeLessThan(0.6);
  });

  it('rejects a raster whose data does not match its size', async () => {
    const error = await detector.detect({ width: 10, height: 10, channels: 3, data: new Uint8Array(10) }).catch((e: unknown) => e);
    expect(isVeilError(error) && error.code === 'IMAGE_INVALID').toBe(true);
  });
});
