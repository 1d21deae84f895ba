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
    const fileSystem = fileSystemProblem(error);
    if (fileSystem) {
      process.stderr.write(`veil: ${fileSystem}\n`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`veil: internal error: ${message.split('\n')[0]}\n`);
    if (process.env.VEIL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}

/** What the machine refused, in words, for errors of the file system rather than of Veil. */
const FILE_SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way (a folder was to be created there)',
  EISDIR: 'is a folder, not a file',
  EMFILE: 'too many open files',
};

/**
 * A file-system failure (a full disk, a read-only or locked folder) is the machine's
 * answer, not a bug: one line naming the path, exit 2. Paths are the user's own.
 */
function fileSystemProblem(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return undefined;
  const words = FILE_SYSTEM_ERRORS[error.code];
  if (!words) return undefined;
  const path = 'path' in error && typeof error.path === 'string' ? error.path : undefined;
  return path ? `${path}: ${words}` : words;
}
