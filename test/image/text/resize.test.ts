import { describe, expect, it } from 'vitest';
import type { Raster8 } from '../../../src/image/raster.js';
import { cropRaster, resizeBilinear } from '../../../src/image/text/resize.js';

/** Bilinear sampling written out per output sample (half-pixel centres, edge clamped). */
function reference(source: Raster8, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * source.channels);
  const at = (x: number, y: number, c: number): number => source.data[(y * source.width + x) * source.channels + c];
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * (source.height / height) - 0.5);
    const y0 = Math.min(source.height - 1, Math.floor(fy));
    const y1 = Math.min(source.height - 1, y0 + 1);
    for (let x = 0; x < width; x++) {
      const fx = Math.max(0, (x + 0.5) * (source.width / width) - 0.5);
      const x0 = Math.min(source.width - 1, Math.floor(fx));
      const x1 = Math.min(source.width - 1, x0 + 1);
      for (let c = 0; c < source.channels; c++) {
        const top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * (fx - x0);
        const bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * (fx - x0);
        out[(y * width + x) * source.channels + c] = Math.round(top + (bottom - top) * (fy - y0));
      }
    }
  }
  return out;
}

function pattern(width: number, height: number, channels: 1 | 3): Raster8 {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + ((i / 7) | 0) * 11) % 256;
  return { width, height, channels, data };
}

describe('resizeBilinear', () => {
  it.each([
    [3, 120, 30, 240, 60],
    [3, 120, 30, 333, 48],
    [3, 90, 17, 48, 11],
    [1, 64, 40, 128, 80],
    [1, 50, 50, 31, 77],
  ] as [1 | 3, number, number, number, number][])('matches per-sample bilinear sampling (%i channels, %i×%i → %i×%i)', (channels, w, h, width, height) => {
    const source = pattern(w, h, channels);
    const resized = resizeBilinear(source, width, height);
    expect([resized.width, resized.height, resized.channels]).toEqual([width, height, channels]);
    expect(Array.from(resized.data)).toEqual(Array.from(reference(source, width, height)));
  });
});

describe('cropRaster', () => {
  it('clips the box to the raster', () => {
    const source = pattern(10, 8, 3);
    const crop = cropRaster(source, 7, -2, 6, 5);
    expect([crop.width, crop.height]).toEqual([3, 3]);
    expect(Array.from(crop.data.subarray(0, 3))).toEqual(Array.from(source.data.subarray(7 * 3, 8 * 3)));
  });
});
