import type { FileResult, FileStatus } from './file.js';
import type { DicomPixelReport } from './pixelCleaner.js';

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
  pixels: { scanned: number; replaced: number; unchanged: number; rejected: number };
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

/** Adds one file's result to the report being built. */
export function addFileResult(report: DicomRunReport, result: FileResult, outputRelative: string | undefined): void {
  report.totals.files++;
  report.totals[result.status]++;
  const record: DicomFileRecord = { input: result.input, status: result.status };
  if (outputRelative) record.output = outputRelative;
  if (result.reason) record.reason = result.reason;
  if (result.warnings.length > 0) record.warnings = result.warnings;
  if (result.pixels?.report) record.pixels = result.pixels.report;
  report.files.push(record);
  for (const [k, v] of Object.entries(result.counts.actions)) report.actions[k] = (report.actions[k] ?? 0) + v;
  for (const [k, v] of Object.entries(result.counts.origins)) report.origins[k] = (report.origins[k] ?? 0) + v;
  if (result.residualValuesChecked > 0) {
    report.residualPhi.filesChecked++;
    report.residualPhi.valuesChecked += result.residualValuesChecked;
    if (result.reason?.startsWith('residual PHI')) report.residualPhi.filesFailed++;
  }
  if (result.pixels?.report?.scanned) report.pixels.scanned++;
  if (result.pixels) report.pixels[result.pixels.status]++;
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
${report.studiesWithSeveralPatients.length ? `<p class="bad">${report.studiesWithSeveralPatients.length} studies hold files of more than one patient (see the JSON report).</p>` : ''}
<h2>Actions on elements</h2>
${table(Object.entries(report.actions).sort().map(([k, v]) => [ACTION_NAMES[k] ?? k, v]))}
<h2>By rule</h2>
${table(Object.entries(report.origins).sort().map(([k, v]) => [k, v]))}
<h2>Pixels</h2>
${table(Object.entries(report.pixels))}
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
