import { describe, expect, it } from 'vitest';
import type { PixelLayout } from '../../../src/dicom/pixels/layout.js';
import { mustTriage, storedLook } from '../../../src/dicom/pixels/triage.js';
import type { Raster8 } from '../../../src/image/raster.js';
import { framesDiffer } from '../../../src/image/triage.js';

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
