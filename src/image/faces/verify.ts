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
 * When the detector still finds faces, the next pass hides them more strongly (the same
 * action with a 15% wider mask and 1.5× blur / 2 pixel blocks, then a fill with the
 * surrounding colour), up to `maxPasses`:
 *  - a remaining box that contains the centre of a face hidden earlier means that face is
 *    still recognizable: that face's own ellipse is hidden again (not the new, often much
 *    larger box, which would wipe the background);
 *  - any other remaining box is a face not seen before and is hidden as found.
 * The result says whether the last verification passed; the caller fails (flags) the
 * image when `verification.passed` is false.
 *
 * @example
 *   const detector = await createFaceDetector();
 *   const r = await redactFaces(detector, view, 'blur');
 *   if (!r.verification.passed) markFailed(file);
 */
export async function redactFaces(detector: FaceDetector, image: Raster8, action: FaceAction, options: HideOptions & { maxPasses?: number } = {}): Promise<FaceRedaction> {
  const started = performance.now();
  const faces = await detector.detect(image);
  // Pass 2 repeats the action, stronger and wider; pass 3 fills.
  const margin = options.margin ?? 0.25;
  const escalation: { action: FaceAction; options: HideOptions }[] = [
    { action, options },
    { action, options: { ...options, margin: margin + 0.15, blurStrength: (options.blurStrength ?? 0.4) * 1.5, pixelBlocks: Math.min(2, options.pixelBlocks ?? 3) } },
    { action: 'fill', options: { ...options, margin: margin + 0.15 } },
  ];
  const hidden: FaceDetection[] = [];
  let pixelsChanged = 0;
  let passes = 0;
  let pending = faces;
  let verification: FaceVerification = { passed: true, remaining: [] };
  const maxPasses = Math.max(1, options.maxPasses ?? 3);
  while (pending.length > 0 && passes < maxPasses) {
    const targets = passes === 0 ? pending : retargets(pending, hidden);
    const step = escalation[Math.min(passes, escalation.length - 1)] ?? { action: 'fill' as const, options };
    pixelsChanged += hideFaces(image, targets, step.action, step.options);
    for (const t of targets) if (!hidden.includes(t)) hidden.push(t);
    passes++;
    verification = await verifyFacesHidden(detector, image);
    pending = verification.remaining;
  }
  return { faces, action, pixelsChanged, passes, verification, ms: performance.now() - started };
}

function containsCentre(outer: FaceDetection, inner: FaceDetection): boolean {
  const cx = inner.box.x + inner.box.width / 2;
  const cy = inner.box.y + inner.box.height / 2;
  return cx >= outer.box.x && cx <= outer.box.x + outer.box.width && cy >= outer.box.y && cy <= outer.box.y + outer.box.height;
}

/** What to hide again for the faces still found (see redactFaces). */
export function retargets(remaining: FaceDetection[], hidden: FaceDetection[]): FaceDetection[] {
  const out: FaceDetection[] = [];
  for (const r of remaining) {
    const explained = hidden.filter((h) => containsCentre(r, h));
    for (const face of explained.length > 0 ? explained : [r]) if (!out.includes(face)) out.push(face);
  }
  return out;
}
