import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVeilError } from '../../src/errors.js';
import { checkOutputPath, checkOutputPaths } from '../../src/io/outputPath.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veil-outpath-'));
  await writeFile(join(dir, 'plain.txt'), 'x');
  await mkdir(join(dir, 'folder'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(run: Promise<void>): Promise<string> {
  try {
    await run;
  } catch (error) {
    if (isVeilError(error)) return error.toLine();
    throw error;
  }
  throw new Error('expected a failure');
}

describe('checkOutputPath', () => {
  it('accepts new files and folders whose missing parents can be created', async () => {
    await checkOutputPath(join(dir, 'new.json'), '--report');
    await checkOutputPath(join(dir, 'a', 'b', 'c.json'), '--report');
    await checkOutputPath(join(dir, 'plain.txt'), '--out');
    await checkOutputPath(join(dir, 'folder'), '--out', 'folder');
    await checkOutputPath(join(dir, 'folder'), '--out', 'either');
  });

  it('refuses a path under a regular file, naming the option and the path', async () => {
    const line = await failure(checkOutputPath(join(dir, 'plain.txt', 'sub', 'r.json'), '--report'));
    expect(line).toBe(`${join(dir, 'plain.txt', 'sub', 'r.json')}: --report: cannot be created: ${join(dir, 'plain.txt')} is a file, not a folder`);
  });

  it('refuses a folder where a file is written and a file where a folder is', async () => {
    expect(await failure(checkOutputPath(join(dir, 'folder'), '--html'))).toContain('--html: is a folder');
    expect(await failure(checkOutputPath(join(dir, 'plain.txt'), '--out', 'folder'))).toContain('--out: is a file');
  });

  // root may write anywhere: the permission check can only be seen as another user
  it.skipIf(process.getuid?.() === 0)('refuses a folder it may not write into', async () => {
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    try {
      expect(await failure(checkOutputPath(join(locked, 'r.json'), '--report'))).toContain('no permission');
    } finally {
      await chmod(locked, 0o700);
    }
  });

  it('checks every given output and skips options that were not used', async () => {
    await checkOutputPaths([{ path: undefined, field: '--html' }, { path: join(dir, 'ok.json'), field: '--report' }]);
    expect(await failure(checkOutputPaths([{ path: join(dir, 'ok.csv'), field: '--out' }, { path: join(dir, 'plain.txt', 'r.html'), field: '--html' }]))).toContain('--html');
  });

  it('refuses an output that is one of the files the run reads, naming which', async () => {
    const policy = join(dir, 'plain.txt');
    const line = await failure(checkOutputPaths([{ path: join(dir, 'out.csv'), field: '--out' }, { path: join(dir, '.', 'plain.txt'), field: '--report' }], [{ path: policy, what: 'the policy' }]));
    expect(line).toMatch(/plain\.txt: --report: is the policy, which this run reads: inputs are never overwritten/);
    await expect(checkOutputPaths([{ path: join(dir, 'other.json'), field: '--report' }], [{ path: policy, what: 'the policy' }, { path: undefined, what: 'the key file' }])).resolves.toBeUndefined();
  });
});
