import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

/** A temp path beside `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.veil-tmp-${randomBytes(6).toString('hex')}-${basename(target)}`);
}

/** Writes `data` to `target` atomically: readers see the old file or the whole new one. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    await writeFile(temp, data);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * A write stream to a temp file that becomes `target` on `commit()`; `abort()` removes it.
 * Use for outputs produced incrementally (CSV rows, archives).
 */
export interface AtomicStream {
  stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function openAtomicStream(target: string): Promise<AtomicStream> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  const stream = createWriteStream(temp);
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
  });
  // Only commit() cares how the stream ended: after abort() a write still in the fs thread
  // fails with ERR_STREAM_DESTROYED, which must not surface as an unhandled rejection.
  finished.catch(() => undefined);
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  return {
    stream,
    async commit() {
      if (!stream.writableEnded) stream.end();
      await finished;
      await rename(temp, target);
    },
    async abort() {
      stream.destroy();
      // the descriptor closed first, so no late write lands in the temp file after it is removed
      await closed;
      await rm(temp, { force: true });
    },
  };
}
