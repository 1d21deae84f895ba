import { extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { VeilError } from '../errors.js';
import type { NativeImage8 } from './redact/fillRaster.js';

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

/** Decodes a PNG/JPEG/TIFF into 8-bit interleaved pixels, as stored (no auto-rotation). */
export async function readImage(path: string): Promise<{ image: NativeImage8; format: ImageFormat }> {
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch {
    throw new VeilError('IMAGE_INVALID', 'cannot decode the image (expected PNG, JPEG or TIFF)', { file: path });
  }
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'tiff' ? meta.format : undefined;
  if (!format) throw new VeilError('IMAGE_INVALID', 'unsupported image format (expected PNG, JPEG or TIFF)', { file: path });
  if (meta.depth !== undefined && meta.depth !== 'uchar') throw new VeilError('IMAGE_INVALID', 'only 8-bit images are supported (this one has more bits per sample)', { file: path });
  if ((meta.pages ?? 1) > 1) throw new VeilError('IMAGE_INVALID', 'multi-page images are not supported', { file: path });
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { image: { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }, format };
}

/**
 * Encodes in the input's format. PNG and TIFF are lossless; JPEG cannot be rewritten
 * without a new lossy step, so it is written at quality 100 without chroma subsampling.
 * Metadata (EXIF, XMP, comments: often identifying) is never copied.
 */
export async function encodeImage(image: NativeImage8, format: ImageFormat): Promise<Buffer> {
  const channels = image.channels as 1 | 2 | 3 | 4;
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels } });
  if (format === 'png') return pipeline.png({ compressionLevel: 6 }).toBuffer();
  if (format === 'jpeg') return pipeline.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  return pipeline.tiff({ compression: 'lzw' }).toBuffer();
}
