/**
 * Veil's public library API (package entry `veil`). The CLI (src/cli) and the HTTP API
 * (src/api) are thin layers over the same folder indexes. The HTTP server has its own entry,
 * `veil/server` (src/api/index.ts), so that using the library never loads Express; each
 * engine also has its own (`veil/tabular`, `veil/dicom`, `veil/image`) for users who need one.
 */
export { VeilError, isVeilError, type ErrorCode, type ErrorLocation } from './errors.js';
export * from './policy/index.js';
export { loadSecret, keyedDigest } from './secret/key.js';
export { writeFileAtomic, openAtomicStream } from './io/atomic.js';
export { VEIL_VERSION } from './version.js';

// Tables: Mondrian k-anonymity, l-diversity, t-closeness, metrics and reports.
export * from './tabular/index.js';
// DICOM de-identification (PS3.15 profile, pseudonyms, cohort k-anonymity).
export * from './dicom/index.js';
// Pixels: burned-in text and faces in images and DICOM frames.
export * from './image/index.js';
export { createFaceDetector, hideFaces, type FaceDetection, type FaceDetector, type FaceAction } from './image/faces/index.js';
