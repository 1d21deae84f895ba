import type { Raster8 } from '../raster.js';
import { hideFaces, type HideOptions } from './hide.js';
import type { FaceAction, FaceDetection, FaceDetector } from './types.js';

export interface FaceVerification {
  /** True when the detector finds no face in the image. */
  passed: boolean;
  /** Faces the detector still finds (boxes and scores only; no pixels). */
  remaining: FaceDetection[];
}

/** Runs the detector again on an output image: a face still found fails it. */
export async function verifyFacesHidden(detector: FaceDetector, image: Raster8): Promise<FaceVerification> {
  const remaining = await detector.detect(image);
  return { passed: remaining.length === 0, remaining };
}

export interface FaceRedaction {
  /** Faces found on the input (box, score, keypoints). */
  faces: FaceDetection[];
  action: FaceAction;
  /** Pixels changed in all passes. */
  pixelsChanged: number;
  /** Hide + re-detect passes run (1 when the first pass already verified). */
  passes: number;
  verification: FaceVerification;
  ms: number;
}

/**
 * The whole face step for one image, in place: detect, hide with `action`, re-detect.
 * Faces still found after a pass are hidden again, more strongly (pixelate, then fill),
 * up to `maxPasses`; the result says whether the last verification passed. The caller
 * fails the image when `verification.passed` is false.
 *
 * @example
 *   const detector = await createFaceDetector();
 *   const r = await redactFaces(detector, view, 'blur');
 *   if (!r.verification.passed) markFailed(file);
 */
export async function redactFaces(detector: FaceDetector, image: Raster8, action: FaceAction, options: HideOptions & { maxPasses?: number } = {}): Promise<FaceRedaction> {
  const started = performance.now();
  const faces = await detector.detect(image);
  const escalation: FaceAction[] = [action, action === 'fill' ? 'fill' : 'pixelate', 'fill'];
  let pixelsChanged = 0;
  let passes = 0;
  let pending = faces;
  let verification: FaceVerification = { passed: faces.length === 0, remaining: [] };
  const maxPasses = Math.max(1, options.maxPasses ?? 3);
  while (pending.length > 0 && passes < maxPasses) {
    pixelsChanged += hideFaces(image, pending, escalation[Math.min(passes, escalation.length - 1)] ?? 'fill', options);
    passes++;
    verification = await verifyFacesHidden(detector, image);
    pending = verification.remaining;
  }
  return { faces, action, pixelsChanged, passes, verification, ms: performance.now() - started };
}
