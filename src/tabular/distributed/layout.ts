import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VeilError } from '../../errors.js';
import type { Policy } from '../../policy/load.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import type { TabularDistribution } from '../../report/tabularReport.js';
import type { Delimiter } from '../csv/delimiter.js';

/*
 * The work directory of a distributed run, shared by every worker (a local folder or any
 * POSIX mount):
 *   plan.json            the plan, written last: its presence means the partitions are complete
 *   rows.bin             partition of every input row (uint32 little-endian), for the merge
 *   partitions/<i>.csv   the input rows of partition i, in input order
 *   out/<i>.csv          partition i anonymized (same rows, same order)
 *   out/<i>.json         its measures (PartitionOutcome)
 * Every file is written atomically, so a retried step replaces a file and never leaves half of one.
 */

export const PLAN_FORMAT = 'veil-distributed-plan/1';

export interface PlanPartition {
  index: number;
  rows: number;
  /** Distinct people, when the policy names an entity column. */
  people?: number;
  /** The label of the partition's range on each quasi-identifier (as a class label would read). */
  covers: Record<string, string>;
}

/** The whole table's distribution of a sensitive column, which t-closeness measures every class against. */
export interface WholeSensitive {
  column: string;
  /** The column's values in the engine's order (codes are indices into this). */
  texts: string[];
  counts: number[];
}

/**
 * A quasi-identifier's extent in the whole table. Mondrian picks the dimension to cut by its
 * width relative to the whole column; a partition measured against its own extent would pick
 * differently, so every partition is given these.
 */
export interface WholeDimension {
  column: string;
  domainDistinct: number;
  /** Numeric columns: smallest and largest number. */
  domainMin?: number;
  domainMax?: number;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  /** Random per plan: a partition outcome of another plan is never merged into this one. */
  planId: string;
  input: string;
  rows: number;
  people?: number;
  delimiter: Delimiter;
  header: string[];
  maxPartitionRows: number;
  /** sha256 of the policy the plan was made under; every step checks it gets the same. */
  policySha256: string;
  partitions: PlanPartition[];
  sensitive: WholeSensitive[];
  dimensions: WholeDimension[];
  /**
   * Key of `randomize` identifiers for this run (hex): the same value gets the same random
   * pseudonym in every partition, and a new one in the next run. It never leaves the work dir.
   */
  randomKey: string;
  /** Why some partitions are larger than maxPartitionRows (no cut allowed by the policy). */
  notes: string[];
  /** Milliseconds spent by the planner: reading, cutting, writing the partitions. */
  timingMs: Record<string, number>;
}

/** What one partition's step measured (out/<i>.json); free of timings, so a rerun writes the same bytes. */
export interface PartitionOutcome {
  planId: string;
  index: number;
  rows: number;
  /** Rows of the partition (0-based, partition order) whose quasi-identifiers were suppressed. */
  suppressedRows: number[];
  classes: number;
  kAchieved: number | null;
  ncp: number;
  genILoss: number;
}

export const planPath = (workDir: string): string => join(workDir, 'plan.json');
export const rowsPath = (workDir: string): string => join(workDir, 'rows.bin');
export const partitionPath = (workDir: string, index: number): string => join(workDir, 'partitions', `${index}.csv`);
export const outputPath = (workDir: string, index: number): string => join(workDir, 'out', `${index}.csv`);
export const outcomePath = (workDir: string, index: number): string => join(workDir, 'out', `${index}.json`);

export async function readPlan(workDir: string): Promise<Plan> {
  const file = planPath(workDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'no plan in the work directory: run planPartitions first', { file });
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch {
    throw new VeilError('USAGE', 'the plan is not valid JSON', { file });
  }
  if (!isPlan(plan)) throw new VeilError('USAGE', `the plan is not a ${PLAN_FORMAT} file`, { file });
  return plan;
}

function isPlan(value: unknown): value is Plan {
  if (typeof value !== 'object' || value === null) return false;
  const plan = value as Partial<Plan>;
  return plan.format === PLAN_FORMAT && typeof plan.planId === 'string' && Array.isArray(plan.partitions) && typeof plan.rows === 'number' && Array.isArray(plan.sensitive) && Array.isArray(plan.dimensions);
}

export async function readOutcome(workDir: string, plan: Plan, index: number): Promise<PartitionOutcome> {
  const file = outcomePath(workDir, index);
  let outcome: PartitionOutcome;
  try {
    outcome = JSON.parse(await readFile(file, 'utf8')) as PartitionOutcome;
  } catch {
    throw new VeilError('FILE_NOT_FOUND', `partition ${index} has not been anonymized yet (run anonymizePartition)`, { file });
  }
  if (outcome.planId !== plan.planId || outcome.index !== index || outcome.rows !== plan.partitions[index].rows) {
    throw new VeilError('USAGE', `partition ${index} was anonymized under another plan: run anonymizePartition again`, { file });
  }
  return outcome;
}

/** The policy's tabular section, after checking it is the one the plan was made under. */
export function planPolicy(plan: Plan, policy: Policy, workDir: string): TabularPolicy {
  if (!policy.tabular) throw new VeilError('POLICY_INVALID', 'the policy has no tabular section', { file: policy.source.file, field: 'tabular' });
  if (policy.source.sha256 !== plan.policySha256) {
    throw new VeilError('USAGE', 'the policy is not the one the plan was made under: every step of a distributed run needs the same policy', { file: planPath(workDir) });
  }
  return policy.tabular;
}

export function indexInPlan(plan: Plan, index: number, workDir: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= plan.partitions.length) {
    throw new VeilError('USAGE', `partition ${index} is not in the plan (it has ${plan.partitions.length})`, { file: planPath(workDir) });
  }
}

export function distributionOf(plan: Plan): TabularDistribution {
  return {
    partitions: plan.partitions.length,
    maxPartitionRows: plan.maxPartitionRows,
    cuts: plan.partitions.map((p) => ({ partition: p.index, rows: p.rows, ...(p.people !== undefined ? { people: p.people } : {}), covers: p.covers })),
  };
}
