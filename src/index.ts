/**
 * Veil's public library API. The CLI (src/cli) and the HTTP API (src/api) are thin layers
 * over what is exported here.
 */
export { VeilError, isVeilError, type ErrorCode, type ErrorLocation } from './errors.js';
export { loadPolicy, parsePolicy, type Policy, type PolicyIssue, type PolicyResult } from './policy/load.js';
export { policySchema, type PolicyDocument } from './policy/schema.js';
export { loadSecret, keyedDigest } from './secret/key.js';
export { writeFileAtomic, openAtomicStream } from './io/atomic.js';
export { policyJsonSchema } from './policy/jsonSchema.js';
export { VEIL_VERSION } from './version.js';

// Tables: Mondrian k-anonymity, l-diversity, t-closeness, metrics and reports.
export * from './tabular/index.js';
// DICOM de-identification (PS3.15 profile, pseudonyms, cohort k-anonymity).
export * from './dicom/index.js';
// Pixels: burned-in text and faces in images and DICOM frames.
export * from './image/index.js';
export { createFaceDetector, hideFaces, type FaceDetection, type FaceDetector, type FaceAction } from './image/faces/index.js';
// The HTTP API over the same library.
export { createApi, startServer, type ApiOptions, type Api, type RunningServer } from './api/server.js';
export { tightenPrivacy } from './policy/tighten.js';
