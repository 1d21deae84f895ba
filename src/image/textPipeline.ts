import type { Box, Raster8 } from './raster.js';
import { classifyText, type TextClass } from './phi/classify.js';
import type { HeaderMatcher } from './phi/headerValues.js';
import { buildFillMask, coveredFraction, type RegionShape } from './redact/regionMask.js';
import { groupLines, unionBox } from './text/lines.js';
import { createTextDetector, type TextDetector } from './text/detector.js';
import type { TextInstance } from './text/instances.js';
import { createTextRecognizer, type TextRecognizer } from './text/recognizer.js';
import type { Recognition } from './text/ctc.js';
import { checkModels } from './text/session.js';
import { TEXT_MODEL_IDS } from './models.js';

/** The two OCR models, loaded once per worker. */
export interface TextEngine {
  detector: TextDetector;
  recognizer: TextRecognizer;
}

export async function createTextEngine(threads = 1): Promise<TextEngine> {
  await checkModels(TEXT_MODEL_IDS, threads);
  // both loads settle before a failure is thrown: a model still loading in onnxruntime when
  // its thread ends (the run over, every file rejected at once) aborts the whole process
  const [detector, recognizer] = await Promise.allSettled([createTextDetector(threads), createTextRecognizer(threads)]);
  if (detector.status === 'rejected') throw detector.reason;
  if (recognizer.status === 'rejected') throw recognizer.reason;
  return { detector: detector.value, recognizer: recognizer.value };
}

/** A text instance with its class. The recognized text is dropped here: it may be PHI. */
export interface FoundText {
  box: Box;
  mask: Uint8Array;
  /** Detection score (mean text probability). */
  score: number;
  /** Recognition confidence. */
  confidence: number;
  class: TextClass;
  reason: string;
}

/** A region recorded for the report (no text, no mask). */
export interface TextRecord {
  box: Box;
  class: TextClass;
  reason: string;
  score: number;
  confidence: number;
  redacted: boolean;
  /** 0 = first pass; 1+ = found again by a verification pass. */
  round: number;
}

/** Share of an instance's box that must already be filled for it to count as redacted. */
const COVERED = 0.7;

/**
 * Detects, recognizes and classifies the text of a view; instances already filled are
 * skipped. Instances on one line are classified together: the line is safe only when its
 * joined text and every fragment are safe, and a line that is not safe is filled as a
 * whole (its union box), gaps between fragments included.
 */
export async function findText(
  engine: TextEngine,
  view: Raster8,
  header: HeaderMatcher | undefined,
  filled?: Uint8Array,
  cache: Map<string, Recognition> = new Map(),
  windows?: readonly Box[],
): Promise<FoundText[]> {
  // Every box read so far (the cache holds them all), in view coordinates.
  const earlier = [...cache.entries()].map(([key, reading]) => ({ box: parseKey(key), reading }));
  const detected = windows ? await engine.detector.detectInWindows(view, windows, earlier.map((e) => e.box)) : await engine.detector.detect(view);
  const instances = detected.filter((i) => !filled || (coveredFraction(filled, view.width, i.box) < COVERED && hasInkOutside(view, filled, i.box)));
  // Text whose pixels did not change since an earlier pass reads the same: a box that
  // matches an earlier one (IoU ≥ 0.6) with no filled pixel inside that earlier box reuses
  // its reading (a re-detected box may reach into a neighbour's fill and misread).
  const reuse = (box: Box): Recognition | undefined =>
    earlier.find((e) => iou(e.box, box) >= 0.6 && (!filled || coveredFraction(filled, view.width, e.box) === 0))?.reading;
  const previous = instances.map((i) => reuse(i.box));
  const fresh = instances.filter((_, n) => previous[n] === undefined);
  const freshReadings = await engine.recognizer.recognize(view, fresh.map((i) => i.box));
  fresh.forEach((instance, n) => cache.set(keyOf(instance.box), freshReadings[n]));
  const readings = instances.map((i, n) => previous[n] ?? cache.get(keyOf(i.box)) ?? { text: '', confidence: 0 });
  if (filled) {
    // Verification: filling changes DBNet's context, and it then sometimes fires on plain
    // texture nearby. Where the reader finds no character at all there is no text to leak;
    // anything it can read, even poorly, still counts.
    const kept = instances.map((_, n) => readings[n].text.trim().length > 0);
    const found = await classifyLines(engine, view, header, instances.filter((_, n) => kept[n]), readings.filter((_, n) => kept[n]));
    // What is left of a filled line ("55" after a filled "25 NOV 19") reads as harmless on
    // its own; text that continues a filled region on the same row belongs to that line.
    return found.map((f) => (f.class === 'safe' && continuesFill(filled, view.width, view.height, f.box) ? { ...f, class: 'phi', reason: 'remnant' } : f));
  }
  return classifyLines(engine, view, header, instances, readings);
}

