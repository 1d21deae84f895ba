import { extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { VeilError } from '../errors.js';
import type { NativeImage } from './redact/fillRaster.js';

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

/**
 * Decodes a PNG/JPEG/TIFF into interleaved pixels as stored (no auto-rotation): 8 bits per
 * sample, or 16 for 16-bit PNG and TIFF (kept at 16 bits through redaction and writing).
 */
export async function readImage(path: string): Promise<{ image: NativeImage; format: ImageFormat }> {
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch {
    throw new VeilError('IMAGE_INVALID', 'cannot decode the image (expected PNG, JPEG or TIFF)', { file: path });
  }
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'tiff' ? meta.format : undefined;
  if (!format) throw new VeilError('IMAGE_INVALID', 'unsupported image format (expected PNG, JPEG or TIFF)', { file: path });
  if ((meta.pages ?? 1) > 1) throw new VeilError('IMAGE_INVALID', 'multi-page images are not supported', { file: path });
  const depth = meta.depth ?? 'uchar';
  if (depth === 'ushort' && format !== 'jpeg') {
    const channels = meta.channels ?? 1;
    const { data, info } = await sharp(path)
      .toColourspace(channels <= 2 ? 'grey16' : 'rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const samples = new Uint16Array(data.length / 2);
    new Uint8Array(samples.buffer).set(data);
    return { image: { width: info.width, height: info.height, channels: info.channels, data: samples }, format };
  }
  if (depth !== 'uchar') throw new VeilError('IMAGE_INVALID', `only 8- and 16-bit integer samples are supported (this image has ${depth} samples)`, { file: path });
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { image: { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }, format };
}

/**
 * Encodes in the input's format and depth. PNG and TIFF are lossless; JPEG cannot be
 * rewritten without a new lossy step, so it is written at quality 100 without chroma
 * subsampling. Metadata (EXIF, XMP, comments: often identifying) is never copied.
 */
export async function encodeImage(image: NativeImage, format: ImageFormat): Promise<Buffer> {
  const channels = image.channels as 1 | 2 | 3 | 4;
  const raw = { width: image.width, height: image.height, channels };
  if (image.data instanceof Uint16Array) {
    // sharp takes the sample depth from the typed array; the colourspace keeps 16 bits on output.
    const deep = sharp(image.data, { raw }).toColourspace(channels <= 2 ? 'grey16' : 'rgb16');
    if (format === 'png') return deep.png({ compressionLevel: 6 }).toBuffer();
    if (format === 'tiff') return deep.tiff({ compression: 'lzw' }).toBuffer();
    throw new VeilError('IMAGE_INVALID', '16-bit samples cannot be written as JPEG');
  }
  const pipeline = sharp(image.data, { raw });
  if (format === 'png') return pipeline.png({ compressionLevel: 6 }).toBuffer();
  if (format === 'jpeg') return pipeline.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  return pipeline.tiff({ compression: 'lzw' }).toBuffer();
}
