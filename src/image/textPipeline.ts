import type { Box, Raster8 } from './raster.js';
import { classifyText, type TextClass } from './phi/classify.js';
import type { HeaderMatcher } from './phi/headerValues.js';
import { buildFillMask, coveredFraction, type RegionShape } from './redact/regionMask.js';
import { groupLines, unionBox } from './text/lines.js';
import { createTextDetector, type Band, type TextDetector } from './text/detector.js';
import type { TextInstance } from './text/instances.js';
import { createTextRecognizer, type TextRecognizer } from './text/recognizer.js';
import type { Recognition } from './text/ctc.js';

/** The two OCR models, loaded once per worker. */
export interface TextEngine {
  detector: TextDetector;
  recognizer: TextRecognizer;
}

export async function createTextEngine(threads = 1): Promise<TextEngine> {
  const [detector, recognizer] = await Promise.all([createTextDetector(threads), createTextRecognizer(threads)]);
  return { detector, recognizer };
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
  bands?: readonly Band[],
): Promise<FoundText[]> {
  const detected = bands ? await engine.detector.detectInBands(view, bands) : await engine.detector.detect(view);
  const instances = detected.filter((i) => !filled || (coveredFraction(filled, view.width, i.box) < COVERED && hasInkOutside(view, filled, i.box)));
  // Text whose pixels did not change since an earlier pass reads the same: a box that
  // matches an earlier one (IoU ≥ 0.6) with no filled pixel inside that earlier box reuses
  // its reading (a re-detected box may reach into a neighbour's fill and misread).
  const earlier = [...cache.entries()].map(([key, reading]) => ({ box: parseKey(key), reading }));
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
    return classifyLines(engine, view, header, instances.filter((_, n) => kept[n]), readings.filter((_, n) => kept[n]));
  }
  return classifyLines(engine, view, header, instances, readings);
}

async function classifyLines(engine: TextEngine, view: Raster8, header: HeaderMatcher | undefined, instances: TextInstance[], readings: Recognition[]): Promise<FoundText[]> {
  const found: FoundText[] = [];
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
    // A PHI line is often found only in part: look again around it, closer, and fill the
    // whole line (fragments, the gaps between them, and what the closer look adds).
    let box = unionBox(group.map((n) => instances[n].box));
    for (let step = 0; step < 2; step++) {
      const grown = unionBox([box, ...(await lookCloser(engine, view, box))]);
      if (grown.x === box.x && grown.width === box.width) break;
      box = grown;
    }
    // The first and last glyphs of a line are often only half inside DBNet's box: widen
    // the filled line by half its height on each side.
    const reach = Math.round(box.height / 2);
    const x0 = Math.max(0, box.x - reach);
    const x1 = Math.min(view.width, box.x + box.width + reach);
    const wide = { x: x0, y: box.y, width: x1 - x0, height: box.height };
    found.push({ box: wide, mask: new Uint8Array(wide.width * wide.height).fill(1), score: 0, confidence: 0, class: worst.class, reason: 'line' });
  }
  return found;
}

/** Boxes of text on the same line as `line`, found by detection at ×2 in a wider strip. */
async function lookCloser(engine: TextEngine, view: Raster8, line: Box): Promise<Box[]> {
  const reach = Math.round(4 * line.height);
  const x0 = Math.max(0, line.x - reach);
  const y0 = Math.max(0, line.y - Math.round(line.height / 2));
  const x1 = Math.min(view.width, line.x + line.width + reach);
  const y1 = Math.min(view.height, line.y + line.height + Math.round(line.height / 2));
  const region = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  const near = await engine.detector.detectIn(view, region, 2);
  return near
    .map((i) => i.box)
    .filter((box) => {
      const overlap = Math.min(box.y + box.height, line.y + line.height) - Math.max(box.y, line.y);
      const gap = Math.max(box.x, line.x) - Math.min(box.x + box.width, line.x + line.width);
      return overlap >= 0.5 * Math.min(box.height, line.height) && box.height <= 2 * line.height && gap <= 1.2 * line.height;
    });
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
    const again = await findText(engine, current, options.header, filled, cache, bandsAround(targets, options.margin, view.height));
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

/** Context kept above and below a filled region: DBNet's view of nearby text changes with the fill. */
const BAND_REACH_MIN = 32;

/**
 * Full-width bands covering every region with its margin and, above and below, the larger
 * of 32 px and twice its height (merged where they touch).
 */
export function bandsAround(regions: readonly { box: Box }[], margin: number, height: number): Band[] {
  const spans = regions
    .map(({ box }) => {
      const reach = margin + Math.max(BAND_REACH_MIN, 2 * box.height);
      return [Math.max(0, Math.floor(box.y - reach)), Math.min(height, Math.ceil(box.y + box.height + reach))] as const;
    })
    .sort((a, b) => a[0] - b[0]);
  const bands: Band[] = [];
  for (const [y0, y1] of spans) {
    const last = bands.at(-1);
    if (last && y0 <= last.y + last.height) last.height = Math.max(last.height, y1 - last.y);
    else bands.push({ y: y0, height: y1 - y0 });
  }
  return bands;
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
