import type { FileResult, FileStatus } from '../dicom/file.js';
import type { DicomPixelReport, PixelScanStatus } from '../dicom/pixelCleaner.js';

/*
 * The report model of `veil dicom deidentify` (pure data and the pure functions that fill and
 * summarize it). The engine (src/dicom) fills it; the renderer is html/dicomHtml.ts.
 */

export interface DicomFileRecord {
  input: string;
  output?: string;
  status: FileStatus;
  reason?: string;
  warnings?: string[];
  /**
   * The pixel step's record when it ran: regions found (frame, box, kind, class,
   * confidence, redacted — never recognized text), transfer syntax written, verification, ms.
   */
  pixels?: DicomPixelReport;
  /**
   * Whether this file's pixels were examined for burned-in text, and why not when they
   * were not. Absent for skipped (non-DICOM) files.
   */
  pixelScan?: { status: PixelScanStatus | 'no-pixel-data'; reason: string };
}

export interface CohortSummary {
  patients: number;
  quasiIdentifiers: string[];
  csv?: string;
  suppressedPatients: { patient: string; reason: string }[];
  /** The tabular engine's report (privacy, utility, risk) measured on the cohort table. */
  tabular: unknown;
  writeBack: string;
}

/** The JSON report of `veil dicom deidentify` (no PHI: paths, counts, keywords, pseudonyms). */
export interface DicomRunReport {
  /** 'veil-dicom' (older reports said 'veil-dicom-deidentify'). */
  kind: 'veil-dicom';
  policy: { name: string; version: string | number; sha256: string };
  profile: { name: 'basic'; edition: string; options: string[]; unlistedElements: 'keep' | 'remove' };
  totals: { files: number; ok: number; rejected: number; skipped: number; patients: number };
  files: DicomFileRecord[];
  /** Element counts per action code (X, Z, D, K, C, U, P pseudonym, R replace). */
  actions: Record<string, number>;
  /** Element counts per rule origin: basic, each option, override, pseudonym, dateShift, personName, uid, unlisted… */
  origins: Record<string, number>;
  residualPhi: { filesChecked: number; valuesChecked: number; filesFailed: number };
  /**
   * scanned / triagedClean / notScanned / noPixelData: files per pixel-scan status (see
   * DicomFileRecord.pixelScan); replaced / unchanged / rejected: what the pixel step did.
   */
  pixels: { scanned: number; triagedClean: number; notScanned: number; noPixelData: number; replaced: number; unchanged: number; rejected: number };
  dateShift?: { minDays: number; maxDays: number };
  /** Studies whose files carry more than one patient (a PACS export error): listed by output StudyInstanceUID. */
  studiesWithSeveralPatients: string[];
  cohort?: CohortSummary;
  mappingFile?: string;
  timingMs: number;
}

export function emptyTotals(): DicomRunReport['totals'] {
  return { files: 0, ok: 0, rejected: 0, skipped: 0, patients: 0 };
}

export function emptyPixelTotals(): DicomRunReport['pixels'] {
  return { scanned: 0, triagedClean: 0, notScanned: 0, noPixelData: 0, replaced: 0, unchanged: 0, rejected: 0 };
}

/** Said of every file when the policy has no `pixels:` section. */
export const NO_PIXELS_SECTION = 'the policy has no pixels section: pixels were not examined for burned-in text';

/** The pixel-scan status of one file's result (`pixelsPolicy`: whether the policy has a pixels section). */
export function pixelScanOf(result: FileResult, pixelsPolicy: boolean): DicomFileRecord['pixelScan'] {
  if (result.status === 'skipped') return undefined;
  const pixels = result.pixels?.report;
  if (pixels) return { status: pixels.status ?? (pixels.scanned ? 'scanned' : 'not-scanned'), reason: pixels.reason };
  if (result.status !== 'ok') return { status: 'not-scanned', reason: 'file rejected (see its reason): its pixels, if it has some, were not examined' };
  if (!pixelsPolicy) return { status: 'not-scanned', reason: NO_PIXELS_SECTION };
  return { status: 'no-pixel-data', reason: 'no pixel data' };
}

const STATUS_TOTAL = { scanned: 'scanned', 'triaged-clean': 'triagedClean', 'not-scanned': 'notScanned', 'no-pixel-data': 'noPixelData' } as const;

/** Adds one file's result to the report being built (`pixelsPolicy`: whether the policy has a pixels section). */
export function addFileResult(report: DicomRunReport, result: FileResult, outputRelative: string | undefined, pixelsPolicy = true): void {
  report.totals.files++;
  report.totals[result.status]++;
  const record: DicomFileRecord = { input: result.input, status: result.status };
  if (outputRelative) record.output = outputRelative;
  if (result.reason) record.reason = result.reason;
  if (result.warnings.length > 0) record.warnings = result.warnings;
  if (result.pixels?.report) record.pixels = result.pixels.report;
  const scan = pixelScanOf(result, pixelsPolicy);
  if (scan) {
    record.pixelScan = scan;
    report.pixels[STATUS_TOTAL[scan.status]]++;
  }
  report.files.push(record);
  for (const [k, v] of Object.entries(result.counts.actions)) report.actions[k] = (report.actions[k] ?? 0) + v;
  for (const [k, v] of Object.entries(result.counts.origins)) report.origins[k] = (report.origins[k] ?? 0) + v;
  if (result.residualValuesChecked > 0) {
    report.residualPhi.filesChecked++;
    report.residualPhi.valuesChecked += result.residualValuesChecked;
    if (result.reason?.startsWith('residual PHI')) report.residualPhi.filesFailed++;
  }
  if (result.pixels) report.pixels[result.pixels.status]++;
}

/** One line for the terminal: how many files' pixels were examined, and how. */
export function pixelSummaryLine(report: DicomRunReport): string {
  const p = report.pixels;
  const never = report.files.filter((f) => f.pixelScan?.status === 'not-scanned').length;
  return `pixels: ${p.scanned} scanned, ${p.triagedClean} triaged clean, ${p.notScanned} not examined${never > 0 ? ` (${notScannedReasons(report).join('; ')})` : ''}, ${p.noPixelData} without pixel data`;
}

/** The distinct reasons files' pixels were not examined. */
export function notScannedReasons(report: DicomRunReport): string[] {
  return [...new Set(report.files.filter((f) => f.pixelScan?.status === 'not-scanned').map((f) => f.pixelScan?.reason ?? ''))].sort();
}

/** What the residual-PHI check covered, in words: headers always; pixels only where they were examined. */
export function residualCoverage(report: DicomRunReport): string {
  const p = report.pixels;
  const pixelPart =
    p.scanned + p.triagedClean > 0
      ? `burned-in text in the pixels of ${p.scanned + p.triagedClean} files (${p.scanned} scanned in full, ${p.triagedClean} triaged without text-like regions)`
      : 'no pixels';
  return `Covered: headers of ${report.residualPhi.filesChecked} files; ${pixelPart}.${p.notScanned > 0 ? ` The pixels of ${p.notScanned} files were NOT examined (see Pixels below).` : ''}`;
}
