import { VeilError } from '../errors.js';

/** `--jobs N`: a whole number of worker threads, or undefined for the default (one per core). */
export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new VeilError('USAGE', 'expected a whole number from 1 to 64', { field: '--jobs' });
  return n;
}
