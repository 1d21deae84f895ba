import type { Raster8 } from '../raster.js';

/** Interleaved 8-bit pixels with any channel count (plain images: grey, grey+alpha, RGB, RGBA). */
export interface NativeImage8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Colour channels (alpha excluded) of an interleaved image. */
export function colourChannels(channels: number): number {
  return channels === 2 || channels === 4 ? channels - 1 : channels;
}

/** Per colour channel fill values: 0 for black, else each channel's minimum over the image. */
export function fillValues(image: NativeImage8, fill: 'black' | 'min'): number[] {
  const count = colourChannels(image.channels);
  const values = new Array<number>(count).fill(fill === 'black' ? 0 : 255);
  if (fill === 'black') return values;
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < count; c++) values[c] = Math.min(values[c], image.data[i * image.channels + c]);
  }
  return values;
}

/** Writes the fill values into every masked pixel (alpha untouched). Returns pixels changed. */
export function fillMasked(image: NativeImage8, mask: Uint8Array, values: readonly number[]): number {
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

/** The detection view of a plain image: grey or RGB, alpha composited onto black. */
export function viewOf(image: NativeImage8): Raster8 {
  const { width, height, channels, data } = image;
  const grey = channels <= 2;
  const out = new Uint8Array(width * height * (grey ? 1 : 3));
  for (let i = 0; i < width * height; i++) {
    const alpha = channels === 2 || channels === 4 ? data[i * channels + channels - 1] / 255 : 1;
    if (grey) out[i] = Math.round(data[i * channels] * alpha);
    else for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(data[i * channels + c] * alpha);
  }
  return { width, height, channels: grey ? 1 : 3, data: out };
}
