/** The tabular engine's public surface. */
import type { TabularReport } from '../report/tabularReport.js';
import type { DistributedCsvOptions, MergeOptions, PartitionOptions, PartitionOutcome, Plan, PlanOptions } from './distributed/index.js';

export { anonymizeTable, decideTable, type AnonymizeOptions, type AnonymizeResult, type DecidedRun } from './anonymize.js';
export { anonymizeCsvFile, applySchemeToCsvFile, type AnonymizeCsvOptions } from './file.js';
export type { TabularDecision } from './publish.js';
export { applyScheme, type SchemeFit } from './scheme/apply.js';
export { parseScheme, type Scheme, type SchemeClass, type CoverRule } from './scheme/scheme.js';
export { encodeEntities, type Entities } from './entities.js';
export { readCsv, type CsvReadResult } from './csv/read.js';
export { writeCsv } from './csv/write.js';
export { tableFromRows, tableToRows, tableFromColumns, columnNames, type Table, type Column } from './table.js';
export { hierarchyFromPaths, type Hierarchy } from './hierarchy/hierarchy.js';
export { readArxHierarchy } from './hierarchy/arx.js';
export { mondrian, type Partitioning } from './mondrian/mondrian.js';
export { SUPPRESSED } from './recode.js';
export type { PrivacyModel, ClassStats } from './models/model.js';
export type { TabularReport } from '../report/tabularReport.js';
export { readPlan } from './distributed/layout.js';
export type { Plan, PlanOptions, PartitionOptions, MergeOptions, DistributedCsvOptions, PartitionOutcome };

// The HTML page and distributed Mondrian load on first use: a plain run (`veil tabular
// anonymize` without --html) needs neither, and every process would pay for loading them.

/** The HTML page of a tabular report (charts included). */
export async function renderHtmlReport(report: TabularReport): Promise<string> {
  return (await import('../report/html/tabularHtml.js')).renderTabularHtml(report);
}

/** Distributed Mondrian, step 1: the central plan of the top cuts (see src/tabular/distributed). */
export async function planPartitions(options: PlanOptions): Promise<Plan> {
  return (await import('./distributed/index.js')).planPartitions(options);
}

/** Distributed Mondrian, step 2: one partition, anonymized alone. */
export async function anonymizePartition(options: PartitionOptions): Promise<PartitionOutcome> {
  return (await import('./distributed/index.js')).anonymizePartition(options);
}

/** Distributed Mondrian, step 3: the partitions merged and checked on the whole table. */
export async function mergePartitions(options: MergeOptions): Promise<TabularReport> {
  return (await import('./distributed/index.js')).mergePartitions(options);
}

/** The three steps in one process, with worker threads. */
export async function anonymizeCsvDistributed(options: DistributedCsvOptions): Promise<TabularReport> {
  return (await import('./distributed/index.js')).anonymizeCsvDistributed(options);
}
