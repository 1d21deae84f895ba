import { VeilError } from '../errors.js';
import type { TabularPolicy } from '../policy/sections/tabular.js';
import type { TabularReport } from '../report/tabularReport.js';
import type { AnonymizeOptions, AnonymizeResult } from './anonymize.js';
import { entitiesPerClass } from './entities.js';
import { replaceIdentifier } from './identifiers.js';
import { equivalenceClasses, type ClassIndex } from './metrics/classes.js';
import { classStats, measureSensitive } from './metrics/privacy.js';
import { prosecutorRisk } from './metrics/risk.js';
import { attributeDisclosure } from './metrics/disclosure.js';
import type { PrivacyModel, Requirement } from './models/model.js';
import type { Prepared } from './prepare.js';
import { measureRiskModels, riskRequirements } from './risk/wire.js';
import { SUPPRESSED } from './recode.js';
import { assembleTabularReport } from './reportAssembly.js';
import { tableFromRows, type Column, type Table } from './table.js';

/**
 * Publishing: from a grouping of the rows into classes to the output table, then every
 * guarantee measured on that output (never taken from the partitioning) and handed to the
 * report assembly. Shared by a fresh anonymization and by re-applying a saved scheme.
 */

/** What publishing needs: the prepared table, the class of every row (-1 = suppressed), and each class's label per quasi-identifier. */
export interface PublishInput {
  prepared: Prepared;
  /** The policy's privacy models, asked whether the output meets them. */
  models: readonly PrivacyModel[];
  classOf: Int32Array;
  /** labels[d][c]: what class c publishes on quasi-identifier d. */
  labels: readonly (readonly string[])[];
  secret: Buffer | undefined;
  timing: Record<string, number>;
  lap: (name: string) => void;
  started: number;
}

/**
 * What a run decided, without the report's measures: the output meets the policy (else the run
 * threw), with what each privacy model and risk threshold achieved. The CLI's `--quiet` run with
 * no report file asks for this alone.
 */
export interface TabularDecision {
  kind: 'veil-tabular-decision';
  input: { rows: number; columns: number };
  /** Equivalence classes measured on the output (suppressed records in none). */
  classes: number;
  suppressed: number;
  suppressionLimit: number;
  /** Every privacy model's and risk threshold's answer, measured on the output. */
  requirements: Requirement[];
  satisfied: boolean;
  timingMs: Record<string, number>;
}

/** A published table and its decision; the report is measured only when asked for. */
export interface PublishedTable {
  output: Table;
  suppressed: Uint8Array;
  mapping?: Table;
  decision: TabularDecision;
  /**
   * Measures the output for the report (utility, risk before and after, disclosure, Safe
   * Harbor, …) and assembles it, once: later calls return the same report. These measures
   * cost about as much CPU as publishing itself, so a caller that prints nothing skips them.
   */
  report: () => TabularReport;
}

/**
 * Writes the output table for a given grouping into classes (Mondrian's, or a saved scheme's)
 * and measures every guarantee on that output. Fails when more records are suppressed than the
 * policy allows.
 */
export function publishClasses(table: Table, policy: TabularPolicy, options: AnonymizeOptions, input: PublishInput): AnonymizeResult {
  return withReport(publishTable(table, policy, options, input));
}

/** The result of a run with its report measured. */
export function withReport(published: Omit<PublishedTable, 'decision'>): AnonymizeResult {
  const { output, suppressed, mapping } = published;
  return { output, suppressed, report: published.report(), ...(mapping ? { mapping } : {}) };
}

/** A report maker whose report `extend` completes once (a note, the scheme's fit), however often it is asked. */
export function extendedReport(report: () => TabularReport, extend: (report: TabularReport) => void): () => TabularReport {
  let extended: TabularReport | undefined;
  return () => {
    if (!extended) {
      extended = report();
      extend(extended);
    }
    return extended;
  };
}

/**
 * publishClasses up to the decision: the output table, and what decides pass or fail measured
 * on it (the models' figures, the risk thresholds, the suppression limit). The rest of the
 * report waits for `report()`. Risk settings in the policy (a population table, ZIP
 * populations, a sampling fraction) are read and measured here as before, so a bad file fails
 * every run alike.
 */
