/** The tabular engine's public surface. */
export { anonymizeTable, type AnonymizeOptions, type AnonymizeResult } from './anonymize.js';
export { anonymizeCsvFile, applySchemeToCsvFile, type AnonymizeCsvOptions } from './file.js';
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
export { renderTabularHtml as renderHtmlReport } from '../report/html/tabularHtml.js';
export type { TabularReport } from '../report/tabularReport.js';
export {
  planPartitions, anonymizePartition, mergePartitions, anonymizeCsvDistributed, readPlan,
  type Plan, type PlanOptions, type PartitionOptions, type MergeOptions, type DistributedCsvOptions, type PartitionOutcome,
} from './distributed/index.js';
