import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isVeilError, VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/load.js';
import type { TabularReport } from '../report/tabularReport.js';
import type { TabularPolicy } from '../policy/sections/tabular.js';
import { decideTable, type AnonymizeOptions, type DecidedRun } from './anonymize.js';
import type { TabularDecision } from './publish.js';
import { decideScheme } from './scheme/apply.js';
import { parseScheme } from './scheme/scheme.js';
import type { Table } from './table.js';
import { readCsv } from './csv/read.js';
import { writeCsv } from './csv/write.js';

export interface AnonymizeCsvOptions {
  policy: Policy;
  input: string;
  output: string;
  reportJson?: string;
  reportHtml?: string;
  /** CSV of original → pseudonym pairs (column, original, pseudonym): it holds PHI. */
  mappingCsv?: string;
  secret?: Buffer;
  /** Largest CSV cell in UTF-8 bytes (default DEFAULT_MAX_CELL_BYTES, 1 MiB); a larger one is refused. */
  maxCellBytes?: number;
  /** 0 … 1 over reading, partitioning and writing. */
  onProgress?: (fraction: number) => void;
  /**
   * 'report' (default): measure everything and return the report. 'decision': return only what
   * decided the run (k, l, t, risk thresholds, suppression: the same checks and errors), and
   * skip the report's other measures unless a report file is asked for.
   */
  measures?: 'report' | 'decision';
}

type CsvRunOptions<M> = AnonymizeCsvOptions & { measures?: M };
type CsvRunResult<M> = M extends 'decision' ? TabularDecision : TabularReport;

/**
 * Anonymizes a CSV file per the policy's `tabular` section. Reads the input as a stream, writes
 * the CSV (same columns, same row order, same delimiter) and the reports atomically. On any
 * error nothing is written and the input is never touched. Returns the report, or with
 * `measures: 'decision'` only the decision.
 */
export async function anonymizeCsvFile<M extends 'report' | 'decision' = 'report'>(options: CsvRunOptions<M> & { schemeOut?: string }): Promise<CsvRunResult<M>> {
  return runCsvFile(options, { outputs: [options.schemeOut] }, (table, tabular, runOptions) => decideTable(table, tabular, { ...runOptions, keepScheme: options.schemeOut !== undefined }), async (result) => {
    if (options.schemeOut && result.scheme) await writeFileAtomic(options.schemeOut, `${JSON.stringify(result.scheme)}\n`);
  });
}

/**
 * Publishes a later batch in the classes of a scheme saved by `anonymizeCsvFile({ schemeOut })`
 * (see applyScheme), with the same outputs as an anonymization.
 */
export async function applySchemeToCsvFile<M extends 'report' | 'decision' = 'report'>(options: CsvRunOptions<M> & { scheme: string }): Promise<CsvRunResult<M>> {
  let text: string;
  try {
    text = await readFile(options.scheme, 'utf8');
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'cannot read the scheme file', { file: options.scheme });
  }
  const scheme = await parseScheme(text, options.scheme);
  return runCsvFile(options, { inputs: [options.scheme] }, (table, tabular, runOptions) => decideScheme(table, tabular, scheme, { ...runOptions, schemeFile: options.scheme }));
}

type TabularRun = (table: Table, tabular: TabularPolicy, options: AnonymizeOptions) => DecidedRun;

async function runCsvFile<M extends 'report' | 'decision'>(
  options: CsvRunOptions<M>,
  extra: { outputs?: (string | undefined)[]; inputs?: string[] },
  run: TabularRun,
  after?: (result: DecidedRun) => Promise<void>,
): Promise<CsvRunResult<M>> {
  const extraOutputs = extra.outputs ?? [];
  const extraInputs = extra.inputs ?? [];
  const { policy, input, output } = options;
  if (!policy.tabular) throw new VeilError('POLICY_INVALID', 'the policy has no tabular section', { file: policy.source.file, field: 'tabular' });
  // The CSV, the policy and a scheme are read, never written.
  const read = [input, policy.source.file, ...extraInputs].filter((path): path is string => path !== undefined).map((path) => resolve(path));
  for (const target of [output, options.reportJson, options.reportHtml, options.mappingCsv, ...extraOutputs]) {
    if (target && read.includes(resolve(target))) throw new VeilError('USAGE', 'an output path is an input file (the CSV, the policy or the scheme): inputs are never overwritten', { file: target });
  }
  const progress = options.onProgress;
  const readStarted = performance.now();
  try {
    const { table, delimiter } = await readCsv(input, { maxCellBytes: options.maxCellBytes, onProgress: progress ? () => progress(0.1) : undefined });
    const readMs = performance.now() - readStarted;
    progress?.(0.3);
    const result = run(table, policy.tabular, {
      baseDir: policy.source.baseDir,
      policyFile: policy.source.file,
      secret: options.secret,
      keepMapping: options.mappingCsv !== undefined,
      policyInfo: { name: policy.name, version: policy.version, sha256: policy.source.sha256 },
      onProgress: progress ? (f) => progress(0.3 + 0.55 * f) : undefined,
    });
    // The report's measures are taken only when someone reads the report.
    const report = options.measures !== 'decision' || options.reportJson || options.reportHtml ? result.report() : undefined;
    // Render the charts before writing anything, so a failure leaves no partial output; the page
    // itself is put together once the timings are final, so its timing line is the JSON's.
    const chartsStarted = performance.now();
    const html = report && options.reportHtml ? await import('../report/html/tabularHtml.js') : undefined;
    const charts = report && html ? await html.renderTabularCharts(report) : undefined;
    const chartsMs = performance.now() - chartsStarted;
    const writeStarted = performance.now();
    await writeCsv(output, result.output, delimiter);
    if (options.mappingCsv && result.mapping) {
      await writeCsv(options.mappingCsv, result.mapping);
      if (report) report.mapping = { file: options.mappingCsv, values: result.mapping.rowCount };
    }
    await after?.(result);
    // One source of truth for the JSON and the HTML: every step, then the total from the first read.
    const timed = (steps: Record<string, number>): Record<string, number> => {
      const { total: _total, ...rest } = steps;
      const timing: Record<string, number> = { read: round(readMs), ...rest, ...(charts ? { charts: round(chartsMs) } : {}), write: round(performance.now() - writeStarted) };
      timing.total = round(performance.now() - readStarted);
      return timing;
    };
    result.decision.timingMs = timed(result.decision.timingMs);
    if (report) report.timingMs = timed(report.timingMs);
    if (report && options.reportJson) await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
    if (report && charts && html && options.reportHtml) await writeFileAtomic(options.reportHtml, html.tabularPage(report, charts));
    progress?.(1);
    return (options.measures === 'decision' ? result.decision : report) as CsvRunResult<M>;
  } catch (error) {
    throw locate(error, input);
  }
}

/** Errors about data (a column, a value, a line) are located in the input CSV when they name no file. */
function locate(error: unknown, input: string): unknown {
  if (!isVeilError(error) || error.location.file) return error;
  if (['COLUMN_UNKNOWN', 'VALUE_INVALID', 'CSV_INVALID', 'CSV_CELL_TOO_LARGE', 'HIERARCHY_INVALID'].includes(error.code)) {
    return new VeilError(error.code, error.message, { ...error.location, file: input });
  }
  return error;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
