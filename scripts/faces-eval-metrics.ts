/**
 * Measures of the face evaluation (scripts/eval-faces.ts): matching detections to truth
 * boxes, the mean-gradient detail measure and the share of pixels changed away from faces.
 */
import type { FaceDetection } from '../src/image/faces/index.js';
import type { Raster8 } from '../src/image/raster.js';
import type { TruthFace } from './faces-eval-set.js';

/** Greedy one-to-one matching: a detection matches a truth face when their centres are close and sizes agree. */
export function matchFaces(truth: TruthFace[], found: FaceDetection[]): { matched: Map<number, number>; falsePositives: number } {
  const matched = new Map<number, number>();
  const usedDet = new Set<number>();
  const order = found.map((_, i) => i).sort((a, b) => (found[b]?.score ?? 0) - (found[a]?.score ?? 0));
  for (const d of order) {
    const det = found[d] as FaceDetection;
    const cx = det.box.x + det.box.width / 2;
    const cy = det.box.y + det.box.height / 2;
    const size = Math.sqrt(det.box.width * det.box.height);
    let best = -1;
    let bestDist = Infinity;
    truth.forEach((t, i) => {
      if (matched.has(i)) return;
      const dist = Math.hypot(cx - (t.x + t.size / 2), cy - (t.y + t.size / 2));
      if (dist < 0.5 * t.size && size > 0.5 * t.size && size < 2 * t.size && dist < bestDist) {
        best = i;
        bestDist = dist;
      }
    });
    if (best >= 0) {
      matched.set(best, d);
      usedDet.add(d);
    }
  }
  return { matched, falsePositives: found.length - usedDet.size };
}

/** Mean |∂x| + |∂y| of the luminance inside a box. */
export function meanGradient(image: Raster8, x0: number, y0: number, size: number): number {
  const { width, height, channels, data } = image;
  const lum = (x: number, y: number): number => {
    const p = (y * width + x) * channels;
    return channels === 3 ? 0.299 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number) : (data[p] as number);
  };
  let sum = 0;
  let n = 0;
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(width - 1, Math.ceil(x0 + size));
  const yb = Math.min(height - 1, Math.ceil(y0 + size));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      sum += Math.abs(lum(x + 1, y) - lum(x, y)) + Math.abs(lum(x, y + 1) - lum(x, y));
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

/** Share of pixels outside every truth box grown to `grow`× its side that differ. */
export function changedAwayFromFaces(before: Raster8, after: Raster8, truth: TruthFace[], grow = 2): number {
  const { changed, away } = countAwayFromFaces(before, after, truth, grow);
  return away > 0 ? changed / away : 0;
}

/** Pixels away from faces (outside every truth box grown to `grow`× its side), and how many of them differ. */
export function countAwayFromFaces(before: Raster8, after: Raster8, truth: TruthFace[], grow = 2): { changed: number; away: number } {
  const { width, height, channels } = before;
  const near = new Uint8Array(width * height);
  for (const t of truth) {
    const s = t.size * grow;
    const x0 = Math.max(0, Math.floor(t.x + t.size / 2 - s / 2));
    const y0 = Math.max(0, Math.floor(t.y + t.size / 2 - s / 2));
    const x1 = Math.min(width, Math.ceil(t.x + t.size / 2 + s / 2));
    const y1 = Math.min(height, Math.ceil(t.y + t.size / 2 + s / 2));
    for (let y = y0; y < y1; y++) near.fill(1, y * width + x0, y * width + x1);
  }
  let away = 0;
  let changed = 0;
  for (let p = 0; p < width * height; p++) {
    if (near[p]) continue;
    away++;
    for (let c = 0; c < channels; c++) {
      if (before.data[p * channels + c] !== after.data[p * channels + c]) {
        changed++;
        break;
      }
    }
  }
  return { changed, away };
}
