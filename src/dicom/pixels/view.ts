import type { Raster8 } from '../../image/index.js';
import { isYbr422, readSample, type PixelLayout } from './layout.js';

/**
 * The 8-bit detection view of one native frame: the VOI window of the header (else a
 * robust 0.5–99.5 percentile range) for monochrome, MONOCHROME1 inverted; YBR converted to
 * RGB; PALETTE COLOR through its lookup tables.
 */
export interface ViewSettings {
  windowCenter?: number;
  windowWidth?: number;
  slope: number;
  intercept: number;
  palette?: { red: [number[], Uint16Array]; green: [number[], Uint16Array]; blue: [number[], Uint16Array] };
}

export function frameView(frame: Uint8Array, layout: PixelLayout, settings: ViewSettings): Raster8 {
  const pixels = layout.rows * layout.columns;
  const { photometric } = layout;
  // 8-bit samples that use all 8 bits are their stored values: read in place, no copy (the
  // views are rebuilt after every fill; a cine is many frames)
  const plain8 = layout.bitsAllocated === 8 && layout.bitsStored === 8 && !layout.signed;
  if (photometric.startsWith('MONOCHROME')) {
    const bytes = plain8 && layout.samples === 1 ? frame.subarray(0, pixels) : undefined;
    const samples = bytes ?? storedSamples(frame, layout) ?? channelSamples(frame, layout, 0);
    const [lo, hi] = windowOf(samples, settings);
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const out = new Uint8Array(pixels);
    const invert = photometric === 'MONOCHROME1';
    // Each stored value maps to one grey level: computed once per distinct value (a lookup
    // table over the frame's range) instead of once per pixel, with the same arithmetic.
    const grey = (sample: number): number => {
      const v = Math.max(0, Math.min(255, Math.round((sample * settings.slope + settings.intercept - lo) * scale)));
      return invert ? 255 - v : v;
    };
    mapThroughTable(samples, grey, out);
    return { width: layout.columns, height: layout.rows, channels: 1, data: out };
  }
  const out = new Uint8Array(pixels * 3);
  if (photometric === 'PALETTE COLOR' && settings.palette) {
    const tables = [settings.palette.red, settings.palette.green, settings.palette.blue].map(lookupTable);
    const indices = channelSamples(frame, layout, 0);
    const range = storedRange(indices) ?? { min: indices[0] ?? 0, max: indices[0] ?? 0 };
    // the three tables' entries for the indices this frame uses, read once
    const lut = new Uint8Array((range.max - range.min + 1) * 3);
    for (let index = range.min; index <= range.max; index++) for (let c = 0; c < 3; c++) lut[(index - range.min) * 3 + c] = tables[c](index);
    for (let i = 0; i < pixels; i++) {
      const at = (indices[i] - range.min) * 3;
      out[i * 3] = lut[at];
      out[i * 3 + 1] = lut[at + 1];
      out[i * 3 + 2] = lut[at + 2];
    }
    return { width: layout.columns, height: layout.rows, channels: 3, data: out };
  }
  if (plain8 && layout.samples === 3 && !layout.planar && photometric === 'RGB') {
    out.set(frame.subarray(0, pixels * 3));
    return { width: layout.columns, height: layout.rows, channels: 3, data: out };
  }
  const shift = Math.max(0, layout.bitsStored - 8);
  const ybr = photometric.startsWith('YBR_FULL') || photometric.startsWith('YBR_PARTIAL');
  const first = channelSamples(frame, layout, 0);
  const second = channelSamples(frame, layout, Math.min(1, layout.samples - 1));
  const third = channelSamples(frame, layout, Math.min(2, layout.samples - 1));
  for (let i = 0; i < pixels; i++) {
    const a = first[i] >> shift;
    const b = second[i] >> shift;
    const c = third[i] >> shift;
    if (ybr) {
      out[i * 3] = clamp(a + 1.402 * (c - 128));
      out[i * 3 + 1] = clamp(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      out[i * 3 + 2] = clamp(a + 1.772 * (b - 128));
    } else {
      out[i * 3] = clamp(a);
      out[i * 3 + 1] = clamp(b);
      out[i * 3 + 2] = clamp(c);
    }
  }
  return { width: layout.columns, height: layout.rows, channels: 3, data: out };
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** The display window of a monochrome frame, in rescaled units (the header's VOI window, else the robust range). */
export function displayWindow(samples: Int32Array, settings: ViewSettings): [number, number] {
  return windowOf(samples, settings);
}

/** The window in rescaled units; the robust range is taken over the stored `samples` after Rescale Slope/Intercept. */
function windowOf(samples: Int32Array | Uint8Array, settings: ViewSettings): [number, number] {
  if (settings.windowCenter !== undefined && settings.windowWidth !== undefined && settings.windowWidth > 1) {
    return [settings.windowCenter - settings.windowWidth / 2, settings.windowCenter + settings.windowWidth / 2];
  }
  // Robust range from a sample of the pixels (sorting all of a 4k² frame is wasteful).
  const step = Math.max(1, Math.floor(samples.length / 65536));
  const sample: number[] = [];
  for (let i = 0; i < samples.length; i += step) sample.push(samples[i] * settings.slope + settings.intercept);
  sample.sort((a, b) => a - b);
  const lo = sample[Math.floor(sample.length * 0.005)];
  const hi = sample[Math.min(sample.length - 1, Math.floor(sample.length * 0.995))];
  if (hi > lo) return [lo, hi];
  return [sample[0], sample[sample.length - 1]];
}

/** A PALETTE COLOR table as index → 8-bit value (descriptor: entries, first mapped, bits). */
export function lookupTable([descriptor, data]: [number[], Uint16Array]): (index: number) => number {
  const entries = descriptor[0] === 0 ? 65536 : descriptor[0];
  const first = descriptor[1];
  // 8-bit tables are sometimes packed two entries per 16-bit word.
  const packed = descriptor[2] === 8 && data.length * 2 === entries;
  let max = 0;
  for (const v of data) max = Math.max(max, v);
  const shift = !packed && max > 255 ? 8 : 0;
  return (index: number): number => {
    const k = Math.max(0, Math.min(entries - 1, index - first));
    if (packed) return (data[k >> 1] >> ((k & 1) * 8)) & 0xff;
    return (data[Math.min(data.length - 1, k)] >> shift) & 0xff;
  };
}

/**
 * Devices burn text at a fixed stored value, usually the top of the frame's range, and the
 * display window can render that value the same white as the tissue under it. These views
 * of a monochrome frame ignore the window (colour frames have none: undefined).
 */
export interface StoredRange {
  min: number;
  max: number;
}

/** The stored values of a one-sample monochrome frame (sign-extended), read in one pass. */
export function storedSamples(frame: Uint8Array, layout: PixelLayout): Int32Array | undefined {
  if (!layout.photometric.startsWith('MONOCHROME') || layout.samples !== 1) return undefined;
  const pixels = layout.rows * layout.columns;
  const out = new Int32Array(pixels);
  const bits = Math.min(layout.bitsStored, 16);
  const mask = 2 ** bits - 1;
  const sign = 2 ** (bits - 1);
  const signed = layout.signed;
  const wrap = 2 * sign;
  if (layout.bitsAllocated === 16) {
    for (let i = 0, at = 0; i < pixels; i++, at += 2) {
      const raw = (frame[at] | (frame[at + 1] << 8)) & mask;
      out[i] = signed && raw >= sign ? raw - wrap : raw;
    }
    return out;
  }
  if (layout.bitsAllocated === 8) {
    for (let i = 0; i < pixels; i++) {
      const raw = frame[i] & mask;
      out[i] = signed && raw >= sign ? raw - wrap : raw;
    }
    return out;
  }
  return channelSamples(frame, layout, 0);
}

/**
 * One channel of a frame as stored values (readSample's arithmetic, in one pass): the views
 * read every sample of a frame after each fill, and a call per sample was most of their cost.
 * 32-bit samples wrap to int32 (the cleaner reads 8 and 16 bits only).
 */
export function channelSamples(frame: Uint8Array, layout: PixelLayout, channel: number): Int32Array {
  const pixels = layout.rows * layout.columns;
  const out = new Int32Array(pixels);
  const { bitsAllocated, bitsStored: bits, samples, signed, planar } = layout;
  if ((bitsAllocated !== 8 && bitsAllocated !== 16) || bits > bitsAllocated || bits < 1) {
    for (let i = 0; i < pixels; i++) out[i] = readSample(frame, layout, i, channel);
    return out;
  }
  const mask = 2 ** bits - 1;
  const sign = 2 ** (bits - 1);
  const wrap = 2 ** bits;
  const wide = bitsAllocated === 16;
  const ybr = isYbr422(layout);
  for (let i = 0; i < pixels; i++) {
    const index = ybr ? (i >> 1) * 4 + (channel === 0 ? i & 1 : channel + 1) : planar ? channel * pixels + i : i * samples + channel;
    const raw = (wide ? frame[2 * index] | (frame[2 * index + 1] << 8) : frame[index]) & mask;
    out[i] = signed && raw >= sign ? raw - wrap : raw;
  }
  return out;
}

export function storedRange(samples: Int32Array): StoredRange | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return max > min ? { min, max } : undefined;
}

/** Linear view of the frame's whole stored range, minimum black (MONOCHROME1 inverted). */
export function rangeView(samples: Int32Array, layout: PixelLayout, range: StoredRange): Raster8 {
  const scale = 255 / (range.max - range.min);
  const invert = layout.photometric === 'MONOCHROME1';
  const out = new Uint8Array(samples.length);
  // values outside the range (a fill below the minimum) clamp
  const grey = (sample: number): number => {
    const v = Math.max(0, Math.min(255, Math.round((sample - range.min) * scale)));
    return invert ? 255 - v : v;
  };
  mapThroughTable(samples, grey, out);
  return { width: layout.columns, height: layout.rows, channels: 1, data: out };
}

/**
 * out[i] = grey(samples[i]) for each of out's pixels, each distinct stored value computed once:
 * through a table over the values present (0–255 for bytes), unless they spread wider than twice
 * the pixels (then sample by sample). The same arithmetic either way.
 */
function mapThroughTable(samples: Int32Array | Uint8Array, grey: (sample: number) => number, out: Uint8Array): void {
  const range = samples instanceof Uint8Array ? { min: 0, max: 255 } : storedRange(samples);
  if (range && range.max - range.min < 2 * out.length) {
    const table = new Uint8Array(range.max - range.min + 1);
    for (let s = range.min; s <= range.max; s++) table[s - range.min] = grey(s);
    const min = range.min;
    for (let i = 0; i < out.length; i++) out[i] = table[samples[i] - min];
  } else {
    for (let i = 0; i < out.length; i++) out[i] = grey(samples[i]);
  }
}
