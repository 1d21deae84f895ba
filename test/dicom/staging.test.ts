import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory, openDicomWorkers, type PixelCleanerFactory } from '../../src/dicom/index.js';
import type { DicomPixelResult } from '../../src/dicom/pixelCleaner.js';
import { VeilError } from '../../src/errors.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { SECRET, repoRoot, sharedDicom } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-staging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const policy = unwrap(parsePolicy('name: t\nversion: 1\ndicom: { profile: basic }\n', { file: 't.yaml', baseDir: repoRoot }));

/** An input tree with a subfolder: a/CT_small.dcm, a/b/MR_small.dcm. */
function tree(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'b'), { recursive: true });
  copyFileSync(path.join(sharedDicom, 'CT_small.dcm'), path.join(dir, 'CT_small.dcm'));
  copyFileSync(path.join(sharedDicom, 'MR_small.dcm'), path.join(dir, 'b', 'MR_small.dcm'));
  return dir;
}

/** Names beside `dir` left by a run (staging folders start with .veil-tmp-). */
function leftovers(dir: string): string[] {
  return readdirSync(path.dirname(dir)).filter((name) => name.startsWith('.veil-tmp-'));
}

/** Every entry under `dir` with its bytes (folders as null). */
function snapshot(dir: string): Record<string, string | null> {
  const entries: Record<string, string | null> = {};
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const full = path.join(dir, name);
    entries[name] = statSync(full).isDirectory() ? null : readFileSync(full).toString('base64');
  }
  return entries;
}

describe('outputs staged in one folder, renamed into place at the end', () => {
  it('fills a missing --out whole, and an empty one keeping its permissions, with no staging folder left', async () => {
    const input = tree('in-1');
    const parent = path.join(work, 'out-1');
    mkdirSync(parent);
    const missing = path.join(parent, 'missing');
    await deidentifyDicomDirectory({ policy, input, output: missing, secret: SECRET, jobs: 1 });
    expect(readdirSync(missing, { recursive: true }).map(String).sort()).toEqual(['CT_small.dcm', 'b', path.join('b', 'MR_small.dcm')]);
    expect(leftovers(missing)).toEqual([]);

    const empty = path.join(parent, 'empty');
    mkdirSync(empty);
    chmodSync(empty, 0o750);
    await deidentifyDicomDirectory({ policy, input, output: empty, secret: SECRET, jobs: 1 });
    expect(statSync(empty).mode & 0o777).toBe(0o750);
    // the same bytes as the run into the missing folder
    expect(readFileSync(path.join(empty, 'b', 'MR_small.dcm'))).toEqual(readFileSync(path.join(missing, 'b', 'MR_small.dcm')));
    expect(leftovers(empty)).toEqual([]);
  });

  it('merges into an --out that already holds files at the end, and keeps them', async () => {
    const input = tree('in-2');
    const out = path.join(work, 'out-2');
    mkdirSync(out);
    writeFileSync(path.join(out, 'keep.txt'), 'mine\n');
    await deidentifyDicomDirectory({ policy, input, output: out, secret: SECRET, jobs: 1 });
    expect(readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(out, 'b', 'MR_small.dcm'))).toBe(true);
    expect(readdirSync(out, { recursive: true }).map(String).some((name) => name.includes('.veil-tmp-'))).toBe(false);
  });

  it('leaves --out as it was when the run fails, and removes its staging folder', async () => {
    const input = tree('in-3');
    const out = path.join(work, 'out-3');
    const workers = await openDicomWorkers({ jobs: 1 });
    await workers.close();
    await expect(deidentifyDicomDirectory({ policy, input, output: out, secret: SECRET, workers })).rejects.toMatchObject({ code: 'USAGE' });
    expect(existsSync(out)).toBe(false);
    expect(leftovers(out)).toEqual([]);
  });

  it('leaves an --out that already holds files as it was when a model fails after files were de-identified', async () => {
    const input = tree('in-5');
    const out = path.join(work, 'out-5');
    mkdirSync(path.join(out, 'b'), { recursive: true });
    writeFileSync(path.join(out, 'keep.txt'), 'mine\n');
    // an output of an earlier run under the same name: not replaced by a run that fails
    writeFileSync(path.join(out, 'CT_small.dcm'), 'earlier\n');
    const before = snapshot(out);
    // in-thread cleaner: the first file passes, the model "fails to load" on the second (as a
    // model whose sha256 does not match is found only when it loads)
    let calls = 0;
    const failingSecond: PixelCleanerFactory = async () => ({
      async clean(): Promise<DicomPixelResult> {
        if (++calls === 2) throw new VeilError('MODEL_INVALID', 'the model file does not match the sha256 in its manifest', { file: 'models/x.onnx' });
        return { action: 'unchanged', report: { scanned: false, reason: 'test double', regions: [], transferSyntax: 'kept', verification: 'not-run', ms: 0 } };
      },
      async close() {},
    });
    const pixelPolicy = unwrap(parsePolicy('name: p\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: always } }\n', { file: 'p.yaml', baseDir: repoRoot }));
    await expect(deidentifyDicomDirectory({ policy: pixelPolicy, input, output: out, secret: SECRET, jobs: 1, pixelCleaner: failingSecond })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(calls).toBe(2);
    expect(snapshot(out)).toEqual(before);
  });

  it('a long-lived pool writes again into a subfolder removed since its last run', async () => {
    const input = tree('in-4');
    const out = path.join(work, 'out-4');
    mkdirSync(out);
    writeFileSync(path.join(out, 'keep.txt'), 'mine\n');
    const workers = await openDicomWorkers({ jobs: 1 });
    try {
      await deidentifyDicomDirectory({ policy, input, output: out, secret: SECRET, workers });
      rmSync(path.join(out, 'b'), { recursive: true });
      const report = await deidentifyDicomDirectory({ policy, input, output: out, secret: SECRET, workers });
      expect(report.totals.ok).toBe(2);
      expect(existsSync(path.join(out, 'b', 'MR_small.dcm'))).toBe(true);
    } finally {
      await workers.close();
    }
  });
});
