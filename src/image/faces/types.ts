import type { Box } from '../raster.js';

export interface FaceDetection {
  /** Tight face box (brows to chin) in image pixels, clipped to the image. */
  box: Box;
  /** BlazeFace score, 0–1. */
  score: number;
  /**
   * BlazeFace's six keypoints in image pixels, in this order: right eye, left eye (of the
   * person), nose tip, mouth centre, right ear tragion, left ear tragion.
   */
  keypoints: { x: number; y: number }[];
}

export interface FaceDetector {
  /** `view` is 8-bit RGB (channels 3) or grey. */
  detect(view: import('../raster.js').Raster8): Promise<FaceDetection[]>;
  close(): Promise<void>;
}

export type FaceAction = 'blur' | 'pixelate' | 'fill';
