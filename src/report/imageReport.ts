import type { TextRecord } from '../image/textPipeline.js';
import type { Box } from '../image/raster.js';

/*
 * The report model of `veil image redact` (pure data and the pure functions that summarize
 * it). The engine (src/image) fills it; the renderer is html/imageHtml.ts.
 */

/** Per-file outcome of `veil image redact`. Never contains recognized text. */
export interface ImageFileReport {
  /** Path relative to the input (file name for a single file). */
  file: string;
  /**
   * redacted: text or faces were filled and verification passed; clean: nothing needed
   * hiding; flagged: verification still found PHI (no output written); skipped: scan
   * never (copied unchanged); error: could not be read.
   */
  status: 'redacted' | 'clean' | 'flagged' | 'skipped' | 'error';
  /**
   * Whether the pixels were examined for burned-in text: `scanned` (every page went through
   * detect, recognize, classify, redact, verify — plain images have no header to triage by,
   * so `scan: auto` scans them all), or `not-scanned` with the reason (`scan: never`, unreadable).
   */
  pixelScan: { status: 'scanned' | 'not-scanned'; reason: string };
  format?: string;
  /** Bits per sample as stored and written (8, or 16 for 16-bit PNG/TIFF). */
  bitsPerSample?: 8 | 16;
  width?: number;
  /** Height of one page. */
  height?: number;
  /** Pages of a multi-page TIFF (absent for one page); text and faces then say their page (0-based). */
  pages?: number;
  text: (TextRecord & { page?: number })[];
  /** Faces hidden; `hiddenBy` is the escalation rung that hid each (blur, strong-blur, coarse-pixelate, grown-fill, …). */
  faces: { box: Box; score: number; page?: number; hiddenBy?: string }[];
  /** Why the file was withheld (flagged) by the face step: a face still found after the fill of the grown ellipse. */
  facesWithheld?: string;
  verification: 'passed' | 'failed' | 'not-run';
  /** Detection passes run (the first one plus each verification). */
  passes: number;
  pixelsChanged: number;
  /** Whether the output was re-encoded lossily (JPEG in, JPEG out). */
  lossyReencode: boolean;
  error?: { code: string; message: string };
  ms: number;
}

export interface ImageRunReport {
  /** 'veil-image' (older reports said 'veil-image-report'). */
  kind: 'veil-image';
  policy: { name: string; version: string | number; sha256: string };
  settings: { scan: string; redact: string; fill: string; region: string; faces: { detect: boolean; action: string } };
  models: { id: string; sha256: string }[];
  files: ImageFileReport[];
  totals: {
    files: number;
    redacted: number;
    clean: number;
    flagged: number;
    skipped: number;
    errors: number;
    /** Files whose pixels were examined for burned-in text, and files whose pixels were not. */
    pixelsScanned: number;
    pixelsNotScanned: number;
    textInstances: number;
    textRedacted: number;
    facesHidden: number;
  };
  jobs: number;
  timingMs: number;
}

/** Whether `veil image redact` wrote an output for the file (flagged and unreadable files are not written). */
export function isWritten(file: ImageFileReport): boolean {
  return file.status === 'redacted' || file.status === 'clean' || file.status === 'skipped';
}

export function summarize(files: readonly ImageFileReport[]): ImageRunReport['totals'] {
  const count = (status: ImageFileReport['status']): number => files.filter((f) => f.status === status).length;
  return {
    files: files.length,
    redacted: count('redacted'),
    clean: count('clean'),
    flagged: count('flagged'),
    skipped: count('skipped'),
    errors: count('error'),
    pixelsScanned: files.filter((f) => f.pixelScan.status === 'scanned').length,
    pixelsNotScanned: files.filter((f) => f.pixelScan.status === 'not-scanned').length,
    textInstances: files.reduce((n, f) => n + f.text.length, 0),
    textRedacted: files.reduce((n, f) => n + f.text.filter((t) => t.redacted).length, 0),
    facesHidden: files.reduce((n, f) => n + f.faces.length, 0),
  };
}
