import { VeilError } from '../errors.js';
import { checkOutputPaths, type OutputKind } from '../io/outputPath.js';

/** `--jobs N`: a whole number of worker threads, or undefined for the default (one per core). */
export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new VeilError('USAGE', 'expected a whole number from 1 to 64', { field: '--jobs' });
  return n;
}

type OutputEntry = { path: string | undefined; field: string; kind?: OutputKind };
type InputEntry = { path: string | undefined; what: string };

/**
 * Checks, before any work, the paths a command writes: its own outputs plus the `--report`
 * and `--html` every command has, none of which may be a file the run reads (its policy, plus
 * `inputs`). See checkOutputPaths.
 */
export function checkCommandPaths(
  flags: { policy: string; report?: string; html?: string },
  outputs: readonly OutputEntry[],
  inputs: readonly InputEntry[] = [],
): Promise<void> {
  return checkOutputPaths(
    [...outputs, { path: flags.report, field: '--report' }, { path: flags.html, field: '--html' }],
    [{ path: flags.policy, what: 'the policy' }, ...inputs],
  );
}
