import type { FileResult, FileStatus } from './file.js';
import type { DicomPixelReport, PixelScanStatus } from './pixelCleaner.js';

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
  kind: 'veil-dicom-deidentify';
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
  if (result.status !== 'ok') return { status: 'not-scanned', reason: 'file rejected (see its reason): any pixels it has were not examined' };
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
function notScannedReasons(report: DicomRunReport): string[] {
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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function table(rows: [string, string | number][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('')}</table>`;
}

const ACTION_NAMES: Readonly<Record<string, string>> = {
  X: 'X removed',
  Z: 'Z emptied',
  D: 'D dummy value',
  K: 'K kept (listed)',
  C: 'C cleaned / dates shifted',
  U: 'U UID remapped',
  P: 'P pseudonymized',
  R: 'R replaced (policy)',
};

/** Per file: pixel-scan status, frames triaged / escalated / scanned, and the reason. */
function pixelTable(report: DicomRunReport): string {
  const rows = report.files.filter((f) => f.pixelScan && f.pixelScan.status !== 'no-pixel-data');
  if (rows.length === 0) return '';
  const frames = (f: DicomFileRecord): string => (f.pixels?.frames ? `${f.pixels.frames.triaged} / ${f.pixels.frames.textLike} / ${f.pixels.frames.scanned} of ${f.pixels.frames.total}` : '');
  return `<table><tr><th>input</th><th>pixels</th><th>frames triaged / text-like / scanned</th><th>why</th></tr>${rows
    .map((f) => `<tr><td>${escapeHtml(f.input)}</td><td class="${f.pixelScan?.status === 'not-scanned' ? 'bad' : 'ok'}">${f.pixelScan?.status ?? ''}</td><td>${frames(f)}</td><td>${escapeHtml(f.pixelScan?.reason ?? '')}</td></tr>`)
    .join('')}</table>`;
}

/** A self-contained HTML summary of the run (no scripts, no external resources). */
export function renderHtml(report: DicomRunReport): string {
  const problems = report.files.filter((f) => f.status !== 'ok');
  const cohort = report.cohort;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veil DICOM de-identification report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f4f4f4}.ok{color:#176117}.bad{color:#a11}</style>
</head><body>
<h1>DICOM de-identification</h1>
<p>Policy <b>${escapeHtml(report.policy.name)}</b> version ${escapeHtml(String(report.policy.version))} (sha256 ${escapeHtml(report.policy.sha256.slice(0, 16))}…),
PS3.15 ${escapeHtml(report.profile.edition)} Basic Profile${report.profile.options.length ? ` with ${escapeHtml(report.profile.options.join(', '))}` : ''}; unlisted elements: ${report.profile.unlistedElements}.</p>
<h2>Files</h2>
${table([
  ['files', report.totals.files],
  ['de-identified (ok)', report.totals.ok],
  ['rejected', report.totals.rejected],
  ['skipped', report.totals.skipped],
  ['patients', report.totals.patients],
  ['time (ms)', report.timingMs],
])}
<h2>Residual-PHI check</h2>
<p class="${report.residualPhi.filesFailed ? 'bad' : 'ok'}">${report.residualPhi.filesChecked} outputs searched for ${report.residualPhi.valuesChecked} identifying values of their inputs; ${report.residualPhi.filesFailed} failed (not written).</p>
<p class="${report.pixels.notScanned > 0 ? 'bad' : 'ok'}">${escapeHtml(residualCoverage(report))}</p>
${report.studiesWithSeveralPatients.length ? `<p class="bad">${report.studiesWithSeveralPatients.length} studies hold files of more than one patient (see the JSON report).</p>` : ''}
<h2>Actions on elements</h2>
${table(Object.entries(report.actions).sort().map(([k, v]) => [ACTION_NAMES[k] ?? k, v]))}
<h2>By rule</h2>
${table(Object.entries(report.origins).sort().map(([k, v]) => [k, v]))}
<h2>Pixels</h2>
${table([
  ['scanned in full (detect, recognize, classify, redact, verify)', report.pixels.scanned],
  ['triaged, no text-like region found', report.pixels.triagedClean],
  ['not examined', report.pixels.notScanned],
  ['no pixel data', report.pixels.noPixelData],
  ['pixels replaced', report.pixels.replaced],
  ['pixels unchanged', report.pixels.unchanged],
  ['rejected by the pixel step', report.pixels.rejected],
])}
${notScannedReasons(report).map((reason) => `<p class="bad">Not examined: ${escapeHtml(reason)}.</p>`).join('\n')}
${pixelTable(report)}
${
  cohort
    ? `<h2>Cohort k-anonymity</h2>
${table([
  ['patients', cohort.patients],
  ['quasi-identifiers', cohort.quasiIdentifiers.join(', ')],
  ['suppressed patients', cohort.suppressedPatients.length],
  ['write-back', cohort.writeBack],
])}
${cohort.suppressedPatients.length ? `<table><tr><th>patient</th><th>reason</th></tr>${cohort.suppressedPatients.map((p) => `<tr><td>${escapeHtml(p.patient)}</td><td>${escapeHtml(p.reason)}</td></tr>`).join('')}</table>` : ''}`
    : ''
}
<h2>Files not de-identified (${problems.length})</h2>
${problems.length ? `<table><tr><th>input</th><th>status</th><th>reason</th></tr>${problems.map((f) => `<tr><td>${escapeHtml(f.input)}</td><td class="bad">${f.status}</td><td>${escapeHtml(f.reason ?? '')}</td></tr>`).join('')}</table>` : '<p class="ok">none</p>'}
</body></html>
`;
}
