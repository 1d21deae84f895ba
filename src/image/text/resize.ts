import type { Raster8 } from '../raster.js';

/**
 * Bilinear resize of an interleaved 8-bit raster (pure; allocates the result). Each source
 * row is interpolated horizontally once and kept while output rows still use it
 * (upscaling reads every source row for several output rows).
 */
export function resizeBilinear(source: Raster8, width: number, height: number): Raster8 {
  const { channels, data } = source;
  const out = new Uint8Array(width * height * channels);
  const sx = source.width / width;
  const sy = source.height / height;
  // Column taps are the same for every row: computed once (sample offsets and weights).
  const left = new Int32Array(width);
  const right = new Int32Array(width);
  const weight = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(source.width - 1, Math.floor(fx));
    left[x] = x0 * channels;
    right[x] = Math.min(source.width - 1, x0 + 1) * channels;
    weight[x] = fx - x0;
  }
  const rowLength = width * channels;
  const interpolated = [new Float64Array(rowLength), new Float64Array(rowLength)];
  const held = [-1, -1];
  const rowOf = (sourceRow: number): Float64Array => {
    const slot = sourceRow & 1;
    const row = interpolated[slot];
    if (held[slot] === sourceRow) return row;
    const base = sourceRow * source.width * channels;
    for (let x = 0, o = 0; x < width; x++) {
      const wx = weight[x];
      const a = base + left[x];
      const b = base + right[x];
      for (let c = 0; c < channels; c++, o++) row[o] = data[a + c] + (data[b + c] - data[a + c]) * wx;
    }
    held[slot] = sourceRow;
    return row;
  };
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(source.height - 1, Math.floor(fy));
    const y1 = Math.min(source.height - 1, y0 + 1);
    const wy = fy - y0;
    const top = rowOf(y0);
    // y1 is y0 or y0 + 1: a different parity slot, or the same row.
    const bottom = y1 === y0 ? top : rowOf(y1);
    const o = y * rowLength;
    for (let i = 0; i < rowLength; i++) out[o + i] = Math.round(top[i] + (bottom[i] - top[i]) * wy);
  }
  return { width, height, channels, data: out };
}

/** The pixels of `box` (clipped to the raster) as a new raster. */
export function cropRaster(source: Raster8, x: number, y: number, width: number, height: number): Raster8 {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(source.width, Math.ceil(x + width));
  const y1 = Math.min(source.height, Math.ceil(y + height));
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const { channels } = source;
  const out = new Uint8Array(w * h * channels);
  for (let row = 0; row < h; row++) {
    const from = ((y0 + row) * source.width + x0) * channels;
    out.set(source.data.subarray(from, from + w * channels), row * w * channels);
  }
  return { width: w, height: h, channels, data: out };
}
