import { notScannedReasons, residualCoverage, type DicomFileRecord, type DicomRunReport } from '../dicomReport.js';
import { syntaxInfo } from '../../standard/transferSyntax.js';
import type { TabularReport } from '../tabularReport.js';
import { escapeHtml, page, table, type Cell } from './page.js';
import { tabularSummary } from './tabularHtml.js';

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

/**
 * The reviewer's view of `veil dicom deidentify`, on the same page skeleton as the tabular
 * report: totals, the residual-PHI check and what it covered, actions by code and rule, the
 * pixel step, every file's outcome (output, reason, pixels examined or not, re-encoding) and
 * the cohort's k-anonymity. Paths, counts, keywords and pseudonyms only: no PHI.
 */
export function renderDicomHtml(report: DicomRunReport): string {
  const t = report.totals;
  const verdict = t.rejected > 0 || report.residualPhi.filesFailed > 0
    ? `<span class="fail">${t.rejected} rejected: not written</span>`
    : '<span class="ok">every DICOM file de-identified</span>';
  const cohort = report.cohort;
  const body = `
<h1>DICOM de-identification</h1>
<p class="meta">Policy <b>${escapeHtml(report.policy.name)}</b> version ${escapeHtml(String(report.policy.version))} (sha256 ${escapeHtml(report.policy.sha256.slice(0, 16))}…) ·
PS3.15 ${escapeHtml(report.profile.edition)} Basic Profile${report.profile.options.length ? ` with ${escapeHtml(report.profile.options.join(', '))}` : ''}; unlisted elements: ${escapeHtml(report.profile.unlistedElements)} · ${report.timingMs.toLocaleString('en-US')} ms</p>
<h2>Totals — ${verdict}</h2>
${table(['files', 'de-identified (ok)', 'rejected', 'skipped (not DICOM)', 'patients', 'time (ms)'], [[t.files, t.ok, t.rejected, t.skipped, t.patients, report.timingMs]])}
<h2>Residual-PHI check</h2>
<p class="${report.residualPhi.filesFailed ? 'bad' : 'ok'}">${report.residualPhi.filesChecked} outputs searched for ${report.residualPhi.valuesChecked} identifying values of their inputs; ${report.residualPhi.filesFailed} failed (not written).</p>
<p class="${report.pixels.notScanned > 0 ? 'bad' : 'ok'}">${escapeHtml(residualCoverage(report))}</p>
${report.studiesWithSeveralPatients.length ? `<p class="bad">${report.studiesWithSeveralPatients.length} studies hold files of more than one patient (see the JSON report).</p>` : ''}
<h2>Files</h2>
<p>Every input: where it went, why it was not written, whether its pixels were examined for burned-in text, and how its pixels were written.</p>
${report.files.length > 0 ? table(['input', 'output', 'status', 'reason', 'pixels', 'pixel encoding'], report.files.map(fileRow)) : '<p>No files.</p>'}
<h2>Actions on elements</h2>
${table(['action', 'elements'], Object.entries(report.actions).sort().map(([k, v]) => [ACTION_NAMES[k] ?? k, v]))}
<h2>By rule</h2>
${table(['rule', 'elements'], Object.entries(report.origins).sort().map(([k, v]) => [k, v]))}
<h2>Pixels</h2>
${table(['files', 'count'], [
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
${cohort ? cohortSection(cohort) : ''}
`;
  return page('Veil DICOM de-identification report', body);
}

function fileRow(f: DicomFileRecord): Cell[] {
  // marked only where it tells something: a rejected file, pixels examined or not
  const status: Cell = f.status === 'rejected' ? { text: f.status, mark: 'bad' } : f.status;
  const scan = f.pixelScan?.status;
  const pixels: Cell = !scan ? '-' : scan === 'no-pixel-data' ? scan : { text: scan, mark: scan === 'not-scanned' ? 'bad' : 'ok' };
  return [f.input, f.output ?? '-', status, f.reason ?? '', pixels, pixelEncoding(f)];
}

/** How the pixels were written: untouched, re-encoded losslessly, or (never by Veil) lossy. */
export function pixelEncoding(f: DicomFileRecord): Cell {
  const written = f.pixels?.transferSyntax;
  if (!f.pixels || f.status !== 'ok') return '-';
  if (written === 'kept') return 'original bytes';
  if (written === 'same') return { text: 'lossless re-encode (same transfer syntax)', mark: 'ok' };
  const info = written ? syntaxInfo(written) : undefined;
  if (info?.lossless) return { text: `lossless re-encode (${written})`, mark: 'ok' };
  return { text: `re-encoded as ${written ?? 'unknown'}: not known lossless`, mark: 'bad' };
}

/** Per file with pixels: pixel-scan status, frames triaged / text-like / scanned, and the reason. */
function pixelTable(report: DicomRunReport): string {
  const rows = report.files.filter((f) => f.pixelScan && f.pixelScan.status !== 'no-pixel-data');
  if (rows.length === 0) return '';
  const frames = (f: DicomFileRecord): string => (f.pixels?.frames ? `${f.pixels.frames.triaged} / ${f.pixels.frames.textLike} / ${f.pixels.frames.scanned} of ${f.pixels.frames.total}` : '');
  return table(['input', 'pixels', 'frames triaged / text-like / scanned', 'why'], rows.map((f) => [
    f.input,
    { text: f.pixelScan?.status ?? '', mark: f.pixelScan?.status === 'not-scanned' ? 'bad' : 'ok' },
    frames(f),
    f.pixelScan?.reason ?? '',
  ]));
}

function cohortSection(cohort: NonNullable<DicomRunReport['cohort']>): string {
  const tabular = isTabularReport(cohort.tabular) ? cohort.tabular : undefined;
  return `<h2>Cohort k-anonymity</h2>
<p>The patient-level table (one row per patient, the cohort's quasi-identifiers) anonymized by the tabular engine; generalized values are written back into the headers.</p>
${table(['measure', 'value'], [
    ['patients', cohort.patients],
    ['quasi-identifiers', cohort.quasiIdentifiers.join(', ')],
    ['suppressed patients (left out of the export)', cohort.suppressedPatients.length],
    ['cohort table', cohort.csv ?? '-'],
    ['write-back', cohort.writeBack],
  ])}
${cohort.suppressedPatients.length ? table(['patient (pseudonym)', 'reason'], cohort.suppressedPatients.map((p) => [p.patient, p.reason])) : ''}
${tabular ? tabularSummary(tabular) : ''}`;
}

/** The cohort's tabular report; 'tabular' is how reports spelled the kind before 'veil-tabular'. */
function isTabularReport(value: unknown): value is TabularReport {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  return kind === 'veil-tabular' || kind === 'tabular';
}
