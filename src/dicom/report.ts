/*
 * The DICOM report model lives in src/report/dicomReport.ts with Veil's other reports; this
 * path re-exports it (and the HTML renderer) for the engine's existing imports.
 */
export * from '../report/dicomReport.js';

/** The HTML report, on the shared page skeleton of Veil's reports (src/report/html). */
export { renderDicomHtml as renderHtml } from '../report/html/dicomHtml.js';
