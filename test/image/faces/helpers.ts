import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Raster8 } from '../../../src/image/raster.js';

/** Real photographs shipped in the installed @vladmandic/human package (assets/). */
export function humanAsset(name: string): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vladmandic/human')), '..', 'assets', name);
}

export async function readRgb(file: string): Promise<Raster8> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

export function toGrey(image: Raster8): Raster8 {
  const data = new Uint8Array(image.width * image.height);
  for (let p = 0; p < data.length; p++) {
    data[p] = Math.round(0.299 * (image.data[p * 3] as number) + 0.587 * (image.data[p * 3 + 1] as number) + 0.114 * (image.data[p * 3 + 2] as number));
  }
  return { width: image.width, height: image.height, channels: 1, data };
}

export function centre(box: { x: number; y: number; width: number; height: number }): { x: number; y: number } {
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}
