import type { Box, Raster8 } from './raster.js';
import { classifyText, type TextClass } from './phi/classify.js';
import type { HeaderMatcher } from './phi/headerValues.js';
import { buildFillMask, coveredFraction, type RegionShape } from './redact/regionMask.js';
import { createTextDetector, type TextDetector } from './text/detector.js';
import { createTextRecognizer, type TextRecognizer } from './text/recognizer.js';

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

/** Detects, recognizes and classifies the text of a view; instances already filled are skipped. */
export async function findText(engine: TextEngine, view: Raster8, header: HeaderMatcher | undefined, filled?: Uint8Array): Promise<FoundText[]> {
  const instances = (await engine.detector.detect(view)).filter((i) => !filled || coveredFraction(filled, view.width, i.box) < COVERED);
  const readings = await engine.recognizer.recognize(view, instances.map((i) => i.box));
  return instances.map((instance, n) => {
    const { text, confidence } = readings[n];
    const verdict = classifyText(text, confidence, header);
    return { box: instance.box, mask: instance.mask, score: instance.score, confidence, class: verdict.class, reason: verdict.reason };
  });
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
  const first = await findText(engine, view, options.header);
  let targets = first.filter((f) => shouldRedact(f, options.redact));
  const records: TextRecord[] = first.map((f) => toRecord(f, shouldRedact(f, options.redact), 0));
  let passes = 1;
  let current = view;
  for (let round = 1; targets.length > 0; round++) {
    const fill = buildFillMask(view.width, view.height, targets, options.region, options.margin);
    for (let i = 0; i < fill.length; i++) if (fill[i]) filled[i] = 1;
    current = await options.apply(fill);
    const again = await findText(engine, current, options.header, filled);
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
