import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, type FaceDetector } from '../../../src/image/faces/index.js';
import { rotateRaster, unrotatePoint, type Rotation } from '../../../src/image/faces/rotate.js';
import { centre, humanAsset, readRgb } from './helpers.js';

describe('rotateRaster', () => {
  // 3×2 grey image with distinct values.
  const image = { width: 3, height: 2, channels: 1 as const, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };

  it('turns clockwise by quarter turns', () => {
    expect(Array.from(rotateRaster(image, 90).data)).toEqual([4, 1, 5, 2, 6, 3]);
    expect(Array.from(rotateRaster(image, 180).data)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(Array.from(rotateRaster(image, 270).data)).toEqual([3, 6, 2, 5, 1, 4]);
    expect([rotateRaster(image, 90).width, rotateRaster(image, 90).height]).toEqual([2, 3]);
  });

  it.each<Rotation>([90, 180, 270])('maps a pixel of the %d° image back to where it came from', (rotation) => {
    const turned = rotateRaster(image, rotation);
    for (let y = 0; y < turned.height; y++) {
      for (let x = 0; x < turned.width; x++) {
        // Pixel centres map to pixel centres.
        const back = unrotatePoint(x + 0.5, y + 0.5, rotation, image.width, image.height);
        const value = image.data[Math.floor(back.y) * image.width + Math.floor(back.x)];
        expect(value).toBe(turned.data[y * turned.width + x]);
      }
    }
  });
});

describe('faces of people lying down', () => {
  let detector: FaceDetector;
  beforeAll(async () => {
    detector = await createFaceDetector({ rotations: [0, 90, 270] });
  });
  afterAll(async () => {
    await detector.close();
  });

  it.each<Rotation>([90, 270])('finds the portrait turned by %d°, at the right place', async (turn) => {
    const upright = await readRgb(humanAsset('screenshot-faceid.jpg'));
    const turned = rotateRaster(upright, turn);
    const faces = await detector.detect(turned);
    expect(faces).toHaveLength(1);
    // Where the upright face centre (x 14–153, y 141–281 region) lands in the turned image.
    const c = centre(faces[0]!.box);
    const back = unrotatePoint(c.x, c.y, turn, upright.width, upright.height);
    expect(back.x).toBeGreaterThan(14);
    expect(back.x).toBeLessThan(153);
    expect(back.y).toBeGreaterThan(141);
    expect(back.y).toBeLessThan(281);
  });
});
