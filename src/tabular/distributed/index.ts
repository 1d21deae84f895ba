/**
 * Distributed Mondrian, as file steps any worker can run (src/tabular/distributed): plan the
 * top cuts centrally, anonymize each partition alone, merge and check on the whole table.
 */
export { planPartitions, type PlanOptions } from './plan.js';
export { anonymizePartition, type PartitionOptions } from './partition.js';
export { mergePartitions, type MergeOptions } from './merge.js';
export { anonymizeCsvDistributed, type DistributedCsvOptions } from './run.js';
export { readPlan, planPath, partitionPath, outputPath, outcomePath, type Plan, type PlanPartition, type PartitionOutcome } from './layout.js';
