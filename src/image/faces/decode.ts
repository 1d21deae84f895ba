import type { Anchor } from './anchors.js';

/** A candidate face in input (model) pixels before it is mapped back to the image. */
export interface RawDetection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  keypoints: { x: number; y: number }[];
}

export const KEYPOINTS = 6;
/** Per anchor: 4 box values (cx, cy, w, h offsets) then 6 keypoints (x, y). */
export const REGRESSORS = 4 + 2 * KEYPOINTS;

export function sigmoid(logit: number): number {
  // Clamp as MediaPipe does, so extreme logits cannot overflow.
  const clipped = Math.max(-100, Math.min(100, logit));
  return 1 / (1 + Math.exp(-clipped));
}

/**
 * Decodes the anchors whose score reaches `minScore`. `logits[i]` and
 * `regressors[i * 16 …]` belong to `anchors[i]`. Cost: one pass over the anchors.
 */
export function decodeDetections(logits: ArrayLike<number>, regressors: ArrayLike<number>, anchors: Anchor[], minScore: number): RawDetection[] {
  const out: RawDetection[] = [];
  for (let i = 0; i < anchors.length; i++) {
    const score = sigmoid(logits[i] ?? -100);
    if (score < minScore) continue;
    const anchor = anchors[i] as Anchor;
    const r = i * REGRESSORS;
    const cx = anchor.x + (regressors[r] ?? 0);
    const cy = anchor.y + (regressors[r + 1] ?? 0);
    const w = regressors[r + 2] ?? 0;
    const h = regressors[r + 3] ?? 0;
    if (!(w > 0 && h > 0)) continue;
    const keypoints: { x: number; y: number }[] = [];
    for (let k = 0; k < KEYPOINTS; k++) {
      keypoints.push({ x: anchor.x + (regressors[r + 4 + 2 * k] ?? 0), y: anchor.y + (regressors[r + 5 + 2 * k] ?? 0) });
    }
    out.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, keypoints });
  }
  return out;
}