async function classifyLines(engine: TextEngine, view: Raster8, header: HeaderMatcher | undefined, instances: TextInstance[], readings: Recognition[]): Promise<FoundText[]> {
  const found: FoundText[] = [];
  const phiLines: { box: Box; verdict: FoundText['class'] }[] = [];
  for (const group of groupLines(instances.map((i) => i.box))) {
    const own = group.map((n) => classifyText(readings[n].text, readings[n].confidence, header));
    const joined = classifyText(group.map((n) => readings[n].text).join(' '), Math.min(...group.map((n) => readings[n].confidence)), header);
    const worst = [joined, ...own].find((verdict) => verdict.class !== 'safe');
    group.forEach((n, k) => {
      const instance = instances[n];
      const verdict = worst ?? own[k];
      found.push({ box: instance.box, mask: instance.mask, score: instance.score, confidence: readings[n].confidence, class: verdict.class, reason: verdict.reason });
    });
    // Nothing readable at all (texture, a logo): its own boxes are filled, no line to extend.
    if (!worst || group.every((n) => readings[n].text.trim().length === 0)) continue;
    phiLines.push({ box: unionBox(group.map((n) => instances[n].box)), verdict: worst.class });
  }
  // A PHI line is often found only in part: look again around it, closer, and fill the
  // whole line (fragments, the gaps between them, and what the closer look adds). All
  // lines of the view are looked at in one detection run per step.
  const known = instances.map((i) => i.box);
  let growing = phiLines.map((_, n) => n);
  for (let step = 0; step < 2 && growing.length > 0; step++) {
    const near = await engine.detector.detectInRegions(view, growing.map((n) => closerRegion(view, phiLines[n].box)), 2, known);
    growing = growing.filter((n, k) => {
      const line = phiLines[n].box;
      const grown = unionBox([line, ...near[k].map((i) => i.box).filter((box) => onSameLine(box, line))]);
      phiLines[n].box = grown;
      return grown.x !== line.x || grown.width !== line.width;
    });
  }
  for (const { box, verdict } of phiLines) {
    // The first and last glyphs of a line are often only half inside DBNet's box: widen
    // the filled line by half its height on each side.
    const reach = Math.round(box.height / 2);
    const x0 = Math.max(0, box.x - reach);
    const x1 = Math.min(view.width, box.x + box.width + reach);
    const wide = { x: x0, y: box.y, width: x1 - x0, height: box.height };
    found.push({ box: wide, mask: new Uint8Array(wide.width * wide.height).fill(1), score: 0, confidence: 0, class: verdict, reason: 'line' });
  }
  return found;
}

/**
 * How far a closer look reaches past each end of a line, in line heights: a continuation
 * joins the line across a gap of up to 1.2 heights, and a glyph or more of it must be seen.
 */
const CLOSER_REACH = 2.5;

/** Where to look closer around a line: a strip 2.5 line heights longer on each side, half a line height taller. */
export function closerRegion(view: { width: number; height: number }, line: Box): Box {
  const reach = Math.round(CLOSER_REACH * line.height);
  const x0 = Math.max(0, line.x - reach);
  const y0 = Math.max(0, line.y - Math.round(line.height / 2));
  const x1 = Math.min(view.width, line.x + line.width + reach);
  const y1 = Math.min(view.height, line.y + line.height + Math.round(line.height / 2));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** A box found by the closer look that continues `line`: same row, similar height, near its ends. */
function onSameLine(box: Box, line: Box): boolean {
  const overlap = Math.min(box.y + box.height, line.y + line.height) - Math.max(box.y, line.y);
  const gap = Math.max(box.x, line.x) - Math.min(box.x + box.width, line.x + line.width);
  return overlap >= 0.5 * Math.min(box.height, line.height) && box.height <= 2 * line.height && gap <= 1.2 * line.height;
}

/**
 * Whether filled pixels lie on the middle rows of a box, inside it or within 1.2 box
 * heights to its left or right (the gap that still joins words of one line).
 */
export function continuesFill(filled: Uint8Array, width: number, height: number, box: Box): boolean {
  const reach = Math.ceil(1.2 * box.height);
  const x0 = Math.max(0, box.x - reach);
  const x1 = Math.min(width, box.x + box.width + reach);
  const y0 = Math.max(0, box.y + Math.floor(box.height / 4));
  const y1 = Math.min(height, box.y + Math.ceil((3 * box.height) / 4));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) if (filled[y * width + x]) return true;
  }
  return false;
}

/** Spread of grey levels that glyphs need to be seen at all. */
const MIN_INK_SPREAD = 24;

/**
 * Whether the unfilled pixels of a box could still show glyphs: a re-detection that only
 * catches the edge of a filled region next to flat background has nothing left to read.
 */
export function hasInkOutside(view: Raster8, filled: Uint8Array, box: Box): boolean {
  let lo = 255;
  let hi = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) {
      const i = y * view.width + x;
      if (filled[i]) continue;
      const at = i * view.channels;
      const v = view.channels === 3 ? Math.max(view.data[at], view.data[at + 1], view.data[at + 2]) : view.data[at];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (hi - lo >= MIN_INK_SPREAD) return true;
    }
  }
  return false;
}

