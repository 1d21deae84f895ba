import type { Box, Raster8 } from '../raster.js';
import type { TruthLine } from './generator.js';

/**
 * Scores a redacted image against the generator's ground truth:
 * - a PHI line is hidden when ≥ 98% of its glyph pixels changed, or when its glyphs no
 *   longer stand out from the rest of their box (black text on a label filled black);
 * - a non-PHI line is kept when ≥ 98% of its glyph pixels are unchanged;
 * - background change: changed pixels farther than half a line's height (at least
 *   `margin`) from every line's glyph box.
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

/**
 * Largest per-channel difference between the mean of glyph pixels and the mean of the
 * other pixels of the line's box: how much the glyphs stand out.
 */
function glyphContrast(line: TruthLine, image: Raster8): number {
  const channels = image.channels;
  const glyphSum = new Array<number>(channels).fill(0);
  const otherSum = new Array<number>(channels).fill(0);
  let glyphs = 0;
  let others = 0;
  for (let y = 0; y < line.box.height; y++) {
    for (let x = 0; x < line.box.width; x++) {
      const i = ((line.box.y + y) * image.width + line.box.x + x) * channels;
      const isGlyph = line.glyphs[y * line.box.width + x] === 1;
      for (let c = 0; c < channels; c++) (isGlyph ? glyphSum : otherSum)[c] += image.data[i + c];
      if (isGlyph) glyphs++;
      else others++;
    }
  }
  if (glyphs === 0 || others === 0) return 0;
  return Math.max(...glyphSum.map((sum, c) => Math.abs(sum / glyphs - otherSum[c] / others)));
}

/** Hidden: nearly every glyph pixel changed, or the glyphs no longer stand out from their box. */
export function isHidden(line: TruthLine, before: Raster8, after: Raster8): boolean {
  if (glyphChangeShare(line, before, after) >= 0.98) return true;
  return glyphContrast(line, after) < Math.max(4, 0.1 * glyphContrast(line, before));
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
    if (line.phi) {
      score.phiLines++;
      if (isHidden(line, before, after)) score.phiHidden++;
    } else {
      score.safeLines++;
      if (glyphChangeShare(line, before, after) <= 0.02) score.safeKept++;
    }
    const area = line.box.width * line.box.height;
    if (instances.some((inst) => intersection(inst.box, line.box) >= 0.5 * area)) score.detected++;
  }
  const near = new Uint8Array(before.width * before.height);
  for (const line of lines) {
    // "Near text": within half the line's height (at least `margin` px) of its glyphs.
    const m = Math.max(margin, Math.ceil(line.box.height / 2));
    for (let y = Math.max(0, line.box.y - m); y < Math.min(before.height, line.box.y + line.box.height + m); y++) {
      near.fill(1, y * before.width + Math.max(0, line.box.x - m), y * before.width + Math.min(before.width, line.box.x + line.box.width + m));
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