export function publishTable(table: Table, policy: TabularPolicy, options: AnonymizeOptions, input: PublishInput): PublishedTable {
  const { prepared, models, classOf, labels, secret, timing, lap, started } = input;
  const { dimensions, sensitive, entities } = prepared;
  const n = table.rowCount;
  const privacy = policy.privacy;
  const suppressed = new Uint8Array(n);
  for (let r = 0; r < n; r++) if (classOf[r] < 0) suppressed[r] = 1;
  const suppressedCount = suppressed.reduce((a, b) => a + b, 0);
  if (suppressedCount > Math.floor(privacy.suppressionLimit * n)) {
    throw new VeilError('POLICY_UNSATISFIABLE', `${suppressedCount} records would have to be suppressed, more than the limit of ${privacy.suppressionLimit * 100}%`, { field: 'tabular.privacy.suppressionLimit' });
  }

  const missing = new Set(policy.missingValues);
  const roleOf = new Map<number, { role: TabularReport['columns'][number]['role']; action: string }>();
  const qiColumn = new Map<number, number>();
  prepared.dimensionColumns.forEach((col, d) => {
    qiColumn.set(col, d);
    roleOf.set(col, { role: 'quasiIdentifier', action: 'generalize' });
  });
  prepared.sensitiveColumns.forEach((col) => roleOf.set(col, { role: 'sensitive', action: 'keep' }));
  const identifierSpecs = new Map(policy.identifiers.map((id) => [id.column, id]));
  const absentOptional = policy.identifiers.filter((id) => id.optional && !table.columns.some((c) => c.name === id.column)).map((id) => id.column);
  const columns: Column[] = table.columns.map((column, index) => {
    const d = qiColumn.get(index);
    if (d !== undefined) return recodedColumn(column.name, labels[d], classOf);
    const id = identifierSpecs.get(column.name);
    if (id) {
      roleOf.set(index, { role: 'identifier', action: id.action });
      return replaceIdentifier(column, id, missing, secret);
    }
    if (roleOf.has(index)) return column;
    roleOf.set(index, { role: 'other', action: policy.otherColumns });
    return policy.otherColumns === 'keep' ? column : { name: column.name, codes: new Int32Array(n), dictionary: [''] };
  });
  const output: Table = { columns, rowCount: n };
  const mapping = options.keepMapping ? pseudonymMapping(table, output, policy, missing) : undefined;
  lap('recode');
  const recoded = performance.now();

  // Everything below is measured on the output, not taken from the partitioning.
  const classes = equivalenceClasses(output, prepared.dimensionColumns, suppressed);
  const stats = classStats(classes, sensitive, n);
  // With an entity column, classes are measured in people: k, risk and C_AVG count them.
  const people = entities ? entitiesPerClass(classes, entities) : undefined;
  const published = people ? stats.map((s, c) => ({ ...s, entities: people[c] })) : stats;
  // The input's classes, which the risk models and the report compare with, once.
  let originalClasses: ClassIndex | undefined;
  const original = () => (originalClasses ??= equivalenceClasses(table, prepared.dimensionColumns));
  const originalPeople = () => (entities ? entitiesPerClass(original(), entities) : undefined);
  const measureRisk = () => measureRiskModels({ table, output, policy, options, prepared, original: original(), classes, people, originalPeople: originalPeople() });
  // Thresholds decide, and the policy's risk files must be read (and fail) on every run: measured now.
  const riskNow = policy.risk !== undefined || privacy.riskThreshold !== undefined ? measureRisk() : undefined;
  // Each model answers for itself; the risk thresholds were checked above and answer alike.
  const requirements = [...models.map((model) => model.measure(published)), ...(riskNow ? riskRequirements(riskNow.models) : [])];
  // Asked of the models, never re-derived; the suppression limit is the policy's own bound.
  const satisfied = requirements.every((r) => r.satisfied) && suppressedCount <= Math.floor(privacy.suppressionLimit * n);
  if (!satisfied) {
    throw new Error('the output does not meet the policy although every class was checked: please report this as a bug');
  }
  const decision: TabularDecision = {
    kind: 'veil-tabular-decision',
    input: { rows: n, columns: table.columns.length },
    classes: classes.count,
    suppressed: suppressedCount,
    suppressionLimit: privacy.suppressionLimit,
    requirements,
    satisfied,
    timingMs: { ...timing, measure: round(performance.now() - recoded, 1), total: round(performance.now() - started, 1) },
  };

  let report: TabularReport | undefined;
  const measureReport = (): TabularReport => {
    const measured = measureSensitive(stats, sensitive, n, privacy.l?.variant === 'recursive' ? (privacy.l.c ?? 0) : 0);
    const before = prosecutorRisk(original(), options.riskThreshold ?? 0.2, originalPeople());
    const after = prosecutorRisk(classes, options.riskThreshold ?? 0.2, people);
    const riskModels = riskNow ?? measureRisk();
    const assembled = assembleTabularReport({
      table, policy, options, dimensions, classes, people, measured, requirements, suppressedCount, before, after,
      disclosure: attributeDisclosure(stats, sensitive),
      columnsRoles: table.columns.map((c, i) => ({ column: c.name, ...(roleOf.get(i) ?? { role: 'other' as const, action: 'keep' }) })),
      drivers: prepared.dimensionColumns.map((col) => uniquesAlone(table.columns[col])),
    });
    assembled.risk.models = riskModels.models;
    assembled.safeHarbor = riskModels.safeHarbor;
    assembled.notes.push(...riskModels.notes);
    const unreviewed = assembled.columns.filter((c) => c.role === 'other' && c.action === 'keep').map((c) => c.column);
    if (unreviewed.length > 0) {
      assembled.notes.push(`Columns the policy gives no role, published unchanged (otherColumns: keep): ${unreviewed.join(', ')}. Veil does not check them: make sure none identifies a person, or name them in the policy.`);
    }
    if (absentOptional.length > 0) assembled.notes.push(`Optional identifier columns not in this file (nothing to do): ${absentOptional.join(', ')}.`);
    lap('measure');
    timing.total = round(performance.now() - started, 1);
    assembled.timingMs = timing;
    return assembled;
  };
  return { output, suppressed, ...(mapping ? { mapping } : {}), decision, report: () => (report ??= measureReport()) };
}

