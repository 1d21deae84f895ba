import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { VeilError } from '../errors.js';
import type { NativeImage } from './redact/fillRaster.js';

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

// in plan.ts, which does not load sharp
export { IMAGE_EXTENSIONS, isImagePath } from './plan.js';

/** A decoded image file: every page stacked top to bottom, `pageHeight` rows each. */
export interface DecodedImage {
  image: NativeImage;
  format: ImageFormat;
  pageHeight: number;
  pages: number;
}

/**
 * Decodes a PNG/JPEG/TIFF into interleaved pixels as stored (no auto-rotation, grey stays
 * grey): 8 bits per sample, or 16 for 16-bit PNG and TIFF (kept at 16 bits through
 * redaction and writing). A multi-page TIFF (a scanned form) is read whole, its pages of
 * one size stacked.
 */
export async function readImage(path: string): Promise<DecodedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch {
    throw new VeilError('IMAGE_INVALID', 'cannot decode the image (expected PNG, JPEG or TIFF)', { file: path });
  }
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'tiff' ? meta.format : undefined;
  if (!format) throw new VeilError('IMAGE_INVALID', 'unsupported image format (expected PNG, JPEG or TIFF)', { file: path });
  const depth = meta.depth ?? 'uchar';
  const deep = depth === 'ushort' && format !== 'jpeg';
  if (depth !== 'uchar' && !deep) throw new VeilError('IMAGE_INVALID', `only 8- and 16-bit integer samples are supported (this image has ${depth} samples)`, { file: path });
  const pages = format === 'tiff' ? (meta.pages ?? 1) : 1;
  if (pages > 1) {
    // libvips refuses to stack pages of different sizes; so does Veil, naming the file.
    const whole = await sharp(path, { pages: -1 })
      .metadata()
      .catch(() => undefined);
    if (whole?.pageHeight === undefined || whole.height !== whole.pageHeight * pages) {
      throw new VeilError('IMAGE_INVALID', 'the pages of this TIFF differ in size (only pages of one size are supported)', { file: path });
    }
  }
  const channels = meta.channels ?? 3;
  let pipeline = sharp(path, pages > 1 ? { pages: -1 } : {});
  // Without an explicit colourspace sharp hands grey images over as RGB.
  if (channels <= 2) pipeline = pipeline.toColourspace(deep ? 'grey16' : 'b-w');
  else if (deep) pipeline = pipeline.toColourspace('rgb16');
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch {
    throw new VeilError('IMAGE_INVALID', 'cannot decode the image data (damaged or truncated file)', { file: path });
  }
  const { data, info } = decoded;
  const base = { width: info.width, height: info.height, channels: info.channels };
  // 16-bit samples are copied into an aligned array; 8-bit ones are used in place.
  const image: NativeImage = deep ? { ...base, data: copyUint16(data) } : { ...base, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  return { image, format, pageHeight: info.height / pages, pages };
}

function copyUint16(bytes: Buffer): Uint16Array {
  const samples = new Uint16Array(bytes.length / 2);
  new Uint8Array(samples.buffer).set(bytes);
  return samples;
}

/**
 * Encodes in the input's format and depth. PNG and TIFF are lossless; JPEG cannot be
 * rewritten without a new lossy step, so it is written at quality 100 without chroma
 * subsampling. Metadata (EXIF, XMP, comments: often identifying) is never copied.
 */
export async function encodeImage(image: NativeImage, format: ImageFormat, pageHeight = image.height): Promise<Buffer> {
  const channels = image.channels as 1 | 2 | 3 | 4;
  const pages = image.height / pageHeight;
  if (pages > 1 && format !== 'tiff') throw new VeilError('IMAGE_INVALID', `several pages cannot be written as ${format.toUpperCase()}`);
  const raw = { width: image.width, height: image.height, channels, ...(pages > 1 ? { pageHeight } : {}) };
  if (image.data instanceof Uint16Array) {
    // sharp takes the sample depth from the typed array; the colourspace keeps 16 bits on output.
    const deep = sharp(image.data, { raw }).toColourspace(channels <= 2 ? 'grey16' : 'rgb16');
    if (format === 'png') return deep.png({ compressionLevel: 6 }).toBuffer();
    if (format === 'tiff') return deep.tiff({ compression: 'lzw' }).toBuffer();
    throw new VeilError('IMAGE_INVALID', '16-bit samples cannot be written as JPEG');
  }
  // Grey stays grey (sharp would write one channel as RGB).
  const pipeline = channels <= 2 ? sharp(image.data, { raw }).toColourspace('b-w') : sharp(image.data, { raw });
  if (format === 'png') return pipeline.png({ compressionLevel: 6 }).toBuffer();
  if (format === 'jpeg') return pipeline.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  return pipeline.tiff({ compression: 'lzw' }).toBuffer();
}
