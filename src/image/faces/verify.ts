import type { Raster8 } from '../raster.js';
import { hideFaces, type HideOptions } from './hide.js';
import { ellipseBounds, ellipseRadius, faceEllipse, featheredEllipse, type Ellipse } from './mask.js';
import type { FaceAction, FaceDetection, FaceDetector } from './types.js';

export interface FaceVerification {
  /** True when the detector finds no face in the image. */
  passed: boolean;
  /** Faces the detector still finds (boxes and scores only; no pixels). */
  remaining: FaceDetection[];
  /**
   * Detections ignored because their eyes, nose and mouth all lie on flat filled ellipses:
   * the detector sees the shape of a filled oval, not a face (nothing of one is left there).
   */
  ignored?: FaceDetection[];
}

/** Runs the detector again on an output image: a face still found fails it. */
export async function verifyFacesHidden(detector: FaceDetector, image: Raster8): Promise<FaceVerification> {
  const remaining = await detector.detect(image);
  return { passed: remaining.length === 0, remaining };
}

/**
 * The rungs of the escalation, weakest first. Each hides inside the face's ellipse grown by
 * `margin` (plus its thin feather band); only the last rungs grow it.
 */
export type HideStep = 'blur' | 'pixelate' | 'fill' | 'strong-blur' | 'coarse-pixelate' | 'grown-fill';

interface Rung {
  step: HideStep;
  action: FaceAction;
  options: HideOptions;
}

/** The ladder for a policy action: the action, then stronger, then pixelation, then a fill of the grown ellipse. */
export function escalationLadder(action: FaceAction, options: HideOptions = {}): Rung[] {
  const margin = options.margin ?? 0.25;
  const grown = { ...options, margin: margin + 0.15 };
  const fill: Rung = { step: 'grown-fill', action: 'fill', options: { ...options, margin: margin + 0.3 } };
  if (action === 'fill') return [{ step: 'fill', action, options }, fill];
  const coarse: Rung = { step: 'coarse-pixelate', action: 'pixelate', options: { ...grown, pixelBlocks: 2 } };
  if (action === 'pixelate') return [{ step: 'pixelate', action, options }, coarse, fill];
  return [{ step: 'blur', action, options }, { step: 'strong-blur', action: 'blur', options: { ...grown, blurStrength: (options.blurStrength ?? 0.4) * 2 } }, coarse, fill];
}

export interface HiddenFace {
  face: FaceDetection;
  /** The rung that hid it (the last one applied). */
  hiddenBy: HideStep;
  /** 0 when found on the input, n when first found by the n-th verification. */
  foundInPass: number;
}

export interface FaceRedaction {
  /** Every face hidden (found on the input or by a verification), box, score and keypoints. */
  faces: FaceDetection[];
  /** The same faces with the rung that hid each. */
  hidden: HiddenFace[];
  action: FaceAction;
  /** Pixels changed in all passes. */
  pixelsChanged: number;
  /** Pixels changed outside every hidden face's feathered ellipse (0 by construction; measured). */
  pixelsOutside: number;
  /** Hide + re-detect passes run (1 when the first pass already verified). */
  passes: number;
  verification: FaceVerification;
  /** Why the image must be withheld (verification failed after the grown fill), in words. */
  withheld?: string;
  ms: number;
}

/** Passes after which the loop stops whatever happens (each pass escalates or adds a face). */
const MAX_PASSES = 8;

/**
 * The whole face step for one image, in place: detect, hide with `action`, re-detect, and
 * escalate until the detector finds nothing. A face still found after the verification
 * climbs one rung (escalationLadder: e.g. blur → strong blur → pixelation → fill of the
 * grown ellipse); the image is withheld only when a face is still found after the fill.
 *  - A remaining box that overlaps a hidden face's region is that face still showing
 *    (or an artefact of hiding it, like a blurred oval): that face's own ellipse climbs a
 *    rung. The new box itself is never hidden, so a large box cannot wipe the background.
 *  - A remaining box away from every hidden face is a face missed on the input (e.g.
 *    merged away by NMS): it is hidden from the first rung.
 *  - A remaining box over faces that are all filled already is filled itself once; its
 *    eyes, nose and mouth lying on flat fill (nothing of a face left) end the loop.
 * Nothing outside the faces' feathered ellipses changes; `pixelsOutside` measures it.
 *
 * @example
 *   const detector = await createFaceDetector();
 *   const r = await redactFaces(detector, view, 'blur');
 *   if (r.withheld) markFailed(file, r.withheld);
 */
