import { describe, expect, it } from 'vitest';
import type { Raster8 } from '../../../src/image/raster.js';
import { DETECTION_MEAN, DETECTION_STD } from '../../../src/image/text/detectionInput.js';
import { buildMosaic, packShelves, packTightly, slotMap } from '../../../src/image/text/mosaic.js';

function overlap(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

describe('packShelves', () => {
  it('places every slot inside the tensor without overlap, sides multiples of 32', () => {
    const sizes = [
      { width: 300, height: 60 },
      { width: 120, height: 40 },
      { width: 500, height: 90 },
      { width: 90, height: 90 },
      { width: 200, height: 30 },
      { width: 64, height: 64 },
    ];
    const packing = packTightly(sizes);
    expect(packing.width % 32).toBe(0);
    expect(packing.height % 32).toBe(0);
    packing.slots.forEach((slot, i) => {
      expect(slot.width).toBe(sizes[i].width);
      expect(slot.height).toBe(sizes[i].height);
      expect(slot.x + slot.width).toBeLessThanOrEqual(packing.width);
      expect(slot.y + slot.height).toBeLessThanOrEqual(packing.height);
      packing.slots.forEach((other, j) => {
        if (j !== i) expect(overlap(slot, other)).toBe(false);
      });
    });
  });

  it('reads less than separate runs over closer-look strips (each rounded up to multiples of 32)', () => {
    const strips = [
      { width: 340, height: 72 },
      { width: 260, height: 64 },
      { width: 420, height: 80 },
      { width: 180, height: 56 },
      { width: 300, height: 72 },
      { width: 150, height: 48 },
    ];
    const packing = packTightly(strips);
    const separate = strips.reduce((sum, s) => sum + Math.ceil(s.width / 32) * 32 * Math.ceil(s.height / 32) * 32, 0);
    expect(packing.width * packing.height).toBeLessThan(separate);
  });

  it('is at least as tight as shelves of any width from the widest slot to three squares', () => {
    // Seeded sizes like verification windows and closer-look strips.
    let state = 7;
    const next = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sizes = Array.from({ length: 14 }, () => ({ width: 80 + Math.round(next() * 420), height: 40 + Math.round(next() * 120) }));
    const tight = packTightly(sizes);
    const widest = Math.max(...sizes.map((s) => s.width));
    for (let width = Math.ceil(widest / 32) * 32; width <= 3 * Math.sqrt(sizes.reduce((sum, s) => sum + s.width * s.height, 0)); width += 32) {
      const shelves = packShelves(sizes, width);
      expect(tight.width * tight.height).toBeLessThanOrEqual(shelves.width * shelves.height);
    }
  });

  it('fills the room left on an earlier shelf (first fit)', () => {
    const packing = packShelves(
      [
        { width: 200, height: 50 },
        { width: 200, height: 40 },
        { width: 50, height: 20 },
      ],
      256,
    );
    expect(packing.slots[2]).toEqual({ x: 200, y: 0, width: 50, height: 20 });
    expect(packing.height).toBe(96);
  });
});

describe('buildMosaic / slotMap', () => {
  it('writes each part inside its black border and reads each slot back where it was placed', () => {
    const part = (width: number, height: number, value: number): Raster8 => ({ width, height, channels: 1, data: new Uint8Array(width * height).fill(value) });
    const parts = [part(40, 10, 255), part(30, 20, 100)];
    const pad = 4;
    const mosaic = buildMosaic(parts, pad);
    const plane = mosaic.width * mosaic.height;
    const red = (mosaic.tensor.subarray(2 * plane) as Float32Array).slice();
    const black = -DETECTION_MEAN[2] / DETECTION_STD[2];
    parts.forEach((p, n) => {
      const slot = mosaic.slots[n];
      expect(slot.width).toBe(p.width + 2 * pad);
      const map = slotMap(red, mosaic.width, slot);
      const expected = (p.data[0] / 255 - DETECTION_MEAN[2]) / DETECTION_STD[2];
      expect(map[pad * slot.width + pad]).toBeCloseTo(expected, 5);
      expect(map[(pad + p.height - 1) * slot.width + pad + p.width - 1]).toBeCloseTo(expected, 5);
      expect(map[0]).toBeCloseTo(black, 5);
      expect(map[(pad + p.height) * slot.width + pad]).toBeCloseTo(black, 5);
    });
  });
});
