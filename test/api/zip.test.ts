import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { extractZipSafely, isUnsafeEntryName, zipDirectory } from '../../src/api/zip.js';
import { tempDir } from './helpers.js';

const limits = { maxEntries: 100, maxTotalBytes: 4 * 1024 * 1024, maxRatio: 1100 };
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function scratch(): string {
  const t = tempDir('veil-zip-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A zip whose entry names we choose freely (fflate writes them as given). */
function writeZip(dir: string, entries: Record<string, Uint8Array>, level: 0 | 9 = 9): string {
  const path = join(dir, 'upload.zip');
  writeFileSync(path, zipSync(Object.fromEntries(Object.entries(entries).map(([n, d]) => [n, [d, { level }]]))));
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('isUnsafeEntryName', () => {
  it('flags absolute, parent, backslash and drive paths', () => {
    for (const name of ['../a.dcm', 'a/../../b', '/etc/passwd', 'C:/x', 'a\\..\\b', 'x\0y']) expect(isUnsafeEntryName(name)).toBe(true);
    for (const name of ['a.dcm', 'study/series/1.dcm', 'a..b.dcm']) expect(isUnsafeEntryName(name)).toBe(false);
  });
});

describe('extractZipSafely', () => {
  it('writes entries under numbered names, skipping folders and hidden files', async () => {
    const dir = scratch();
    const zip = writeZip(dir, { 'Doe^John/1.dcm': strToU8('first'), 'Doe^John/2.dcm': strToU8('second'), '__MACOSX/._1.dcm': strToU8('junk'), '.DS_Store': strToU8('junk') });
    const out = join(dir, 'out');
    const written = await extractZipSafely(zip, out, limits, '.dcm');
    expect(readdirSync(out).sort()).toEqual(['000001.dcm', '000002.dcm']);
    expect(written.map((p) => readFileSync(p, 'utf8'))).toEqual(['first', 'second']);
  });

  it('refuses path traversal and leaves nothing behind', async () => {
    const dir = scratch();
    const zip = writeZip(dir, { 'ok.dcm': strToU8('a'), '../../evil.dcm': strToU8('b') });
    const out = join(dir, 'out');
    const error = await refusal(extractZipSafely(zip, out, limits));
    expect(error.status).toBe(400);
    expect(error.code).toBe('ZIP_UNSAFE');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, '..', 'evil.dcm'))).toBe(false);
  });

  it('stops a zip bomb at the expansion limit (413)', async () => {
    const dir = scratch();
    const zip = writeZip(dir, { 'zeros.bin': new Uint8Array(16 * 1024 * 1024) });
    expect(readFileSync(zip).length).toBeLessThan(100_000);
    const error = await refusal(extractZipSafely(zip, join(dir, 'out'), limits));
    expect(error.status).toBe(413);
  });

  it('refuses a ratio beyond the limit even under the total cap', async () => {
    const dir = scratch();
    const zip = writeZip(dir, { 'zeros.bin': new Uint8Array(3 * 1024 * 1024) });
    const error = await refusal(extractZipSafely(zip, join(dir, 'out'), { ...limits, maxRatio: 50 }));
    expect(error.status).toBe(413);
  });

  it('refuses too many entries, corrupt and empty archives', async () => {
    const dir = scratch();
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}`, strToU8('x')]));
    expect((await refusal(extractZipSafely(writeZip(dir, many), join(dir, 'o1'), { ...limits, maxEntries: 4 }))).status).toBe(413);
    const corrupt = join(dir, 'corrupt.zip');
    const bytes = zipSync({ a: [new Uint8Array(50_000).fill(7), { level: 9 }] });
    writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect((await refusal(extractZipSafely(corrupt, join(dir, 'o2'), limits))).status).toBe(400);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect((await refusal(extractZipSafely(writeZip(empty, {}), join(dir, 'o3'), limits))).code).toBe('ZIP_EMPTY');
  });
});

describe('zipDirectory', () => {
  it('round-trips a folder tree', async () => {
    const dir = scratch();
    const src = join(dir, 'src');
    mkdirSync(join(src, 'a', 'b'), { recursive: true });
    writeFileSync(join(src, 'top.txt'), 'top');
    writeFileSync(join(src, 'a', 'b', 'deep.bin'), new Uint8Array([1, 2, 3]));
    const target = join(dir, 'out.zip');
    expect(await zipDirectory(src, target)).toBe(2);
    const files = unzipSync(readFileSync(target));
    expect(Object.keys(files).sort()).toEqual(['a/b/deep.bin', 'top.txt']);
    expect(Buffer.from(files['top.txt']).toString()).toBe('top');
    expect([...files['a/b/deep.bin']]).toEqual([1, 2, 3]);
  });
});
