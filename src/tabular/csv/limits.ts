/**
 * Largest CSV cell read by default: 1 MiB of UTF-8. Real cells (codes, dates, notes) are far
 * smaller; a larger one is refused (CSV_CELL_TOO_LARGE) naming its line and column. The CLI's
 * `--max-cell-bytes` and the API's runner option change it. A module of its own, so the CLI
 * can show it in `--help` without loading the reader.
 */
export const DEFAULT_MAX_CELL_BYTES = 1024 * 1024;
