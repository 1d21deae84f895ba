import { randomBytes } from 'node:crypto';
import { isVeilError, VeilError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import type { TabularReport } from '../../report/tabularReport.js';
import { beginRun, tabularNeedsKey, type AnonymizeOptions } from '../anonymize.js';
import { entitiesPerClass } from '../entities.js';
import { equivalenceClasses, type ClassIndex } from '../metrics/classes.js';
import { classStats } from '../metrics/privacy.js';
import { publishClasses } from '../publish.js';
import { riskRequirementMinimum } from '../risk/wire.js';
import { columnsTheReportReads, gatherTable, partitionRows, readRowPartitions, type PartitionRows } from './gather.js';
import { writeInterleaved } from './interleave.js';
import { distributionOf, outputPath, partitionPath, planPolicy, readOutcome, readPlan, type PartitionOutcome, type Plan } from './layout.js';

export interface MergeOptions {
  workDir: string;
  /** The policy the plan was made under (checked by its sha256). */
  policy: Policy;
  policyDir?: string;
  /** The anonymized CSV (input columns, input row order, input delimiter). */
  out: string;
  /** Also write the report as JSON here. */
  reportJson?: string;
  maxCellBytes?: number;
}

/**
 * The last step: the partitions' outputs put back in input order and checked against the
 * policy on the WHOLE table — k (in people with `entity`), l, t against the whole table's
 * distribution, the per-class risk threshold and the suppression limit — then the report
 * measured on the whole table exactly as a single-process run measures it, with how the table
 * was split (`distribution`). Fails with POLICY_UNSATISFIABLE when the merged table does not
 * meet the policy. Needs no key: the identifier columns come from the partitions' outputs.
 */
export async function mergePartitions(options: MergeOptions): Promise<TabularReport> {
  const { workDir, policy } = options;
  const started = performance.now();
  const plan = await readPlan(workDir);
  const tabular = planPolicy(plan, policy, workDir);
  const outcomes = [];
  for (const partition of plan.partitions) outcomes.push(await readOutcome(workDir, plan, partition.index));
  const partOf = await readRowPartitions(workDir, plan);
  const rows = partitionRows(plan, partOf);
  const suppressed = suppressedRows(plan, partOf, outcomes);
  // Only what the check and the report read: the classes and labels of the output (its
  // quasi-identifier columns, dropped once measured), and the input's columns the measures look
  // at (not the identifiers removed, not the columns dropped). The CSV itself is copied from the
  // partitions' outputs at the end, record by record.
  const dimensionColumns = tabular.quasiIdentifiers.map((q) => plan.header.indexOf(q.column));
  const { classes, labels } = await outputClasses(plan, rows, workDir, dimensionColumns, suppressed, options.maxCellBytes);
  const original = await gatherTable(plan, rows, (p) => partitionPath(workDir, p), columnsTheReportReads(plan.header, tabular), options.maxCellBytes);
  const readMs = performance.now() - started;

  // The identifier columns publishClasses recomputes are discarded (the partitions' are
  // written), so a throwaway key stands in for the real one.
  const runOptions: AnonymizeOptions = {
    baseDir: options.policyDir ?? policy.source.baseDir,
    policyFile: policy.source.file,
    secret: tabularNeedsKey(tabular) ? randomBytes(32) : undefined,
    policyInfo: { name: policy.name, version: policy.version, sha256: policy.source.sha256 },
  };
  const { prepared, models, secret, timing, lap } = beginRun(original, tabular, runOptions);
  const stats = classStats(classes, prepared.sensitive, plan.rows);
  const people = prepared.entities ? entitiesPerClass(classes, prepared.entities) : undefined;
  const published = people ? stats.map((s, c) => ({ ...s, entities: people[c] })) : stats;
  checkWhole(tabular, runOptions.policyFile, models.map((m) => m.measure(published)), published, suppressed, riskRequirementMinimum(tabular, runOptions.policyFile));
  lap('check');

  const { report } = publishWhole(() => publishClasses(original, tabular, runOptions, { prepared, models, classOf: classes.classOf, labels, secret, timing, lap, started: performance.now() }), runOptions.policyFile);
  report.distribution = distributionOf(plan);
  report.notes.push(`Distributed run: the table was cut centrally into ${plan.partitions.length} partition${plan.partitions.length === 1 ? '' : 's'} of at most ${plan.maxPartitionRows} rows (where the policy allowed), each anonymized alone; every guarantee above is measured on the whole merged table.`, ...plan.notes);
  const writeStarted = performance.now();
  await writeInterleaved({ out: options.out, header: plan.header, delimiter: plan.delimiter, partOf, files: plan.partitions.map((p) => outputPath(workDir, p.index)) });
  const { total: _measureTotal, ...steps } = report.timingMs;
  report.timingMs = { ...prefixed('plan.', plan.timingMs), read: round(readMs), ...steps, write: round(performance.now() - writeStarted) };
  report.timingMs.total = round(performance.now() - started);
  if (options.reportJson) await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** 1 for each input row a partition suppressed (its outcome lists them by partition row). */
function suppressedRows(plan: Plan, partOf: Uint32Array, outcomes: readonly PartitionOutcome[]): Uint8Array {
  const suppressed = new Uint8Array(plan.rows);
  const local = new Int32Array(plan.partitions.length);
  const suppressedLocal = outcomes.map((o) => new Set(o.suppressedRows));
  for (let r = 0; r < plan.rows; r++) if (suppressedLocal[partOf[r]].has(local[partOf[r]]++)) suppressed[r] = 1;
  return suppressed;
}

/**
 * The equivalence classes of the merged output and each class's label on every
 * quasi-identifier, from the outputs' quasi-identifier columns alone; the table is dropped
 * when this returns, before the input's columns are read.
 */
async function outputClasses(plan: Plan, rows: PartitionRows, workDir: string, dimensionColumns: readonly number[], suppressed: Uint8Array, maxCellBytes: number | undefined): Promise<{ classes: ClassIndex; labels: string[][] }> {
  const output = await gatherTable(plan, rows, (p) => outputPath(workDir, p), new Set(dimensionColumns), maxCellBytes);
  const classes = equivalenceClasses(output, dimensionColumns, suppressed);
  const labels = dimensionColumns.map((col) => {
    const column = output.columns[col];
    return Array.from({ length: classes.count }, (_, c) => column.dictionary[column.codes[classes.order[classes.starts[c]]]]);
  });
  return { classes, labels };
}

function checkWhole(
  tabular: NonNullable<Policy['tabular']>,
  policyFile: string | undefined,
  requirements: readonly { field: string; required: number; achieved: number | null; satisfied: boolean }[],
  published: readonly { size: number; entities?: number }[],
  suppressed: Uint8Array,
  riskMinimum: number,
): void {
  const n = suppressed.length;
  const count = suppressed.reduce((a, b) => a + b, 0);
  if (count > Math.floor(tabular.privacy.suppressionLimit * n)) {
    throw new VeilError('POLICY_UNSATISFIABLE', `the merged table has ${count} suppressed records, more than the limit of ${tabular.privacy.suppressionLimit * 100}%`, { file: policyFile, field: 'tabular.privacy.suppressionLimit' });
  }
  for (const r of requirements) {
    if (!r.satisfied) throw new VeilError('POLICY_UNSATISFIABLE', `the merged table does not meet ${r.field} (required ${r.required}, achieved ${r.achieved ?? 'nothing'})`, { file: policyFile, field: r.field });
  }
  const smallest = published.reduce((min, s) => Math.min(min, s.entities ?? s.size), Number.POSITIVE_INFINITY);
  if (smallest < riskMinimum) {
    throw new VeilError('POLICY_UNSATISFIABLE', `the merged table has a class of ${smallest}, under the ${riskMinimum} the risk threshold needs`, { file: policyFile, field: 'tabular.privacy.riskThreshold' });
  }
}

/**
 * publishClasses measures the riskThreshold measures that need the whole table (journalist,
 * marketer, averages) and treats a miss as a bug, since a single run's Mondrian ensures them:
 * here a miss means the merged table does not meet the policy.
 */
function publishWhole<T>(publish: () => T, policyFile: string | undefined): T {
  try {
    return publish();
  } catch (error) {
    if (isVeilError(error) || !(error instanceof Error) || !error.message.startsWith('the output does not meet the policy')) throw error;
    throw new VeilError('POLICY_UNSATISFIABLE', 'the merged table does not meet a riskThreshold of the policy measured on the whole table', { file: policyFile, field: 'tabular.privacy.riskThreshold' });
  }
}

function prefixed(prefix: string, timing: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(timing).map(([name, ms]) => [`${prefix}${name}`, ms]));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
