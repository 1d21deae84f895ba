/** DICOM de-identification: Veil's library API for src/cli, src/api and src/index.ts. */
export { deidentifyDicomDirectory, type DeidentifyDirectoryOptions } from './run.js';
export type { DicomRunReport, DicomFileRecord, CohortSummary } from '../report/dicomReport.js';
export type { PixelCleanerFactory } from './pixelStep.js';
export type { FileResult, FileStatus } from './file.js';
export { readDicom } from './codec/read.js';
export { writeDicom } from './codec/write.js';
export { remapUid } from './uids.js';
export { PROFILE_TABLE, PROFILE_EDITION } from './profile/table.js';
export { openDicomWorkers, type DicomWorkers } from './pool.js';
