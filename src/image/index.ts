/**
 * Public API of the pixel pipeline: burned-in text detection (DBNet), recognition (CTC),
 * PHI classification, redaction with verification, for plain images and DICOM frames.
 */
export { redactImages, type RedactImagesOptions } from './redactImages.js';
export type { ImageRunReport, ImageFileReport } from '../report/imageReport.js';
export { renderImageHtml, type ReviewThumbnail } from '../report/html/imageHtml.js';
export { reviewThumbnails } from './reviewThumbnails.js';
export { createDicomPixelCleaner } from './dicomCleaner.js';
export { createTextEngine, findText, cleanText, type TextEngine, type FoundText, type TextRecord } from './textPipeline.js';
export { classifyText, type Classification, type TextClass } from './phi/classify.js';
export { buildHeaderMatcher } from './phi/headerValues.js';
export type { Box, Raster8 } from './raster.js';
