import type { RawDetection } from './decode.js';

export function area(d: RawDetection): number {
  return Math.max(0, d.x2 - d.x1) * Math.max(0, d.y2 - d.y1);
}

export function intersection(a: RawDetection, b: RawDetection): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

export function iou(a: RawDetection, b: RawDetection): number {
  const inter = intersection(a, b);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

export interface NmsOptions {
  /** Boxes overlapping the head by more than this IoU are merged into it. */
  iouThreshold: number;
  /** A box covered by a stronger one for more than this share of its own area is dropped. */
  containThreshold: number;
}

/**
 * Weighted non-maximum suppression (as MediaPipe's BlazeFace post-processing): the best
 * box heads a cluster of the boxes overlapping it; the cluster's box and keypoints are the
 * score-weighted mean, its score the head's. Boxes lying mostly inside a stronger box
 * (a face cut by a tile border, a second hit on the same face at another scale) are
 * dropped. O(n²) in the candidates, which are few after the score threshold.
 */
export function weightedNms(candidates: RawDetection[], options: NmsOptions): RawDetection[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const used = new Uint8Array(sorted.length);
  const kept: RawDetection[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (used[i]) continue;
    const head = sorted[i] as RawDetection;
    used[i] = 1;
    const cluster: RawDetection[] = [head];
    for (let j = i + 1; j < sorted.length; j++) {
      if (used[j]) continue;
      const other = sorted[j] as RawDetection;
      if (iou(head, other) > options.iouThreshold) {
        cluster.push(other);
        used[j] = 1;
      } else if (intersection(head, other) > options.containThreshold * area(other)) {
        used[j] = 1;
      }
    }
    const merged = mergeCluster(cluster);
    if (kept.some((k) => intersection(k, merged) > options.containThreshold * area(merged))) continue;
    kept.push(merged);
  }
  return kept;
}

function mergeCluster(cluster: RawDetection[]): RawDetection {
  const head = cluster[0] as RawDetection;
  if (cluster.length === 1) return head;
  let total = 0;
  const acc = { x1: 0, y1: 0, x2: 0, y2: 0 };
  const kps = head.keypoints.map(() => ({ x: 0, y: 0 }));
  for (const d of cluster) {
    total += d.score;
    acc.x1 += d.x1 * d.score;
    acc.y1 += d.y1 * d.score;
    acc.x2 += d.x2 * d.score;
    acc.y2 += d.y2 * d.score;
    d.keypoints.forEach((p, k) => {
      const target = kps[k];
      if (target) {
        target.x += p.x * d.score;
        target.y += p.y * d.score;
      }
    });
  }
  return {
    x1: acc.x1 / total,
    y1: acc.y1 / total,
    x2: acc.x2 / total,
    y2: acc.y2 / total,
    score: head.score,
    keypoints: kps.map((p) => ({ x: p.x / total, y: p.y / total })),
  };
}