function keyOf(box: Box): string {
  return `${box.x},${box.y},${box.width},${box.height}`;
}

function parseKey(key: string): Box {
  const [x, y, width, height] = key.split(',').map(Number);
  return { x, y, width, height };
}

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export type RedactMode = 'phi' | 'all';

export function shouldRedact(found: FoundText, mode: RedactMode): boolean {
  return mode === 'all' || found.class !== 'safe';
}

export interface CleanOptions {
  header?: HeaderMatcher;
  redact: RedactMode;
  region: RegionShape;
  /** Pixels added around each region (anti-aliasing, glyph edges). */
  margin: number;
  /** Verification passes before a file is flagged. */
  maxRounds: number;
  /**
   * Writes a fill mask into the native pixels and returns the new detection view. Only
   * the pipeline's caller knows the native layout (8-bit RGBA, 16-bit DICOM, palette…).
   */
  apply(fill: Uint8Array): Promise<Raster8> | Raster8;
}

export interface CleanOutcome {
  records: TextRecord[];
  /** Union of every filled pixel (1 = filled). */
  filled: Uint8Array;
  verification: 'passed' | 'failed';
  /** Detection passes run, the first included. */
  passes: number;
}

/**
 * Detect → classify → redact → verify. Every verification pass re-runs detection and
 * classification on the redacted pixels; what it still finds is redacted too and checked
 * again, up to `maxRounds`; PHI left after that fails the file.
 */
export async function cleanText(engine: TextEngine, view: Raster8, options: CleanOptions): Promise<CleanOutcome> {
  const filled = new Uint8Array(view.width * view.height);
  const cache = new Map<string, Recognition>();
  const first = await findText(engine, view, options.header, undefined, cache);
  let targets = first.filter((f) => shouldRedact(f, options.redact));
  const records: TextRecord[] = first.map((f) => toRecord(f, shouldRedact(f, options.redact), 0));
  let passes = 1;
  let current = view;
  for (let round = 1; targets.length > 0; round++) {
    const fill = buildFillMask(view.width, view.height, targets, options.region, options.margin);
    for (let i = 0; i < fill.length; i++) if (fill[i]) filled[i] = 1;
    current = await options.apply(fill);
    // Only pixels near this fill changed; elsewhere the first pass already read the same
    // pixels with the same model. Verification looks at full-width bands around the fill.
    const again = await findText(engine, current, options.header, filled, cache, windowsAround(targets, options.margin, view));
    passes++;
    targets = again.filter((f) => shouldRedact(f, options.redact));
    if (targets.length === 0) break;
    if (round >= options.maxRounds) {
      records.push(...targets.map((f) => toRecord(f, false, round)));
      return { records, filled, verification: 'failed', passes };
    }
    records.push(...targets.map((f) => toRecord(f, true, round)));
  }
  return { records, filled, verification: 'passed', passes };
}

/** Context kept around a filled region: DBNet's view of nearby text changes with the fill. */
const WINDOW_REACH_MIN = 32;

/**
 * Verification windows: every region with its margin and, above and below, the larger of
 * 32 px and twice its height; left and right, the larger of 32 px and four times its
 * height (what is left of a PHI line continues along it). Overlapping windows are merged.
 */
export function windowsAround(regions: readonly { box: Box }[], margin: number, view: { width: number; height: number }): Box[] {
  const windows = regions.map(({ box }) => {
    const reachY = margin + Math.max(WINDOW_REACH_MIN, 2 * box.height);
    const reachX = margin + Math.max(WINDOW_REACH_MIN, 4 * box.height);
    const x0 = Math.max(0, Math.floor(box.x - reachX));
    const y0 = Math.max(0, Math.floor(box.y - reachY));
    const x1 = Math.min(view.width, Math.ceil(box.x + box.width + reachX));
    const y1 = Math.min(view.height, Math.ceil(box.y + box.height + reachY));
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  });
  return mergeOverlapping(windows);
}

/** Unions boxes that overlap until none do. */
function mergeOverlapping(boxes: Box[]): Box[] {
  const merged = [...boxes];
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < merged.length && !changed; i++) {
      for (let j = i + 1; j < merged.length; j++) {
        if (!overlaps(merged[i], merged[j])) continue;
        merged[i] = unionBox([merged[i], merged[j]]);
        merged.splice(j, 1);
        changed = true;
        break;
      }
    }
  }
  return merged.sort((a, b) => a.y - b.y || a.x - b.x);
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function toRecord(found: FoundText, redacted: boolean, round: number): TextRecord {
  return {
    box: found.box,
    class: found.class,
    reason: found.reason,
    score: round3(found.score),
    confidence: round3(found.confidence),
    redacted,
    round,
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
