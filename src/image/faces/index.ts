import type { Box, Raster8 } from '../raster.js';

/**
 * Face detection and hiding (issue 5). PLACEHOLDER signatures: the implementation replaces
 * these bodies; src/image's pipeline codes against them.
 */
export interface FaceDetection {
  box: Box;
  score: number;
  /** BlazeFace's six keypoints (eyes, nose, mouth, ears) in image pixels. */
  keypoints: { x: number; y: number }[];
}

export interface FaceDetector {
  /** `view` is 8-bit RGB (channels 3) or grey. */
  detect(view: Raster8): Promise<FaceDetection[]>;
  close(): Promise<void>;
}

export type FaceAction = 'blur' | 'pixelate' | 'fill';

export async function createFaceDetector(): Promise<FaceDetector> {
  throw new Error('face detection is not available yet');
}

/** Hides faces in place in an 8-bit interleaved image (1 or 3 channels). Returns the pixels changed. */
export function hideFaces(_image: Raster8, _faces: FaceDetection[], _action: FaceAction): number {
  throw new Error('face hiding is not available yet');
}
