import type { Raster8 } from '../../image/index.js';
import { readSample, writeSample, type PixelLayout } from './layout.js';

/**
 * Burns rendered text into a native monochrome frame the way devices do: at one stored
 * value (the frame's maximum, or a mid-grey value), whatever the tissue under it and
 * whatever the display window. `layer` is the text rendered alone on black (1 or 3
 * channels, brightest channel counts); its brightest pixel becomes `value`, darker pixels
 * (anti-aliased edges, dimmer colours) blend the stored value towards it.
 */
export function burnText(frame: Uint8Array, layout: PixelLayout, layer: Raster8, value: number): Uint8Array {
  const out = new Uint8Array(frame); // a copy (Buffer.slice would share memory)
  const pixels = layout.rows * layout.columns;
  const level = (i: number): number => {
    let v = 0;
    for (let c = 0; c < layer.channels; c++) v = Math.max(v, layer.data[i * layer.channels + c]);
    return v;
  };
  let peak = 0;
  for (let i = 0; i < pixels; i++) peak = Math.max(peak, level(i));
  if (peak === 0) return out;
  for (let i = 0; i < pixels; i++) {
    const a = level(i) / peak;
    if (a === 0) continue;
    const stored = readSample(frame, layout, i, 0);
    writeSample(out, layout, i, 0, Math.round(stored + (value - stored) * a));
  }
  return out;
}

/** Stored values text is burned at: the frame's maximum, or halfway between its minimum and maximum. */
export type BurnLevel = 'max' | 'mid';

export function burnValue(range: { min: number; max: number }, level: BurnLevel): number {
  return level === 'max' ? range.max : Math.round((range.min + range.max) / 2);
}
