import { VeilError } from '../errors.js';
import type { TabularPolicy } from '../policy/sections/tabular.js';
import type { PolicyRef, TabularReport } from '../report/tabularReport.js';
import { loadSecret } from '../secret/key.js';
import { VEIL_VERSION } from '../version.js';
import type { Dimension } from './dimensions.js';
import { entitiesPerClass, representativeDimension } from './entities.js';
import { replaceIdentifier } from './identifiers.js';
import { normalizedAverageClassSize } from './metrics/cAvg.js';
import { equivalenceClasses, type ClassIndex } from './metrics/classes.js';
import { discernibility } from './metrics/discernibility.js';
import { genILossPerAttribute } from './metrics/genILoss.js';
import { ncpPerAttribute } from './metrics/ncp.js';
import { classStats, measureSensitive, type MeasuredSensitive } from './metrics/privacy.js';
import { prosecutorRisk } from './metrics/risk.js';
import { attributeDisclosure } from './metrics/disclosure.js';
import { publishedLossPerAttribute } from './metrics/publishedLoss.js';
import { sizeBins, sizeDistribution } from './metrics/sizeDistribution.js';
import type { ClassStats, PrivacyModel } from './models/model.js';
import { modelsForPolicy } from './models/registry.js';
import { mondrian } from './mondrian/mondrian.js';
import { prepare, type Prepared } from './prepare.js';
import { measureRiskModels, riskRequirementMinimum } from './risk/wire.js';
import { classLabels, classOfRows, SUPPRESSED } from './recode.js';
import { schemeOfClasses, type Scheme } from './scheme/scheme.js';
import { tableFromRows, type Column, type Table } from './table.js';

