import { VeilError } from '../errors.js';
import type { TabularPolicy } from '../policy/sections/tabular.js';
import type { PolicyRef, TabularReport } from '../report/tabularReport.js';
import { secretMissingError } from '../secret/key.js';
import { representativeDimension } from './entities.js';
import type { ClassStats, PrivacyModel } from './models/model.js';
import { modelsForPolicy } from './models/registry.js';
import { mondrian } from './mondrian/mondrian.js';
import { prepare, type Prepared } from './prepare.js';
import { extendedReport, publishTable, withReport, type PublishedTable } from './publish.js';
import { riskRequirementMinimum } from './risk/wire.js';
import { classLabels, classOfRows } from './recode.js';
import { schemeOfClasses, type Scheme } from './scheme/scheme.js';
import type { Table } from './table.js';

/*
 * The flow of an anonymization: prepare the table, partition it under every privacy model
 * (Mondrian), then hand the classes to publishing (publish.ts), which measures the output and
 * assembles the report (reportAssembly.ts).
 */

export interface AnonymizeOptions {
  /** Directory that relative hierarchy paths in the policy are resolved against. */
  baseDir: string;
  policyFile?: string;
  /**
   * Pseudonymization key, needed when a column is pseudonymized. The caller reads it (the CLI
   * and the API worker, with src/secret): the core never reads the environment.
   */
  secret?: Buffer;
  policyInfo?: PolicyRef;
  /** Record risk above which a record counts as at risk (default 0.2, i.e. classes under 5). */
  riskThreshold?: number;
  /** Also return the original → pseudonym pairs of every pseudonymized column (they are PHI). */
  keepMapping?: boolean;
  /** Also return the scheme of the published classes, to re-apply to a later batch. */
  keepScheme?: boolean;
  onProgress?: (fraction: number) => void;
}

export interface AnonymizeResult {
  output: Table;
  /** 1 for each suppressed row. */
  suppressed: Uint8Array;
  report: TabularReport;
  /**
   * With `keepMapping`: a table (column, original, pseudonym) with one row per distinct value
   * of each pseudonymized or randomized column, for whoever may re-identify.
   */
  mapping?: Table;
  /** With `keepScheme`: the published classes, for `applyScheme`. */
  scheme?: Scheme;
}

/**
 * Anonymizes a table in memory per the policy's `tabular` section: Mondrian partitioning under
 * every privacy model, recoding, identifier replacement, then every guarantee measured on the
 * output. Throws VeilError(POLICY_UNSATISFIABLE) when the data cannot meet the policy.
 */
export function anonymizeTable(table: Table, policy: TabularPolicy, options: AnonymizeOptions): AnonymizeResult {
  const decided = decideTable(table, policy, options);
  return { ...withReport(decided), ...(decided.scheme ? { scheme: decided.scheme } : {}) };
}

/** A run up to its decision; the report is measured by `report()` only when asked for. */
export interface DecidedRun extends PublishedTable {
  /** With `keepScheme`: the published classes, for `applyScheme`. */
  scheme?: Scheme;
}

/**
 * anonymizeTable without the report's measures unless `report()` is called: the same output,
 * the same checks and the same errors (k, l, t, risk thresholds and the suppression limit are
 * measured on the output either way).
 */
