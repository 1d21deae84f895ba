import { describe, expect, it } from 'vitest';
import type { Raster8 } from '../../src/image/raster.js';
import { nearWhiteTextRegions } from '../../src/image/triage.js';

function grey(width: number, height: number, value: number): Raster8 {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(value) };
}

describe('near-white text-like rows of the stored-range view', () => {
  /** A dark 200×100 view with white blobs (x, y, width, height). */
  function withBlobs(blobs: [number, number, number, number][]): Raster8 {
    const view = grey(200, 100, 30);
    for (const [x0, y0, w, h] of blobs) for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) view.data[y * 200 + x] = 255;
    return view;
  }

  it('finds a row of glyph-sized white components and widens it by its height', () => {
    const regions = nearWhiteTextRegions(withBlobs([[40, 20, 5, 8], [48, 20, 5, 8], [56, 21, 5, 7], [64, 20, 5, 8]]));
    expect(regions).toEqual([{ x: 32, y: 16, width: 45, height: 16 }]);
  });

  it('ignores a lone glyph-sized dot, specks under 3 px tall, and blobs taller than a text line', () => {
    expect(nearWhiteTextRegions(withBlobs([[40, 20, 4, 6]]))).toEqual([]);
    expect(nearWhiteTextRegions(withBlobs([[10, 10, 2, 2], [14, 10, 2, 2], [18, 10, 2, 2]]))).toEqual([]);
    expect(nearWhiteTextRegions(withBlobs([[10, 10, 60, 60], [80, 10, 60, 60]]))).toEqual([]);
  });

  it('keeps a single component at least twice as wide as tall (touching glyphs)', () => {
    expect(nearWhiteTextRegions(withBlobs([[40, 20, 30, 8]]))).toHaveLength(1);
  });
});
