import { describe, expect, it } from 'vitest';
import { buildFillMask, countSet, coveredFraction } from '../../../src/image/redact/regionMask.js';
import { fillMasked, fillValues, viewOf } from '../../../src/image/redact/fillRaster.js';

describe('fill masks', () => {
  it('fills boxes with a margin, clipped to the image', () => {
    const mask = buildFillMask(20, 10, [{ box: { x: 0, y: 0, width: 4, height: 2 }, mask: new Uint8Array(8) }], 'box', 1);
    expect(countSet(mask)).toBe(5 * 3);
    expect(coveredFraction(mask, 20, { x: 0, y: 0, width: 5, height: 3 })).toBe(1);
  });

  it('fills the dilated instance mask only', () => {
    const m = new Uint8Array(9 * 5);
    m[2 * 9 + 4] = 1; // one pixel in the middle of a 9×5 box
    const mask = buildFillMask(30, 30, [{ box: { x: 10, y: 10, width: 9, height: 5 }, mask: m }], 'mask', 2);
    expect(countSet(mask)).toBe(25);
    expect(mask[12 * 30 + 14]).toBe(1);
    expect(mask[10 * 30 + 10]).toBe(0);
  });

  it('writes black or per-channel minimum into colour channels only, keeping alpha', () => {
    const image = { width: 2, height: 1, channels: 4, data: new Uint8Array([10, 20, 30, 200, 50, 60, 70, 255]) };
    expect(fillValues(image, 'min')).toEqual([10, 20, 30]);
    const changed = fillMasked(image, new Uint8Array([0, 1]), [0, 0, 0]);
    expect(changed).toBe(1);
    expect(Array.from(image.data)).toEqual([10, 20, 30, 200, 0, 0, 0, 255]);
    expect(viewOf(image).channels).toBe(3);
  });
});

describe('fractional boxes', () => {
  it('covers every pixel a fractional box touches', () => {
    const mask = buildFillMask(10, 10, [{ box: { x: 1.5, y: 2.2, width: 2, height: 2 }, mask: new Uint8Array(0) }], 'box', 0);
    expect(countSet(mask)).toBe(3 * 3);
    expect(mask[2 * 10 + 1]).toBe(1);
    expect(mask[4 * 10 + 3]).toBe(1);
  });
});
