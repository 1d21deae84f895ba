import { isVeilError } from '../errors.js';

/** Exit codes of the `veil` command. */
export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;

/**
 * Runs a command body: user errors become one stderr line and exit 2, never a stack trace;
 * anything else is an internal error (exit 1), with the stack only when VEIL_DEBUG is set.
 */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = code ?? EXIT_OK;
  } catch (error) {
    if (isVeilError(error)) {
      process.stderr.write(`veil: ${error.toLine()}\n`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`veil: internal error: ${message.split('\n')[0]}\n`);
    if (process.env.VEIL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}
