import { describe, expect, it } from 'vitest';
import type { PixelLayout } from '../../src/dicom/pixels/layout.js';
import { framesDiffer, mustTriage, nearWhiteTextRegions, storedLook } from '../../src/image/triage.js';
import type { Raster8 } from '../../src/image/raster.js';

function grey(width: number, height: number, value: number): Raster8 {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(value) };
}

describe('multi-frame triage rule', () => {
  it('always triages the first, middle and last frame', () => {
    const view = grey(8, 8, 10);
    for (const frame of [0, 4, 9]) expect(mustTriage(frame, 10, view, view)).toBe(true);
    expect(mustTriage(3, 10, view, view)).toBe(false);
  });

  it('triages a frame whose pixels differ from the last triaged frame by as little as a small glyph', () => {
    const before = grey(64, 64, 20);
    const noisy = grey(64, 64, 20);
    for (let i = 0; i < noisy.data.length; i += 7) noisy.data[i] = 45; // noise below 40 levels
    expect(framesDiffer(noisy, before)).toBe(false);
    const glyph = grey(64, 64, 20);
    for (let i = 0; i < 12; i++) glyph.data[5 * 64 + 40 + i] = 255; // one short white stroke
    expect(framesDiffer(glyph, before)).toBe(true);
    expect(mustTriage(3, 10, glyph, before)).toBe(true);
  });
});

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

describe('stored-value look of a monochrome frame', () => {
  const layout: PixelLayout = { rows: 64, columns: 64, samples: 1, bitsAllocated: 16, bitsStored: 12, signed: false, planar: false, photometric: 'MONOCHROME2' };
  /** Tissue at 1000–1127, one column burned at 4000 (the maximum). */
  const frame = new Uint8Array(64 * 64 * 2);
  for (let i = 0; i < 64 * 64; i++) {
    const v = i % 64 === 10 ? 4000 : 1000 + (i % 128);
    frame[2 * i] = v & 0xff;
    frame[2 * i + 1] = v >> 8;
  }

  it('reads the whole range view when the window leaves out part of the stored range', () => {
    const look = storedLook(frame, layout, { windowCenter: 1064, windowWidth: 200, slope: 1, intercept: 0 });
    expect(look?.whole).toBe(true);
    expect(look?.range).toEqual({ min: 1000, max: 4000 });
    // the burned column is white, the tissue dark: text at the maximum stands out whatever the window
    expect(look?.view.data[10]).toBe(255);
    expect(look?.view.data[11]).toBeLessThan(20);
  });

  it('reads only the near-white rows when the window spans the range, and has nothing to add for colour frames', () => {
    expect(storedLook(frame, layout, { windowCenter: 2500, windowWidth: 3200, slope: 1, intercept: 0 })?.whole).toBe(false);
    expect(storedLook(new Uint8Array(64 * 64 * 3), { ...layout, samples: 3, bitsAllocated: 8, bitsStored: 8, photometric: 'RGB' }, { slope: 1, intercept: 0 })).toBeUndefined();
  });
});
