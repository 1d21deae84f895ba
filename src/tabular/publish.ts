import { VeilError } from '../errors.js';
import type { TabularPolicy } from '../policy/sections/tabular.js';
import type { TabularReport } from '../report/tabularReport.js';
import type { AnonymizeOptions, AnonymizeResult } from './anonymize.js';
import { entitiesPerClass } from './entities.js';
import { replaceIdentifier } from './identifiers.js';
import { equivalenceClasses } from './metrics/classes.js';
import { classStats, measureSensitive } from './metrics/privacy.js';
import { prosecutorRisk } from './metrics/risk.js';
import { attributeDisclosure } from './metrics/disclosure.js';
import type { PrivacyModel } from './models/model.js';
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
 * Writes the output table for a given grouping into classes (Mondrian's, or a saved scheme's)
 * and measures every guarantee on that output. Fails when more records are suppressed than the
 * policy allows.
 */
export function publishClasses(table: Table, policy: TabularPolicy, options: AnonymizeOptions, input: PublishInput): AnonymizeResult {
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

  // Everything below is measured on the output, not taken from the partitioning.
  const classes = equivalenceClasses(output, prepared.dimensionColumns, suppressed);
  const stats = classStats(classes, sensitive, n);
  const measured = measureSensitive(stats, sensitive, n, privacy.l?.variant === 'recursive' ? (privacy.l.c ?? 0) : 0);
  const original = equivalenceClasses(table, prepared.dimensionColumns);
  // With an entity column, classes are measured in people: k, risk and C_AVG count them.
  const people = entities ? entitiesPerClass(classes, entities) : undefined;
  const published = people ? stats.map((s, c) => ({ ...s, entities: people[c] })) : stats;
  const before = prosecutorRisk(original, options.riskThreshold ?? 0.2, entities ? entitiesPerClass(original, entities) : undefined);
  const after = prosecutorRisk(classes, options.riskThreshold ?? 0.2, people);
  const riskModels = measureRiskModels({ table, output, policy, options, prepared, original, classes, people, originalPeople: entities ? entitiesPerClass(original, entities) : undefined });
  // Each model answers for itself; the risk thresholds were checked above and answer alike.
  const requirements = [...models.map((model) => model.measure(published)), ...riskRequirements(riskModels.models)];
  const report = assembleTabularReport({
    table, policy, options, dimensions, classes, people, measured, requirements, suppressedCount, before, after,
    disclosure: attributeDisclosure(stats, sensitive),
    columnsRoles: table.columns.map((c, i) => ({ column: c.name, ...(roleOf.get(i) ?? { role: 'other' as const, action: 'keep' }) })),
    drivers: prepared.dimensionColumns.map((col) => uniquesAlone(table.columns[col])),
  });
  report.risk.models = riskModels.models;
  report.safeHarbor = riskModels.safeHarbor;
  report.notes.push(...riskModels.notes);
  const unreviewed = report.columns.filter((c) => c.role === 'other' && c.action === 'keep').map((c) => c.column);
  if (unreviewed.length > 0) {
    report.notes.push(`Columns the policy gives no role, published unchanged (otherColumns: keep): ${unreviewed.join(', ')}. Veil does not check them: make sure none identifies a person, or name them in the policy.`);
  }
  if (absentOptional.length > 0) report.notes.push(`Optional identifier columns not in this file (nothing to do): ${absentOptional.join(', ')}.`);
  lap('measure');
  timing.total = round(performance.now() - started, 1);
  report.timingMs = timing;
  if (!report.privacy.satisfied) {
    throw new Error('the output does not meet the policy although every class was checked: please report this as a bug');
  }
  return { output, suppressed, report, ...(mapping ? { mapping } : {}) };
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
