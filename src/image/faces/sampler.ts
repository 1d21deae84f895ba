import type { Raster8 } from '../raster.js';
import type { Tile } from './tiles.js';

/**
 * Area-averaging sampler: a summed-area table of the image, built once per image, gives
 * the mean of any box in O(1), so every tile at every level is downscaled without aliasing
 * at a cost of 4 lookups per output value, whatever the tile size.
 */
export interface IntegralImage {
  width: number;
  height: number;
  /** (width+1)·(height+1)·3 running sums, RGB interleaved (grey is replicated). */
  sums: Uint32Array | Float64Array;
}

export function buildIntegral(image: Raster8): IntegralImage {
  const { width, height, channels, data } = image;
  const stride = (width + 1) * 3;
  // Uint32 holds the sums while width·height·255 < 2³²; larger images use Float64.
  const sums = width * height * 255 < 2 ** 32 ? new Uint32Array(stride * (height + 1)) : new Float64Array(stride * (height + 1));
  const row = new Float64Array(3);
  for (let y = 0; y < height; y++) {
    row.fill(0);
    const src = y * width * channels;
    const above = y * stride;
    const here = (y + 1) * stride;
    for (let x = 0; x < width; x++) {
      const p = src + x * channels;
      for (let c = 0; c < 3; c++) {
        row[c] = (row[c] as number) + (data[p + (channels === 3 ? c : 0)] as number);
        const o = (x + 1) * 3 + c;
        sums[here + o] = (sums[above + o] as number) + (row[c] as number);
      }
    }
  }
  return { width, height, sums };
}

/**
 * Fills `out` (size·size·3 floats, NHWC, values in [-1, 1] as BlazeFace expects) with the
 * tile resampled to `size`×`size`. Outside the image reads as black (letterbox).
 */
export function sampleTile(integral: IntegralImage, tile: Tile, size: number, out: Float32Array, offset = 0): void {
  const { width, height, sums } = integral;
  const stride = (width + 1) * 3;
  const scale = tile.size / size;
  const xs0 = new Int32Array(size);
  const xs1 = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const [a, b] = span(tile.x + i * scale, scale, width);
    xs0[i] = a;
    xs1[i] = b;
  }
  for (let j = 0; j < size; j++) {
    const [y0, y1] = span(tile.y + j * scale, scale, height);
    const rowOut = offset + j * size * 3;
    for (let i = 0; i < size; i++) {
      const x0 = xs0[i] as number;
      const x1 = xs1[i] as number;
      const o = rowOut + i * 3;
      const count = (x1 - x0) * (y1 - y0);
      if (count <= 0) {
        out[o] = out[o + 1] = out[o + 2] = -1;
        continue;
      }
      const a = y0 * stride + x0 * 3;
      const b = y0 * stride + x1 * 3;
      const c = y1 * stride + x0 * 3;
      const d = y1 * stride + x1 * 3;
      for (let ch = 0; ch < 3; ch++) {
        const sum = (sums[d + ch] as number) - (sums[b + ch] as number) - (sums[c + ch] as number) + (sums[a + ch] as number);
        out[o + ch] = sum / count / 127.5 - 1;
      }
    }
  }
}

/** Integer pixel range [start, end) under one output pixel, at least one pixel wide, clipped. */
function span(start: number, length: number, limit: number): [number, number] {
  let a = Math.floor(start);
  let b = Math.max(a + 1, Math.round(start + length));
  a = Math.max(0, Math.min(limit, a));
  b = Math.max(0, Math.min(limit, b));
  return [a, b];
}
