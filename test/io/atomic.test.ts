import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAtomicStream } from '../../src/io/atomic.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'veil-atomic-'));
  dirs.push(dir);
  return dir;
}

describe('openAtomicStream', () => {
  it('commit makes the whole file appear under its name, and no temp file is left', async () => {
    const dir = await tempDir();
    const target = await openAtomicStream(join(dir, 'out.csv'));
    target.stream.write('a,b\n1,2\n');
    await target.commit();
    expect(await readdir(dir)).toEqual(['out.csv']);
  });

  it('abort while writes are still in flight leaves nothing behind and no unhandled rejection', async () => {
    const dir = await tempDir();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let round = 0; round < 20; round++) {
        const target = await openAtomicStream(join(dir, `out-${round}.csv`));
        // the file open, so that the writes below go to the fs thread at once
        await new Promise((resolve) => target.stream.once('ready', resolve));
        // large writes so that one is being written by the fs thread when abort destroys the stream
        for (let i = 0; i < 4; i++) target.stream.write(Buffer.alloc(4 << 20, 0x61));
        await new Promise((resolve) => setImmediate(resolve));
        await target.abort();
      }
      // a rejection is reported as unhandled a turn after it happens
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled.map(String)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