export interface AnonymizeOptions {
  /** Directory that relative hierarchy paths in the policy are resolved against. */
  baseDir: string;
  policyFile?: string;
  /** Pseudonymization key; loaded from VEIL_SECRET / VEIL_SECRET_FILE when a column needs it. */
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
    throw new VeilError('POLICY_UNSATISFIABLE', reason, { file: options.policyFile, field: model.id === 'k-anonymity' ? 'tabular.privacy.k' : model.id === 't-closeness' ? 'tabular.privacy.t' : 'tabular.privacy.l' });
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
  const result = publishClasses(table, policy, options, { prepared, classOf, labels, secret, timing, lap, started });
  if (suppressAllBecause) result.report.notes.push(`Every record was suppressed: ${suppressAllBecause}.`);
  if (options.keepScheme) {
    result.scheme = schemeOfClasses(dimensions, labels, partitioning, options.policyInfo ?? { name: 'inline', version: 0, sha256: '' }, partitioned);
  }
  return result;
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
  const needsKey = policy.identifiers.some((id) => id.action === 'pseudonymize');
  const secret = needsKey ? (options.secret ?? loadSecret()) : undefined;
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

/** What publishing needs: the prepared table, the class of every row (-1 = suppressed), and each class's label per quasi-identifier. */
export interface PublishInput {
  prepared: Prepared;
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
  const { prepared, classOf, labels, secret, timing, lap, started } = input;
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
  const before = prosecutorRisk(original, options.riskThreshold ?? 0.2, entities ? entitiesPerClass(original, entities) : undefined);
  const after = prosecutorRisk(classes, options.riskThreshold ?? 0.2, people);
  const riskModels = measureRiskModels({ table, output, policy, options, prepared, original, classes, people, originalPeople: entities ? entitiesPerClass(original, entities) : undefined });
  const report = buildReport({
    table, policy, options, dimensions, classes, people, measured, suppressedCount, before, after,
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

interface ReportInput {
  table: Table;
  policy: TabularPolicy;
  options: AnonymizeOptions;
  dimensions: Dimension[];
  classes: ClassIndex;
  /** Distinct people per class, when k counts people. */
  people?: Int32Array;
  measured: MeasuredSensitive[];
  disclosure: ReturnType<typeof attributeDisclosure>;
  suppressedCount: number;
  before: ReturnType<typeof prosecutorRisk>;
  after: ReturnType<typeof prosecutorRisk>;
  columnsRoles: TabularReport['columns'];
  drivers: TabularReport['risk']['drivers'];
}

function buildReport(input: ReportInput): TabularReport {
  const { table, policy, options, dimensions, classes, people, measured, suppressedCount, before, after } = input;
  const n = table.rowCount;
  const privacy = policy.privacy;
  const sizes = Array.from(classes.sizes);
  const minimum = (xs: ArrayLike<number>) => (xs.length > 0 ? Array.from(xs).reduce((a, b) => Math.min(a, b)) : null);
  const kAchieved = minimum(people ?? sizes);
  const perAttribute = dimensions.map((dim) => ({
    column: dim.name,
    kind: dim.kind,
    ncp: round(ncpPerAttribute(dim, classes, suppressedCount, n), 6),
    genILoss: round(genILossPerAttribute(dim, classes, suppressedCount, n), 6),
  }));
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const published = dimensions.map((dim) => publishedLossPerAttribute(dim, classes, suppressedCount, n));
  const lAchieved = privacy.l
    ? Math.min(...measured.map((m) => (privacy.l?.variant === 'distinct' ? m.lDistinct : privacy.l?.variant === 'entropy' ? m.lEntropy : m.lRecursive)))
    : null;
  const tAchieved = privacy.t ? Math.max(0, ...measured.map((m) => m.t)) : null;
  const satisfied =
    (kAchieved === null ? suppressedCount === n : kAchieved >= privacy.k) &&
    (!privacy.l || (lAchieved !== null && lAchieved >= privacy.l.l - 1e-9)) &&
    (!privacy.t || (tAchieved !== null && tAchieved <= privacy.t.t + 1e-9)) &&
    suppressedCount <= Math.floor(privacy.suppressionLimit * n);
  const notes: string[] = [];
  if (policy.sensitive.length > 0) notes.push('Sensitive columns are never changed: l-diversity and t-closeness are reached by generalizing the quasi-identifiers only.');
  notes.push('NCP and GenILoss are means over all quasi-identifier cells (0 = no loss, 1 = fully generalized); a suppressed record counts 1 per cell.');
  notes.push('Headline loss (utility.published) is measured on the published labels: how much of the domain the label a reader gets covers. utility.ncp (observed NCP) measures how spread the original values of a class are, and stays small when a tight class is published under a coarse label.');
  if (people && policy.entity !== undefined) {
    notes.push(`k counts people, not records: a person is a distinct value of "${policy.entity}", and all of a person's records are in one class. Prosecutor risk and C_AVG count people too; class sizes, DM, NCP and GenILoss count records.`);
    notes.push(`Prosecutor risk: a record's risk is 1 / (people in its class); "at risk" means above ${options.riskThreshold ?? 0.2}; uniques are records whose class holds one person.`);
  } else {
    notes.push(`Prosecutor risk: a record's risk is 1 / (size of its class); "at risk" means above ${options.riskThreshold ?? 0.2}.`);
  }
  return {
    kind: 'tabular',
    veil: { version: VEIL_VERSION },
    createdAt: new Date().toISOString(),
    policy: options.policyInfo ?? { name: 'inline', version: 0, sha256: '' },
    input: { rows: n, columns: table.columns.length },
    privacy: {
      k: { required: privacy.k, achieved: kAchieved, ...(people ? { countedIn: 'people' as const } : {}) },
      ...(people && policy.entity !== undefined ? { entity: { column: policy.entity, people: Array.from(people).reduce((a, b) => a + b, 0) } } : {}),
      ...(privacy.l ? { l: { variant: privacy.l.variant, required: privacy.l.l, ...(privacy.l.c !== undefined ? { c: privacy.l.c } : {}), achieved: lAchieved === null ? null : round(lAchieved, 6) } } : {}),
      ...(privacy.t ? { t: { required: privacy.t.t, achieved: tAchieved === null ? null : round(tAchieved, 6) } } : {}),
      sensitive: measured.map((m) => ({
        column: m.column,
        lDistinct: m.lDistinct,
        lEntropy: round(m.lEntropy, 6),
        ...(privacy.l?.variant === 'recursive' ? { lRecursive: m.lRecursive } : {}),
        t: round(m.t, 6),
        distance: m.distance,
      })),
      satisfied,
      attributeDisclosure: input.disclosure.map((d) => ({
        column: d.column,
        highest: round(d.highest, 6),
        skewed: { ...d.skewed, share: round(share(d.skewed.records, n), 6), worstRatio: d.skewed.worstRatio === null ? null : round(d.skewed.worstRatio, 3) },
        remedy: disclosureRemedy(privacy.l?.variant),
      })),
    },
    suppressed: suppressedCount,
    suppressionLimit: privacy.suppressionLimit,
    classes: {
      count: classes.count,
      minSize: minimum(sizes),
      maxSize: sizes.length > 0 ? sizes.reduce((a, b) => Math.max(a, b)) : null,
      averageSize: sizes.length > 0 ? round((n - suppressedCount) / sizes.length, 3) : null,
      sizeDistribution: sizeDistribution(classes.sizes),
      sizeBins: sizeBins(classes.sizes, privacy.k),
    },
    utility: {
      genILoss: round(mean(perAttribute.map((a) => a.genILoss)), 6),
      dm: discernibility(classes, suppressedCount, n),
      cAvg: round(normalizedAverageClassSize(classes, suppressedCount, n, privacy.k, people), 6),
      ncp: round(mean(perAttribute.map((a) => a.ncp)), 6),
      perAttribute,
      published: {
        genILoss: round(mean(published.map((a) => a.genILoss)), 6),
        ncp: round(mean(published.map((a) => a.ncp)), 6),
        perAttribute: published.map((a) => ({
          column: a.column,
          genILoss: round(a.genILoss, 6),
          ncp: round(a.ncp, 6),
          atRoot: round(share(a.atRoot, n), 6),
          suppressed: round(share(a.suppressed, n), 6),
          star: a.star,
        })),
      },
    },
    risk: {
      model: 'prosecutor',
      threshold: options.riskThreshold ?? 0.2,
      prosecutorMax: round(after.prosecutorMax, 6),
      prosecutorAvg: round(after.prosecutorAvg, 6),
      recordsAtRisk: after.recordsAtRisk,
      uniquesBefore: before.uniques,
      uniquesAfter: after.uniques,
      before: { ...before, prosecutorMax: round(before.prosecutorMax, 6), prosecutorAvg: round(before.prosecutorAvg, 6) },
      after: { ...after, prosecutorMax: round(after.prosecutorMax, 6), prosecutorAvg: round(after.prosecutorAvg, 6) },
      drivers: input.drivers,
    },
    columns: input.columnsRoles,
    notes,
    timingMs: {},
  };
}

function share(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}

/** What would lower attribute disclosure, given the l-diversity variant the policy asks for. */
function disclosureRemedy(variant: 'distinct' | 'entropy' | 'recursive' | undefined): string {
  const t = 't-closeness (tabular.privacy.t, e.g. 0.2) bounds how far a class\'s distribution may drift from the whole table\'s';
  if (variant === 'entropy') return `a higher entropy l, or ${t}`;
  if (variant === 'recursive') return `a smaller c or a higher l in recursive (c,l)-diversity, or ${t}`;
  return `entropy l-diversity (variant: entropy) or recursive (c,l)-diversity (variant: recursive, e.g. c = 3) caps the share of the most frequent value; ${t}`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