/** Original → pseudonym pairs of the pseudonymized and randomized columns, sorted per column. */
function pseudonymMapping(table: Table, output: Table, policy: TabularPolicy, missing: ReadonlySet<string>): Table {
  const rows: [string, string, string][] = [];
  for (const spec of policy.identifiers) {
    if (spec.action !== 'pseudonymize' && spec.action !== 'randomize') continue;
    const index = table.columns.findIndex((c) => c.name === spec.column);
    if (index < 0) continue;
    const original = table.columns[index].dictionary;
    const replaced = output.columns[index].dictionary;
    const pairs = original.map((value, code) => [spec.column, value, replaced[code]] as [string, string, string]).filter(([, value]) => !missing.has(value));
    rows.push(...pairs.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)));
  }
  return tableFromRows(['column', 'original', 'pseudonym'], rows);
}

function recodedColumn(name: string, labels: readonly string[], classOf: Int32Array): Column {
  const dictionary: string[] = [SUPPRESSED];
  const index = new Map<string, number>([[SUPPRESSED, 0]]);
  const codeOfClass = labels.map((label) => {
    let code = index.get(label);
    if (code === undefined) {
      code = dictionary.length;
      dictionary.push(label);
      index.set(label, code);
    }
    return code;
  });
  const codes = new Int32Array(classOf.length);
  for (let r = 0; r < codes.length; r++) codes[r] = classOf[r] < 0 ? 0 : codeOfClass[classOf[r]];
  return { name, codes, dictionary };
}

function uniquesAlone(column: Column): { column: string; uniquesAlone: number; distinctValues: number } {
  const counts = new Int32Array(column.dictionary.length);
  for (let r = 0; r < column.codes.length; r++) counts[column.codes[r]]++;
  let uniques = 0;
  let distinct = 0;
  for (const c of counts) {
    if (c === 1) uniques++;
    if (c > 0) distinct++;
  }
  return { column: column.name, uniquesAlone: uniques, distinctValues: distinct };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
