import type { Box, Raster8 } from '../raster.js';
import type { TruthLine } from './generator.js';

/**
 * Scores a redacted image against the generator's ground truth:
 * - a PHI line is hidden when ≥ 98% of its glyph pixels changed (the glyphs no longer
 *   stand out from their box);
 * - a non-PHI line is kept when ≥ 98% of its glyph pixels are unchanged;
 * - background change: changed pixels farther than `margin` from every line's box.
 */
export interface ImageScore {
  phiLines: number;
  phiHidden: number;
  safeLines: number;
  safeKept: number;
  /** Lines touched (≥ 50% of their box) by a detected instance, whatever its class. */
  detected: number;
  backgroundPixels: number;
  backgroundChanged: number;
  /** Redacted instances, and those that overlap a PHI line. */
  redactedInstances: number;
  redactedOnPhi: number;
}

function glyphChangeShare(line: TruthLine, before: Raster8, after: Raster8): number {
  let glyphs = 0;
  let changed = 0;
  for (let y = 0; y < line.box.height; y++) {
    for (let x = 0; x < line.box.width; x++) {
      if (!line.glyphs[y * line.box.width + x]) continue;
      glyphs++;
      const i = ((line.box.y + y) * before.width + line.box.x + x) * before.channels;
      for (let c = 0; c < before.channels; c++) {
        if (before.data[i + c] !== after.data[i + c]) {
          changed++;
          break;
        }
      }
    }
  }
  return glyphs === 0 ? 1 : changed / glyphs;
}

function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

export function scoreImage(
  lines: readonly TruthLine[],
  before: Raster8,
  after: Raster8,
  instances: readonly { box: Box; redacted: boolean }[],
  margin = 4,
): ImageScore {
  const score: ImageScore = { phiLines: 0, phiHidden: 0, safeLines: 0, safeKept: 0, detected: 0, backgroundPixels: 0, backgroundChanged: 0, redactedInstances: 0, redactedOnPhi: 0 };
  for (const line of lines) {
    const share = glyphChangeShare(line, before, after);
    if (line.phi) {
      score.phiLines++;
      if (share >= 0.98) score.phiHidden++;
    } else {
      score.safeLines++;
      if (share <= 0.02) score.safeKept++;
    }
    const area = line.box.width * line.box.height;
    if (instances.some((inst) => intersection(inst.box, line.box) >= 0.5 * area)) score.detected++;
  }
  const near = new Uint8Array(before.width * before.height);
  for (const line of lines) {
    for (let y = Math.max(0, line.box.y - margin); y < Math.min(before.height, line.box.y + line.box.height + margin); y++) {
      near.fill(1, y * before.width + Math.max(0, line.box.x - margin), y * before.width + Math.min(before.width, line.box.x + line.box.width + margin));
    }
  }
  for (let i = 0; i < near.length; i++) {
    if (near[i]) continue;
    score.backgroundPixels++;
    for (let c = 0; c < before.channels; c++) {
      if (before.data[i * before.channels + c] !== after.data[i * before.channels + c]) {
        score.backgroundChanged++;
        break;
      }
    }
  }
  for (const inst of instances) {
    if (!inst.redacted) continue;
    score.redactedInstances++;
    const area = inst.box.width * inst.box.height;
    if (lines.some((line) => line.phi && intersection(inst.box, line.box) >= 0.3 * Math.min(area, line.box.width * line.box.height))) score.redactedOnPhi++;
  }
  return score;
}

export function addScores(a: ImageScore, b: ImageScore): ImageScore {
  const out = { ...a };
  for (const key of Object.keys(b) as (keyof ImageScore)[]) out[key] += b[key];
  return out;
}
