import type { Raster8 } from '../raster.js';

/** Interleaved 8-bit pixels with any channel count (plain images: grey, grey+alpha, RGB, RGBA). */
export interface NativeImage8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** The same at 16 bits per sample (16-bit PNG and TIFF). */
export interface NativeImage16 {
  width: number;
  height: number;
  channels: number;
  data: Uint16Array;
}

export type NativeImage = NativeImage8 | NativeImage16;

/** Largest sample value of an image's depth. */
export function sampleMax(image: NativeImage): number {
  return image.data instanceof Uint16Array ? 65535 : 255;
}

/** Page `page` of pages stacked top to bottom: a view sharing the image's samples. */
export function pageOf(image: NativeImage, page: number, pageHeight: number): NativeImage {
  const size = image.width * pageHeight * image.channels;
  const base = { width: image.width, height: pageHeight, channels: image.channels };
  return image.data instanceof Uint16Array ? { ...base, data: image.data.subarray(page * size, (page + 1) * size) } : { ...base, data: image.data.subarray(page * size, (page + 1) * size) };
}

/** Colour channels (alpha excluded) of an interleaved image. */
export function colourChannels(channels: number): number {
  return channels === 2 || channels === 4 ? channels - 1 : channels;
}

/** Per colour channel fill values: 0 for black, else each channel's minimum over the image. */
export function fillValues(image: NativeImage, fill: 'black' | 'min'): number[] {
  const count = colourChannels(image.channels);
  const values = new Array<number>(count).fill(fill === 'black' ? 0 : sampleMax(image));
  if (fill === 'black') return values;
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < count; c++) values[c] = Math.min(values[c], image.data[i * image.channels + c]);
  }
  return values;
}

/** Writes the fill values into every masked pixel (alpha untouched). Returns pixels changed. */
export function fillMasked(image: NativeImage, mask: Uint8Array, values: readonly number[]): number {
  let changed = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    let differs = false;
    for (let c = 0; c < values.length; c++) {
      const at = i * image.channels + c;
      if (image.data[at] !== values[c]) differs = true;
      image.data[at] = values[c];
    }
    if (differs) changed++;
  }
  return changed;
}

/** Maps native samples to the 8-bit detection view: samples at or below `low` are 0, at or above `high` 255. */
export interface ViewWindow {
  low: number;
  high: number;
}

/**
 * The window of a plain image: 8-bit images are seen as stored; 16-bit images through
 * a robust range (0.5th to 99.5th percentile of their colour samples), as DICOM without a
 * window is — a 16-bit export often uses only 12 bits of its range. Computed once per
 * file, before any fill, so that every pass sees the same mapping.
 */
export function viewWindow(image: NativeImage): ViewWindow {
  if (!(image.data instanceof Uint16Array)) return { low: 0, high: 255 };
  const colour = colourChannels(image.channels);
  const histogram = new Uint32Array(65536);
  let total = 0;
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < colour; c++) histogram[image.data[i * image.channels + c]]++;
    total += colour;
  }
  const at = (share: number): number => {
    let seen = 0;
    for (let v = 0; v < histogram.length; v++) {
      seen += histogram[v];
      if (seen > share * total) return v;
    }
    return 65535;
  };
  const low = at(0.005);
  const high = at(0.995);
  return high > low ? { low, high } : { low: Math.max(0, low - 1), high: low + 1 };
}

/** The detection view of a plain image: grey or RGB through its window, alpha composited onto black. */
export function viewOf(image: NativeImage, window: ViewWindow = { low: 0, high: sampleMax(image) }): Raster8 {
  const { width, height, channels, data } = image;
  const grey = channels <= 2;
  const alphaMax = sampleMax(image);
  const span = window.high - window.low;
  const out = new Uint8Array(width * height * (grey ? 1 : 3));
  const toView = (v: number): number => Math.max(0, Math.min(255, Math.round(((v - window.low) * 255) / span)));
  for (let i = 0; i < width * height; i++) {
    const alpha = channels === 2 || channels === 4 ? data[i * channels + channels - 1] / alphaMax : 1;
    if (grey) out[i] = Math.round(toView(data[i * channels]) * alpha);
    else for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(toView(data[i * channels + c]) * alpha);
  }
  return { width, height, channels: grey ? 1 : 3, data: out };
}
