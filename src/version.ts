/** Veil's version, written into every report. Kept in step with package.json by a test. */
export const VEIL_VERSION = '0.1.0';
