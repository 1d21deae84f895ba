import { createWriteStream } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { JobError } from './jobStore.js';

/**
 * The server's edge to the disk under its data dir: how much room is left, and the stream
 * uploads are written through. Passed in the context, so tests can inject a full disk (an
 * ENOSPC from /dev/full, a probe answering a few bytes) without filling a real one.
 */
export interface DiskAccess {
  /** Bytes an unprivileged process may still write on the file system holding `path`. */
  freeBytes(path: string): Promise<number>;
  createWriteStream(path: string): Writable;
}

export const realDisk: DiskAccess = {
  async freeBytes(path) {
    const stats = await statfs(path);
    return stats.bavail * stats.bsize;
  },
  createWriteStream: (path) => createWriteStream(path, { flags: 'wx' }),
};

/** Error codes meaning "no room left": the file system (ENOSPC), a quota (EDQUOT) or SQLite. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `error` (or an error it wraps) says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A job that ran out of space: its own code (HTTP 507), not a crash or an internal error. */
export const DISK_FULL_FAILURE: JobError = { code: 'DISK_FULL', message: 'the server ran out of disk space while running this job; retry once space is freed' };
