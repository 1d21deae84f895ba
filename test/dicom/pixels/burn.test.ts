import { describe, expect, it } from 'vitest';
import { readSample, type PixelLayout } from '../../../src/dicom/pixels/layout.js';
import { burnText, burnValue } from '../../../src/dicom/pixels/burn.js';

const layout: PixelLayout = { rows: 2, columns: 3, samples: 1, bitsAllocated: 16, bitsStored: 16, signed: true, planar: false, photometric: 'MONOCHROME2' };

function frameOf(values: number[]): Uint8Array {
  const frame = new Uint8Array(values.length * 2);
  values.forEach((v, i) => new DataView(frame.buffer).setInt16(2 * i, v, true));
  return frame;
}

describe('text burned into stored values', () => {
  it('writes the brightest layer pixel at the burn value, blends edges, leaves the rest and the input alone', () => {
    const frame = frameOf([-1000, 40, 400, 40, 40, 1200]);
    const layer = { width: 3, height: 2, channels: 1 as const, data: new Uint8Array([0, 200, 100, 0, 0, 0]) };
    const out = burnText(frame, layout, layer, 1200);
    expect([0, 1, 2, 3, 4, 5].map((i) => readSample(out, layout, i, 0))).toEqual([-1000, 1200, 800, 40, 40, 1200]);
    expect(readSample(frame, layout, 1, 0)).toBe(40);
  });

  it('burns at the maximum or halfway between minimum and maximum', () => {
    expect(burnValue({ min: -2000, max: 2492 }, 'max')).toBe(2492);
    expect(burnValue({ min: -2000, max: 2492 }, 'mid')).toBe(246);
  });
});