export async function redactFaces(detector: FaceDetector, image: Raster8, action: FaceAction, options: HideOptions & { maxPasses?: number } = {}): Promise<FaceRedaction> {
  const started = performance.now();
  const before = new Uint8Array(image.data);
  const ladder = escalationLadder(action, options);
  const rungs = new Map<FaceDetection, number>();
  const found = new Map<FaceDetection, number>();
  let pending = await detector.detect(image);
  for (const face of pending) {
    rungs.set(face, 0);
    found.set(face, 0);
  }
  let pixelsChanged = 0;
  let passes = 0;
  let verification: FaceVerification = { passed: true, remaining: [] };
  let withheld: string | undefined;
  const maxPasses = Math.min(MAX_PASSES, Math.max(1, options.maxPasses ?? MAX_PASSES));
  while (pending.length > 0) {
    for (const [index, rung] of ladder.entries()) {
      const targets = pending.filter((f) => rungs.get(f) === index);
      if (targets.length > 0) pixelsChanged += hideFaces(image, targets, rung.action, rung.options);
    }
    passes++;
    verification = await verifyFacesHidden(detector, image);
    if (verification.passed) break;
    const next: FaceDetection[] = [];
    let stuck = false;
    const filled = [...rungs].filter(([, rung]) => ladder[rung]?.action === 'fill').map(([face, rung]) => faceEllipse(face, ladder[rung]?.options.margin ?? 0.25));
    const real = verification.remaining.filter((r) => !onFlatFill(r, filled));
    if (real.length === 0) {
      // Only the filled ovals' shapes are still "faces": there is no face content left.
      verification = { passed: true, remaining: [], ignored: verification.remaining };
      break;
    }
    for (const r of real) {
      const showing = [...rungs.keys()].filter((h) => overlaps(r, h, ladder[rungs.get(h) ?? 0]?.options.margin ?? 0.25, image));
      if (showing.length === 0) {
        rungs.set(r, 0);
        found.set(r, passes);
        next.push(r);
        continue;
      }
      const climbing = showing.filter((h) => (rungs.get(h) ?? 0) + 1 < ladder.length);
      for (const h of climbing) {
        if (next.includes(h)) continue;
        rungs.set(h, (rungs.get(h) ?? 0) + 1);
        next.push(h);
      }
      if (climbing.length > 0) continue;
      // Every face under it is already filled: the box itself (a head seen through the
      // fills, or their outline) is filled once, at the last rung; found again, withhold.
      if (showing.some((h) => (found.get(h) ?? 0) > 0)) stuck = true;
      else {
        rungs.set(r, ladder.length - 1);
        found.set(r, passes);
        next.push(r);
      }
    }
    if (stuck || passes >= maxPasses) {
      withheld = `${verification.remaining.length} face(s) still detected after ${stuck ? 'the fill of the grown ellipse' : `${passes} passes`}`;
      break;
    }
    pending = next;
  }
  const hidden = [...rungs].map(([face, rung]) => ({ face, hiddenBy: (ladder[rung] as Rung).step, foundInPass: found.get(face) ?? 0 }));
  const pixelsOutside = changedOutside(before, image, hidden.map((h) => ({ face: h.face, margin: ladder.find((r) => r.step === h.hiddenBy)?.options.margin ?? 0.25 })));
  return { faces: hidden.map((h) => h.face), hidden, action, pixelsChanged, pixelsOutside, passes, verification, ...(withheld ? { withheld } : {}), ms: performance.now() - started };
}

/** Keypoints 0–3 (eyes, nose, mouth) all inside ellipses that were filled flat (weight 1 inside). */
function onFlatFill(remaining: FaceDetection, filled: Ellipse[]): boolean {
  const central = remaining.keypoints.slice(0, 4);
  return filled.length > 0 && central.length === 4 && central.every((k) => filled.some((e) => ellipseRadius(e, Math.floor(k.x), Math.floor(k.y)) <= 1));
}

/** Whether a remaining box touches the feathered ellipse of a hidden face (its bounds). */
function overlaps(remaining: FaceDetection, hidden: FaceDetection, margin: number, image: Raster8): boolean {
  const b = ellipseBounds(featheredEllipse(faceEllipse(hidden, margin)), image.width, image.height);
  const r = remaining.box;
  return r.x < b.x + b.width && b.x < r.x + r.width && r.y < b.y + b.height && b.y < r.y + r.height;
}

/**
 * Pixels that differ between `before` and `image` outside the union of the faces'
 * feathered ellipses (each at the margin of the rung that last hid it; rungs only grow).
 */
export function changedOutside(before: Uint8Array, image: Raster8, faces: { face: FaceDetection; margin: number }[]): number {
  const { width, height, channels, data } = image;
  const ellipses = faces.map((f) => featheredEllipse(faceEllipse(f.face, f.margin)));
  let outside = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * channels;
      let same = true;
      for (let c = 0; c < channels; c++) if (before[p + c] !== data[p + c]) same = false;
      if (same) continue;
      // The feather's weight is 0 at exactly 1 + FEATHER; a tiny tolerance for rounding.
      if (!ellipses.some((e) => ellipseRadius(e, x, y) <= 1 + 1e-9)) outside++;
    }
  }
  return outside;
}
