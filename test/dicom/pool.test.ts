import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory, openDicomWorkers, type DicomWorkers } from '../../src/dicom/index.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { SECRET, repoRoot, sharedDicom } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-pool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// no pixels section: every file goes to the worker threads (from TypeScript sources too)
const policy = unwrap(parsePolicy('name: t\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates] }\n', { file: 't.yaml', baseDir: repoRoot }));
const OTHER_SECRET = Buffer.from('another-secret-for-veil-pool-0123456789');
const names = ['CT_small.dcm', 'MR_small.dcm', 'deid-data_ctbrain1.dcm', 'MR_small_bigendian.dcm', 'no_meta.dcm', 'MR_truncated.dcm', 'rtplan.dcm'];

function study(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const file of names) copyFileSync(path.join(sharedDicom, file), path.join(dir, file));
  return dir;
}

/** Every output file's bytes by relative name. */
function outputs(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(path.join(dir, name))]));
}

describe('a long-lived DICOM worker pool lent to several runs', () => {
  it('gives each run, one after the other or at once, the bytes a run with its own pool writes, and stays open until closed', async () => {
    const input = study('in');
    const alone = path.join(work, 'alone');
    const aloneReport = await deidentifyDicomDirectory({ policy, input, output: alone, secret: SECRET, jobs: 2 });
    const aloneOther = path.join(work, 'alone-other');
    await deidentifyDicomDirectory({ policy, input, output: aloneOther, secret: OTHER_SECRET, jobs: 2 });

    const workers = await openDicomWorkers({ jobs: 2 });
    expect(workers.jobs).toBe(2);
    try {
      const first = await deidentifyDicomDirectory({ policy, input, output: path.join(work, 'pooled-1'), secret: SECRET, workers });
      expect(first.totals).toEqual(aloneReport.totals);
      expect(first.files.map((f) => [f.input, f.status])).toEqual(aloneReport.files.map((f) => [f.input, f.status]));
      // two runs with different keys at once on the same threads: each keeps its own settings
      await Promise.all([
        deidentifyDicomDirectory({ policy, input, output: path.join(work, 'pooled-2'), secret: SECRET, workers }),
        deidentifyDicomDirectory({ policy, input, output: path.join(work, 'pooled-other'), secret: OTHER_SECRET, workers }),
      ]);
    } finally {
      await workers.close();
    }
    const expected = outputs(alone);
    expect(expected.size).toBeGreaterThan(3);
    expect(outputs(path.join(work, 'pooled-1'))).toEqual(expected);
    expect(outputs(path.join(work, 'pooled-2'))).toEqual(expected);
    const other = outputs(path.join(work, 'pooled-other'));
    expect(other).toEqual(outputs(aloneOther));
    expect(other.get('CT_small.dcm')).not.toEqual(expected.get('CT_small.dcm'));
  });

  it('with this thread as one of its jobs (the CLI), writes the same bytes, alone or with runs of another such pool at once', async () => {
    const input = study('in-this-thread');
    const alone = path.join(work, 'this-thread-alone');
    const aloneReport = await deidentifyDicomDirectory({ policy, input, output: alone, secret: SECRET, jobs: 2 });
    const expected = outputs(alone);
    const two = await openDicomWorkers({ jobs: 2, thisThread: true });
    // one job: this thread alone, no worker thread
    const one = await openDicomWorkers({ jobs: 1, thisThread: true });
    expect([two.jobs, one.jobs]).toEqual([2, 1]);
    try {
      const first = await deidentifyDicomDirectory({ policy, input, output: path.join(work, 'this-thread-1'), secret: SECRET, workers: two });
      expect(first.totals).toEqual(aloneReport.totals);
      expect(first.files).toEqual(aloneReport.files);
      // both pools' batches in this thread at once (one file at a time here), and another key
      const [solo] = await Promise.all([
        deidentifyDicomDirectory({ policy, input, output: path.join(work, 'this-thread-solo'), secret: SECRET, workers: one }),
        deidentifyDicomDirectory({ policy, input, output: path.join(work, 'this-thread-2'), secret: SECRET, workers: two }),
        deidentifyDicomDirectory({ policy, input, output: path.join(work, 'this-thread-other'), secret: OTHER_SECRET, workers: two }),
      ]);
      expect(solo.files).toEqual(aloneReport.files);
    } finally {
      await Promise.all([two.close(), one.close()]);
    }
    expect(outputs(path.join(work, 'this-thread-1'))).toEqual(expected);
    expect(outputs(path.join(work, 'this-thread-solo'))).toEqual(expected);
    expect(outputs(path.join(work, 'this-thread-2'))).toEqual(expected);
    expect(outputs(path.join(work, 'this-thread-other')).get('CT_small.dcm')).not.toEqual(expected.get('CT_small.dcm'));
  });

  it('refuses a closed pool and a handle that is not a pool, with a usage error', async () => {
    const input = study('in-refused');
    const workers = await openDicomWorkers({ jobs: 1 });
    await workers.close();
    await expect(deidentifyDicomDirectory({ policy, input, output: path.join(work, 'closed'), secret: SECRET, workers })).rejects.toMatchObject({ code: 'USAGE' });
    const fake: DicomWorkers = { jobs: 1, close: async () => undefined };
    await expect(deidentifyDicomDirectory({ policy, input, output: path.join(work, 'fake'), secret: SECRET, workers: fake })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
