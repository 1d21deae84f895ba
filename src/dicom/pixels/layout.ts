/**
 * Sample access in native little-endian frames, at their own bit depth: interleaved or
 * planar colour, YBR_FULL_422's shared chroma (Y Y Cb Cr per pixel pair), signed samples
 * sign-extended from Bits Stored, and bits above Bits Stored preserved on write.
 */
export interface PixelLayout {
  rows: number;
  columns: number;
  samples: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  planar: boolean;
  photometric: string;
}

export function isYbr422(layout: PixelLayout): boolean {
  return layout.samples === 3 && (layout.photometric === 'YBR_FULL_422' || layout.photometric === 'YBR_PARTIAL_422');
}

export function frameByteLength(layout: PixelLayout): number {
  const pixels = layout.rows * layout.columns;
  if (isYbr422(layout)) return pixels * 2 * (layout.bitsAllocated / 8);
  return (pixels * layout.samples * layout.bitsAllocated) / 8;
}

/** Byte offset of (pixel, channel) in a frame. */
function offsetOf(layout: PixelLayout, pixel: number, channel: number): number {
  const bytes = layout.bitsAllocated / 8;
  if (isYbr422(layout)) {
    const pair = Math.floor(pixel / 2);
    return (pair * 4 + (channel === 0 ? pixel % 2 : channel + 1)) * bytes;
  }
  const index = layout.planar ? channel * layout.rows * layout.columns + pixel : pixel * layout.samples + channel;
  return index * bytes;
}

export function readSample(frame: Uint8Array, layout: PixelLayout, pixel: number, channel: number): number {
  const at = offsetOf(layout, pixel, channel);
  let raw: number;
  if (layout.bitsAllocated === 8) raw = frame[at];
  else if (layout.bitsAllocated === 16) raw = frame[at] | (frame[at + 1] << 8);
  else raw = (frame[at] | (frame[at + 1] << 8) | (frame[at + 2] << 16) | (frame[at + 3] << 24)) >>> 0;
  const bits = layout.bitsStored;
  const value = bits >= 32 ? raw : raw % 2 ** bits;
  if (layout.signed && value >= 2 ** (bits - 1)) return value - 2 ** bits;
  return value;
}

export function writeSample(frame: Uint8Array, layout: PixelLayout, pixel: number, channel: number, value: number): void {
  const at = offsetOf(layout, pixel, channel);
  const width = layout.bitsAllocated / 8;
  let raw = 0;
  for (let b = 0; b < width; b++) raw += frame[at + b] * 2 ** (8 * b);
  const bits = layout.bitsStored;
  // Signed samples are written sign-extended to the full width; unsigned ones keep the bits
  // above Bits Stored (old overlay planes).
  const next = layout.signed ? (value < 0 ? 2 ** layout.bitsAllocated + value : value) : raw - (raw % 2 ** bits) + (value % 2 ** bits);
  for (let b = 0; b < width; b++) frame[at + b] = Math.floor(next / 2 ** (8 * b)) % 256;
}

/** Big-endian native data to little endian (OW words swapped; 8-bit data is stored as swapped OW). */
export function toLittleEndian(data: Uint8Array, bitsAllocated: number): Uint8Array {
  const width = bitsAllocated === 32 ? 4 : 2;
  const out = new Uint8Array(data.length);
  for (let i = 0; i + width <= data.length; i += width) for (let b = 0; b < width; b++) out[i + b] = data[i + width - 1 - b];
  if (data.length % width !== 0) out.set(data.subarray(data.length - (data.length % width)), data.length - (data.length % width));
  return out;
}
