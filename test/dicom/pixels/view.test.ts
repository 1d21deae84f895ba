import { describe, expect, it } from 'vitest';
import { readSample, type PixelLayout } from '../../../src/dicom/pixels/layout.js';
import { channelSamples, frameView, rangeView } from '../../../src/dicom/pixels/view.js';
import { fillFrame } from '../../../src/dicom/pixels/fill.js';

/** A frame of pseudo-random bytes (a fixed seed: the same bytes every run). */
function noise(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const base: PixelLayout = { rows: 5, columns: 6, samples: 1, bitsAllocated: 16, bitsStored: 16, signed: false, planar: false, photometric: 'MONOCHROME2' };
const layouts: [string, PixelLayout][] = [
  ['16-bit signed, 12 stored', { ...base, bitsStored: 12, signed: true }],
  ['16-bit unsigned, 10 stored (bits above kept in the data)', { ...base, bitsStored: 10 }],
  ['8-bit interleaved RGB', { ...base, samples: 3, bitsAllocated: 8, bitsStored: 8, photometric: 'RGB' }],
  ['8-bit planar RGB', { ...base, samples: 3, bitsAllocated: 8, bitsStored: 8, planar: true, photometric: 'RGB' }],
  ['16-bit RGB', { ...base, samples: 3, photometric: 'RGB' }],
  ['YBR_FULL_422 (chroma shared by pixel pairs)', { ...base, samples: 3, bitsAllocated: 8, bitsStored: 8, photometric: 'YBR_FULL_422' }],
  ['8-bit signed, 7 stored', { ...base, bitsAllocated: 8, bitsStored: 7, signed: true }],
  // int32 like storedSamples always held them (the cleaner reads 8 and 16 bits only)
  ['32-bit (the per-sample path)', { ...base, bitsAllocated: 32, bitsStored: 32 }],
];

describe('channelSamples: every sample of one channel in one pass', () => {
  it.each(layouts)('%s: the same values as readSample, sample by sample', (_, layout) => {
    const frame = noise(layout.rows * layout.columns * layout.samples * (layout.bitsAllocated / 8));
    for (let channel = 0; channel < layout.samples; channel++) {
      const expected = Array.from({ length: layout.rows * layout.columns }, (_, i) => readSample(frame, layout, i, channel) | 0);
      expect(Array.from(channelSamples(frame, layout, channel))).toEqual(expected);
    }
  });
});

describe('frameView', () => {
  it('maps a monochrome frame through its window, rescale applied, MONOCHROME1 inverted', () => {
    const layout: PixelLayout = { ...base, rows: 1, columns: 4 };
    // stored 0, 100, 200, 300 → rescaled ×2 − 100 = −100, 100, 300, 500; window 200 ± 200
    const frame = new Uint8Array(new Uint16Array([0, 100, 200, 300]).buffer);
    const settings = { windowCenter: 200, windowWidth: 400, slope: 2, intercept: -100 };
    expect(Array.from(frameView(frame, layout, settings).data)).toEqual([0, 64, 191, 255]);
    expect(Array.from(frameView(frame, { ...layout, photometric: 'MONOCHROME1' }, settings).data)).toEqual([255, 191, 64, 0]);
  });

  it('reads 8-bit grey and interleaved RGB frames in place: the same view as the same values held in 16 bits', () => {
    // 16-bit samples with 8 stored take the general path (one pass per channel, a table over the frame's range)
    const widen = (bytes: Uint8Array): Uint8Array => new Uint8Array(new Uint16Array(bytes).buffer);
    const grey: PixelLayout = { ...base, rows: 48, columns: 40, bitsAllocated: 8, bitsStored: 8 };
    const frame = noise(grey.rows * grey.columns, 11);
    // a window, none (robust range), rescaled, a flat frame (no range), MONOCHROME1
    const settings = [{ windowCenter: 90, windowWidth: 120, slope: 1, intercept: 0 }, { slope: 1, intercept: 0 }, { slope: 2, intercept: -30 }];
    for (const photometric of ['MONOCHROME2', 'MONOCHROME1']) {
      for (const look of settings) {
        for (const bytes of [frame, new Uint8Array(frame.length).fill(77)]) {
          const view = frameView(bytes, { ...grey, photometric }, look);
          expect(view.data).toEqual(frameView(widen(bytes), { ...grey, photometric, bitsAllocated: 16 }, look).data);
        }
      }
    }
    const rgb: PixelLayout = { ...grey, samples: 3, photometric: 'RGB' };
    const colour = noise(rgb.rows * rgb.columns * 3, 13);
    const view = frameView(colour, rgb, { slope: 1, intercept: 0 });
    expect(view.data).toEqual(frameView(widen(colour), { ...rgb, bitsAllocated: 16 }, { slope: 1, intercept: 0 }).data);
    expect(view.data).toEqual(colour);
  });

  it('reads PALETTE COLOR indices through the three tables', () => {
    const layout: PixelLayout = { ...base, rows: 1, columns: 3, bitsAllocated: 8, bitsStored: 8, photometric: 'PALETTE COLOR' };
    const table = (values: number[]): [number[], Uint16Array] => [[4, 0, 16], new Uint16Array(values.map((v) => v * 256))];
    const palette = { red: table([0, 10, 20, 30]), green: table([1, 11, 21, 31]), blue: table([2, 12, 22, 32]) };
    // index 9 is past the table's end: the last entry
    const view = frameView(new Uint8Array([1, 3, 9]), layout, { slope: 1, intercept: 0, palette });
    expect(Array.from(view.data)).toEqual([10, 11, 12, 30, 31, 32, 30, 31, 32]);
  });
});

describe('rangeView', () => {
  it('gives each sample the grey level of its place in the range, clamped outside it (MONOCHROME1 inverted), through a table or not', () => {
    const layout: PixelLayout = { ...base, rows: 30, columns: 20 };
    const bytes = noise(layout.rows * layout.columns * 2, 23);
    // signed values spread over fewer than twice the pixels (a table), some below and above the
    // range; then one far outlier, a spread wider than the frame (no table)
    const narrow = Int32Array.from({ length: 600 }, (_, i) => (((bytes[2 * i] << 8) | bytes[2 * i + 1]) % 1000) - 500);
    const wide = Int32Array.from(narrow, (v, i) => (i === 0 ? -100_000 : v));
    for (const samples of [narrow, wide]) {
      for (const photometric of ['MONOCHROME2', 'MONOCHROME1']) {
        const range = { min: -300, max: 400 };
        const expected = Array.from(samples, (s) => {
          const v = Math.max(0, Math.min(255, Math.round((s - range.min) * (255 / (range.max - range.min)))));
          return photometric === 'MONOCHROME1' ? 255 - v : v;
        });
        const view = rangeView(samples, { ...layout, photometric }, range);
        expect(Array.from(view.data)).toEqual(expected);
      }
    }
  });
});

describe('fillFrame on 8-bit samples (written byte by byte)', () => {
  it.each([
    ['grey', 1, [0]],
    ['grey, a value the samples cannot hold', 1, [300]],
    ['interleaved RGB', 3, [0, 128, 255]],
  ] as [string, number, number[]][])('%s: the same samples and count as the same values held in 16 bits', (_, samples, values) => {
    // 16-bit samples with 8 stored take readSample/writeSample (and keep their zero high bytes)
    const layout: PixelLayout = { ...base, rows: 9, columns: 7, samples, bitsAllocated: 8, bitsStored: 8, photometric: samples === 3 ? 'RGB' : 'MONOCHROME2' };
    const frame = noise(layout.rows * layout.columns * samples, 17);
    // some samples already hold the fill value
    for (let i = 0; i < frame.length; i += 5) frame[i] = values[i % samples] % 256;
    const mask = noise(layout.rows * layout.columns, 19).map((v) => (v > 100 ? 1 : 0));
    const wide = new Uint8Array(new Uint16Array(frame).buffer);
    const changed = fillFrame(frame, layout, mask, values);
    expect(changed).toBe(fillFrame(wide, { ...layout, bitsAllocated: 16 }, mask, values));
    expect(changed).toBeGreaterThan(0);
    expect(frame).toEqual(new Uint8Array(new Uint16Array(wide.buffer)));
  });
});