export function decideTable(table: Table, policy: TabularPolicy, options: AnonymizeOptions): DecidedRun {
  const { prepared, models, whole, timing, lap, started, secret } = beginRun(table, policy, options);
  const { dimensions, sensitive, entities } = prepared;
  const n = table.rowCount;
  const privacy = policy.privacy;
  // When the whole table cannot meet a model, the only way out is suppressing every record —
  // allowed only when the policy's suppression limit is 100%.
  let suppressAllBecause: string | undefined;
  for (const model of models) {
    const reason = model.explainTableFailure(whole);
    if (!reason) continue;
    if (Math.floor(privacy.suppressionLimit * n) >= n) {
      suppressAllBecause = reason;
      break;
    }
    throw new VeilError('POLICY_UNSATISFIABLE', reason, { file: options.policyFile, field: model.policyField });
  }
  // privacy.riskThreshold: the per-class part (highest prosecutor / journalist risk) is a smallest class size.
  const riskMinimum = riskRequirementMinimum(policy, options.policyFile);
  const accepts = (stats: ClassStats) => {
    if ((stats.entities ?? stats.size) < riskMinimum) return false;
    for (const model of models) if (!model.accepts(stats)) return false;
    return true;
  };

  // With people, Mondrian cuts each person's smallest values, so no cut separates a person's rows.
  const partitioned = entities ? dimensions.map((dim) => representativeDimension(dim, entities)) : dimensions;
  const partitioning = suppressAllBecause ? { perm: new Int32Array(0), bounds: new Int32Array(1) } : mondrian({
    rowCount: n,
    dimensions: partitioned,
    ...(entities ? { entities } : {}),
    // k alone never looks at sensitive values: spare Mondrian the counting
    sensitive: models.some((m) => m.usesSensitive) ? sensitive : [],
    accepts,
    onProgress: options.onProgress ? (placed) => options.onProgress?.(placed / Math.max(1, n)) : undefined,
  });
  lap('partition');

  const classOf = classOfRows(partitioning, n);
  const labels = dimensions.map((dim) => classLabels(dim, partitioning.perm, partitioning.bounds));
  const published = publishTable(table, policy, options, { prepared, models, classOf, labels, secret, timing, lap, started });
  const report = suppressAllBecause ? extendedReport(published.report, (r) => r.notes.push(`Every record was suppressed: ${suppressAllBecause}.`)) : published.report;
  const scheme = options.keepScheme
    ? schemeOfClasses(dimensions, labels, partitioning, options.policyInfo ?? { name: 'inline', version: 0, sha256: '' }, partitioned)
    : undefined;
  return { ...published, report, ...(scheme ? { scheme } : {}) };
}

/** True when the policy pseudonymizes a column, so a run needs a key (read at the edge). */
export function tabularNeedsKey(policy: TabularPolicy): boolean {
  return policy.identifiers.some((id) => id.action === 'pseudonymize');
}

function missingKey(): never {
  throw secretMissingError();
}

/** What every run starts with: the prepared table, the privacy models, the key, a clock. */
export interface RunStart {
  prepared: Prepared;
  models: readonly PrivacyModel[];
  /** The whole table as one class. */
  whole: ClassStats;
  secret: Buffer | undefined;
  timing: Record<string, number>;
  lap: (name: string) => void;
  started: number;
}

export function beginRun(table: Table, policy: TabularPolicy, options: AnonymizeOptions): RunStart {
  const timing: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timing[name] = round(now - clock, 1);
    clock = now;
  };
  const started = clock;
  // Otherwise the first failure would be a hierarchy built from no values, blaming the policy.
  if (table.rowCount === 0) throw new VeilError('CSV_INVALID', 'the table has a header but no records: nothing to anonymize');

  const prepared = prepare(table, policy, { baseDir: options.baseDir, policyFile: options.policyFile });
  const { sensitive, entities } = prepared;
  const n = table.rowCount;
  const secret = tabularNeedsKey(policy) ? (options.secret ?? missingKey()) : undefined;
  lap('prepare');

  const globalCounts = sensitive.map((s) => {
    const counts = new Int32Array(s.cardinality);
    for (let r = 0; r < n; r++) counts[s.codes[r]]++;
    return counts;
  });
  const models = modelsForPolicy(policy.privacy, sensitive, globalCounts, n, entities?.column).list();
  const whole: ClassStats = { size: n, counts: globalCounts, ...(entities ? { entities: entities.count } : {}) };
  return { prepared, models, whole, secret, timing, lap, started };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
