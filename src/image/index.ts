/**
 * Public API of the pixel pipeline: burned-in text detection (DBNet), recognition (CTC),
 * PHI classification, redaction with verification, for plain images and DICOM frames.
 * src/dicom/pixels/ decodes DICOM frames and calls the raster-level parts below on 8-bit views.
 */
// planJobs and noUsableImage: the queue (src/api/queue) cuts an image job in chunks and merges their reports
export { redactImages, type RedactImagesOptions } from './redactImages.js';
export { noUsableImage, planJobs } from './plan.js';
export type { ImageRunReport, ImageFileReport } from '../report/imageReport.js';
export { renderImageHtml, type ReviewThumbnail } from '../report/html/imageHtml.js';
export { reviewThumbnails } from './reviewThumbnails.js';
export { createTextEngine, findText, cleanText, type CleanOptions, type TextEngine, type FoundText, type TextRecord } from './textPipeline.js';
export { classifyText, type Classification, type TextClass } from './phi/classify.js';
export { buildHeaderMatcher } from './phi/headerValues.js';
export type { Box, Raster8 } from './raster.js';
export type { TextInstance } from './text/instances.js';
export { createFaceDetector, fillFacesUntilGone, type FaceDetector } from './faces/index.js';
export { MAX_VERIFY_ROUNDS, REGION_MARGIN } from './redactFile.js';
export { NEVER_REASON } from '../report/notExamined.js';
// triage of `scan: auto` on 8-bit views (the DICOM side, frames and stored values: src/dicom/pixels/triage.ts)
export { detectStored, framesDiffer, hasText, nearWhiteTextRegions, primedEngine, storedEngine, triageFrame, type RasterLook, type TriageResult } from './triage.js';
