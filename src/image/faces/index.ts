/**
 * Face detection and hiding (issue 5). BlazeFace (from @vladmandic/human, converted to
 * ONNX on first use by ./convert) runs with onnxruntime over an image pyramid; faces are
 * hidden inside an elliptical mask grown around each box; the detector verifies the output.
 *
 * @example
 *   const detector = await createFaceDetector();
 *   try {
 *     const result = await redactFaces(detector, raster, 'blur'); // in place
 *     // result.hidden (face + the rung that hid it), result.withheld (set → flag the file),
 *     // result.pixelsChanged, result.pixelsOutside (0), result.ms
 *   } finally {
 *     await detector.close();
 *   }
 */
import { BlazeFaceDetector, type FaceDetectorOptions } from './detector.js';
import type { FaceDetector } from './types.js';

export type { FaceAction, FaceDetection, FaceDetector } from './types.js';
export type { FaceDetectorOptions } from './detector.js';
export type { Rotation } from './rotate.js';
export { hideFaces, type HideOptions } from './hide.js';
export { faceEllipse, faceMask, type Ellipse } from './mask.js';
export { fillFacesUntilGone } from './fillNative.js';
export { changedOutside, escalationLadder, redactFaces, verifyFacesHidden, type FaceRedaction, type FaceVerification, type HiddenFace, type HideStep } from './verify.js';
export { loadBlazeFaceModel } from './model.js';

/**
 * Loads BlazeFace (converting it to ONNX on first use, ~0.1 s) and opens an onnxruntime
 * session. Reuse one detector for many images; `close()` it at the end.
 */
export async function createFaceDetector(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
  return BlazeFaceDetector.create(options);
}
