import { lookupTable } from './view.js';
import { isYbr422, readSample, writeSample, type PixelLayout } from './layout.js';

/**
 * The native sample values a redacted region is filled with, per channel:
 * black = what displays black (0 / all ones for MONOCHROME1 unsigned, the image's extreme
 * for signed data, Y = 0 with neutral chroma, the darkest palette entry); min = the image's
 * minimum stored value (per channel for RGB).
 */
export function fillSamples(frames: readonly Uint8Array[], layout: PixelLayout, fill: 'black' | 'min', palette?: { red: [number[], Uint16Array]; green: [number[], Uint16Array]; blue: [number[], Uint16Array] }): number[] {
  const channels = layout.samples;
  const p = layout.photometric;
  const mid = 2 ** (layout.bitsStored - 1);
  if (p.startsWith('YBR')) return fill === 'black' ? [0, mid, mid] : [sampleRange(frames, layout).min[0], mid, mid];
  if (fill === 'min') return sampleRange(frames, layout).min;
  // the extremes of every frame are read only when the fill needs them (a cine is millions of samples)
  if (p === 'MONOCHROME1') return [layout.signed ? sampleRange(frames, layout).max[0] : 2 ** layout.bitsStored - 1];
  if (p === 'MONOCHROME2') return [layout.signed ? sampleRange(frames, layout).min[0] : 0];
  if (p === 'PALETTE COLOR' && palette) {
    const tables = [palette.red, palette.green, palette.blue].map(lookupTable);
    const first = palette.red[0][1];
    const entries = palette.red[0][0] === 0 ? 65536 : palette.red[0][0];
    let best = first;
    let darkest = Infinity;
    for (let k = 0; k < entries; k++) {
      const sum = tables[0](first + k) + tables[1](first + k) + tables[2](first + k);
      if (sum < darkest) {
        darkest = sum;
        best = first + k;
      }
    }
    return [best];
  }
  return new Array<number>(channels).fill(0);
}

/** The smallest and largest stored value per channel over all frames. */
function sampleRange(frames: readonly Uint8Array[], layout: PixelLayout): { min: number[]; max: number[] } {
  const pixels = layout.rows * layout.columns;
  const channels = layout.samples;
  const min = new Array<number>(channels).fill(Infinity);
  const max = new Array<number>(channels).fill(-Infinity);
  for (const frame of frames) {
    for (let i = 0; i < pixels; i++) {
      for (let c = 0; c < channels; c++) {
        const v = readSample(frame, layout, i, c);
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
      }
    }
  }
  return { min, max };
}

/** Writes `values` into every pixel of `mask` (1 = fill). Returns the pixels that changed. */
export function fillFrame(frame: Uint8Array, layout: PixelLayout, mask: Uint8Array, values: readonly number[]): number {
  if (layout.bitsAllocated === 8 && layout.bitsStored === 8 && !layout.signed && (layout.samples === 1 || (layout.samples === 3 && !layout.planar && !isYbr422(layout)))) {
    return fillBytes(frame, layout.samples, mask, values);
  }
  let changed = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    let differs = false;
    for (let c = 0; c < layout.samples; c++) {
      if (readSample(frame, layout, i, c) !== values[c]) {
        differs = true;
        writeSample(frame, layout, i, c, values[c]);
      }
    }
    if (differs) changed++;
  }
  return changed;
}

/**
 * fillFrame for 8-bit samples that use all 8 bits, one or three interleaved: each sample is
 * its byte. The same comparisons and the same bytes written as readSample/writeSample
 * (which keep no bits above Bits Stored here: there are none), without a call per sample.
 */
function fillBytes(frame: Uint8Array, samples: number, mask: Uint8Array, values: readonly number[]): number {
  const written = values.slice(0, samples).map((value) => Math.floor(value % 256) % 256);
  let changed = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    let differs = false;
    for (let c = 0, at = i * samples; c < samples; c++, at++) {
      if (frame[at] !== values[c]) {
        differs = true;
        frame[at] = written[c];
      }
    }
    if (differs) changed++;
  }
  return changed;
}
