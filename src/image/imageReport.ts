/*
 * The image report model lives in src/report/imageReport.ts with Veil's other reports; this
 * path re-exports it for the engine's existing imports.
 */
export * from '../report/imageReport.js';
