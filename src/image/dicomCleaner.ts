import type { PixelCleaner } from '../dicom/pixelCleaner.js';

export async function createDicomPixelCleaner(): Promise<PixelCleaner> {
  throw new Error('not yet');
}
