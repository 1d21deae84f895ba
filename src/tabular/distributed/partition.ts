import { VeilError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { keyedDigest } from '../../secret/key.js';
import { beginRun, type AnonymizeOptions, type AnonymizeResult } from '../anonymize.js';
import { readCsv } from '../csv/read.js';
import { writeCsv } from '../csv/write.js';
import type { Dimension } from '../dimensions.js';
import { representativeDimension } from '../entities.js';
import type { ClassStats, SensitiveAttribute } from '../models/model.js';
import { modelsForPolicy } from '../models/registry.js';
import { mondrian } from '../mondrian/mondrian.js';
import { publishClasses } from '../publish.js';
import { classLabels, classOfRows } from '../recode.js';
import { riskRequirementMinimum } from '../risk/wire.js';
import type { Column, Table } from '../table.js';
import { indexInPlan, outcomePath, outputPath, partitionPath, planPolicy, readPlan, type PartitionOutcome, type Plan, type WholeDimension, type WholeSensitive } from './layout.js';

export interface PartitionOptions {
  workDir: string;
  index: number;
  /** The policy the plan was made under (checked by its sha256). */
  policy: Policy;
  policyDir?: string;
  /** Pseudonymization key, when the policy pseudonymizes a column. */
  secret?: Buffer;
  maxCellBytes?: number;
}

/**
 * Anonymizes partition `index` of a plan with the single-process engine, under the same
 * policy: t-closeness is measured against the whole table's distribution (from the plan), the
 * suppression limit applies to the partition's own rows (so the budgets add up to at most the
 * whole table's). Writes out/<i>.csv and out/<i>.json atomically; the same inputs give the
 * same bytes, so a retried step simply replaces them.
 */
export async function anonymizePartition(options: PartitionOptions): Promise<PartitionOutcome> {
  const { workDir, index, policy } = options;
  const plan = await readPlan(workDir);
  const tabular = planPolicy(plan, policy, workDir);
  indexInPlan(plan, index, workDir);
  const file = partitionPath(workDir, index);
  const { table } = await readCsv(file, { delimiter: plan.delimiter, maxCellBytes: options.maxCellBytes });
  if (table.rowCount !== plan.partitions[index].rows) {
    throw new VeilError('USAGE', `partition ${index} holds ${table.rowCount} rows where the plan says ${plan.partitions[index].rows}: make the plan again`, { file });
  }
  const result = anonymizeAgainstWhole(table, tabular, {
    baseDir: options.policyDir ?? policy.source.baseDir,
    policyFile: policy.source.file,
    secret: options.secret,
    policyInfo: { name: policy.name, version: policy.version, sha256: policy.source.sha256 },
  }, plan);
  const output = withRunRandomization(table, result.output, tabular, Buffer.from(plan.randomKey, 'hex'));
  await writeCsv(outputPath(workDir, index), output, plan.delimiter);
  const suppressedRows: number[] = [];
  result.suppressed.forEach((flag, row) => {
    if (flag) suppressedRows.push(row);
  });
  const { report } = result;
  const outcome: PartitionOutcome = {
    planId: plan.planId,
    index,
    rows: table.rowCount,
    suppressedRows,
    classes: report.classes.count,
    kAchieved: report.privacy.k.achieved,
    ncp: report.utility.ncp,
    genILoss: report.utility.genILoss,
  };
  await writeFileAtomic(outcomePath(workDir, index), `${JSON.stringify(outcome)}\n`);
  return outcome;
}

/**
 * anonymizeTable's flow on one partition, with the models of the WHOLE table: a class's
 * sensitive distribution is compared with the whole table's (t-closeness), and a partition that
 * cannot meet the policy alone is suppressed only within its share of the suppression limit.
 */
function anonymizeAgainstWhole(table: Table, tabular: TabularPolicy, options: AnonymizeOptions, plan: Plan): AnonymizeResult {
  const { prepared: local, secret, timing, lap, started } = beginRun(table, tabular, options);
  const tMatters = tabular.privacy.t !== undefined;
  const sensitive = local.sensitive.map((s, i) => againstWhole(s, plan.sensitive[i], tMatters, `tabular.sensitive.${i}.hierarchy`, options.policyFile));
  const prepared = { ...local, sensitive, dimensions: local.dimensions.map((dim, d) => withWholeExtent(dim, plan.dimensions[d])) };
  const { dimensions, entities } = prepared;
  const n = table.rowCount;
  const wholeCounts = plan.sensitive.map((s, i) => (tMatters ? Int32Array.from(s.counts) : countCodes(sensitive[i], n)));
  const models = modelsForPolicy(tabular.privacy, sensitive, wholeCounts, tMatters ? plan.rows : n, entities?.column).list();
  const riskMinimum = riskRequirementMinimum(tabular, options.policyFile);
  const accepts = (stats: ClassStats) => {
    if ((stats.entities ?? stats.size) < riskMinimum) return false;
    for (const model of models) if (!model.accepts(stats)) return false;
    return true;
  };
  const mine: ClassStats = { size: n, counts: sensitive.map((s) => countCodes(s, n)), ...(entities ? { entities: entities.count } : {}) };
  // The planner only cuts where both sides meet the policy; a partition that does not is one
  // the whole table could not avoid either (everything suppressed), or a stale file.
  let suppressAll = false;
  if (!accepts(mine)) {
    const failing = models.find((m) => !m.accepts(mine));
    if (Math.floor(tabular.privacy.suppressionLimit * n) < n) {
      const reason = failing?.explainTableFailure(mine) ?? 'the partition does not meet the policy on its own';
      throw new VeilError('POLICY_UNSATISFIABLE', reason, { file: options.policyFile, field: failing?.policyField ?? 'tabular.privacy.riskThreshold' });
    }
    suppressAll = true;
  }
  const partitioning = suppressAll
    ? { perm: new Int32Array(0), bounds: new Int32Array(1) }
    : mondrian({
        rowCount: n,
        dimensions: entities ? dimensions.map((dim) => representativeDimension(dim, entities)) : dimensions,
        ...(entities ? { entities } : {}),
        sensitive: models.some((m) => m.usesSensitive) ? sensitive : [],
        accepts,
      });
  lap('partition');
  const classOf = classOfRows(partitioning, n);
  const labels = dimensions.map((dim) => classLabels(dim, partitioning.perm, partitioning.bounds));
  return publishClasses(table, tabular, options, { prepared, models, classOf, labels, secret, timing, lap, started });
}

/** The dimension as wide as in the whole table, so widths and NCP are relative to the whole column. */
function withWholeExtent(dim: Dimension, whole: WholeDimension): Dimension {
  if (dim.kind === 'numeric') return { ...dim, domainDistinct: whole.domainDistinct, domainMin: whole.domainMin ?? dim.domainMin, domainMax: whole.domainMax ?? dim.domainMax };
  return { ...dim, domainDistinct: whole.domainDistinct };
}

function countCodes(s: SensitiveAttribute, n: number): Int32Array {
  const counts = new Int32Array(s.cardinality);
  for (let r = 0; r < n; r++) counts[s.codes[r]]++;
  return counts;
}

/**
 * A partition's sensitive column coded as in the whole table (a partition may lack some
 * values), so its classes are compared with the whole table's distribution.
 */
function againstWhole(s: SensitiveAttribute, whole: WholeSensitive, tMatters: boolean, field: string, policyFile: string | undefined): SensitiveAttribute {
  if (s.texts.length === whole.texts.length && s.texts.every((text, i) => text === whole.texts[i])) return s;
  if (s.distance.kind === 'hierarchical') {
    if (!tMatters) return s;
    throw new VeilError('POLICY_INVALID', `sensitive column "${s.name}": t-closeness over a hierarchy built from the data cannot be measured partition by partition; give the hierarchy as a file (or a tree)`, { file: policyFile, field });
  }
  const index = new Map(whole.texts.map((text, i) => [text, i]));
  const byLocal = s.texts.map((text) => {
    const code = index.get(text);
    if (code === undefined) throw new VeilError('USAGE', `sensitive column "${s.name}" holds a value the plan never saw: make the plan again`, { field: s.name });
    return code;
  });
  return { ...s, codes: Int32Array.from(s.codes, (code) => byLocal[code]), cardinality: whole.texts.length, texts: whole.texts };
}

/**
 * `randomize` draws a fresh pseudonym per value in each run; across partitions of one run the
 * same value must get the same one, and a rerun the same bytes, so here it is keyed by the
 * run's random key (kept in the plan, never reused by another run).
 */
function withRunRandomization(input: Table, output: Table, tabular: TabularPolicy, runKey: Buffer): Table {
  const randomized = new Set(tabular.identifiers.filter((id) => id.action === 'randomize').map((id) => id.column));
  if (randomized.size === 0) return output;
  const missing = new Set(tabular.missingValues);
  const columns: Column[] = output.columns.map((column, c) => {
    if (!randomized.has(column.name)) return column;
    const original = input.columns[c];
    const dictionary = original.dictionary.map((value) => (missing.has(value) ? value : `R${keyedDigest(runKey, `veil/tabular/randomize/${column.name}`, value).subarray(0, 8).toString('hex').toUpperCase()}`));
    return { name: column.name, codes: original.codes, dictionary };
  });
  return { columns, rowCount: output.rowCount };
}
