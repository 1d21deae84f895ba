import { closeSync, existsSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { toErrorResponse } from '../../src/api/errors.js';
import { extractZipSafely, type ExtractWriter } from '../../src/api/zip.js';
import { tempDir } from './helpers.js';

/**
 * Issue 13, item 6: a zip upload that runs out of disk while it is extracted is DISK_FULL
 * (507), not "the zip archive could not be read" (400 ZIP_INVALID): the archive is fine.
 * The writes go to /dev/full, which fails every write with a real ENOSPC.
 */
const limits = { maxEntries: 100, maxTotalBytes: 4 * 1024 * 1024, maxRatio: 1100 };
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const fullDisk: ExtractWriter = {
  open: () => openSync('/dev/full', 'w'),
  write: (fd, chunk) => {
    writeSync(fd, chunk);
  },
  close: (fd) => closeSync(fd),
};

function upload(level: 0 | 9): { zip: string; dest: string } {
  const t = tempDir('veil-zip-full-');
  cleanups.push(t.cleanup);
  const zip = join(t.dir, 'upload.zip');
  writeFileSync(zip, zipSync({ 'a.dcm': [new Uint8Array(200_000).fill(7), { level }], 'b.dcm': [new Uint8Array(10).fill(1), { level }] }));
  return { zip, dest: join(t.dir, 'input') };
}

describe('zip extraction on a full disk', () => {
  it.each([0, 9] as const)('compression level %i: the ENOSPC comes through as DISK_FULL 507, and nothing is left', async (level) => {
    const { zip, dest } = upload(level);
    const error: unknown = await extractZipSafely(zip, dest, limits, '.dcm', fullDisk).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: unknown } | undefined)?.code).toBe('ENOSPC');
    const response = toErrorResponse(error);
    expect(response.status).toBe(507);
    expect(response.body.error.code).toBe('DISK_FULL');
    expect(existsSync(dest)).toBe(false);
  });

  it('a file that cannot be created (too many open files) is the server’s error, not ZIP_INVALID', async () => {
    const { zip, dest } = upload(9);
    const noFiles: ExtractWriter = {
      ...fullDisk,
      open: () => {
        throw Object.assign(new Error('too many open files'), { code: 'EMFILE', syscall: 'open' });
      },
    };
    const error: unknown = await extractZipSafely(zip, dest, limits, '.dcm', noFiles).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: unknown } | undefined)?.code).toBe('EMFILE');
    expect(existsSync(dest)).toBe(false);
  });
});
