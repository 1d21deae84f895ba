import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory } from '../../../src/dicom/index.js';
import { openDicomWorkers } from '../../../src/dicom/pool.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { sharedDicom } from '../helpers.js';

/**
 * The listener runs one de-identification per batch on one long-lived pool, and a worker gives
 * a run whose settings equal an earlier run's that run's settings object (src/dicom/worker.ts),
 * so that what is kept per settings object is reused. Runs with other settings (another key,
 * another policy) must not get it: each run's outputs are those of a fresh pool.
 */
const work = mkdtempSync(join(tmpdir(), 'veil-pool-runs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const input = join(work, 'in');
mkdirSync(input);
for (const name of ['CT_small.dcm', '693_UNCR.dcm']) copyFileSync(join(sharedDicom, name), join(input, name));

function policyOf(yaml: string) {
  return unwrap(parsePolicy(yaml, { file: 'policy.yaml', baseDir: work }));
}
const basic = policyOf('name: a\nversion: 1\ndicom: { profile: basic }\n');
const longitudinal = policyOf('name: b\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates] }\n');
const keyA = Buffer.from('pool-runs-secret-A-0123456789');
const keyB = Buffer.from('pool-runs-secret-B-0123456789');

function outputs(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => readFileSync(join(dir, name)).toString('base64'));
}

describe('one pool, many runs (the listener: a run per batch)', () => {
  it('a run gets the outputs of a fresh pool, whatever runs went before it with the same or other settings', async () => {
    const runs: [string, typeof basic, Buffer][] = [
      ['a1', basic, keyA],
      ['b', basic, keyB],
      ['a2', basic, keyA],
      ['l', longitudinal, keyA],
      ['a3', basic, keyA],
    ];
    const pool = await openDicomWorkers({ jobs: 1 });
    try {
      for (const [name, policy, secret] of runs) await deidentifyDicomDirectory({ policy, input, output: join(work, 'pool', name), secret, workers: pool });
    } finally {
      await pool.close();
    }
    for (const [name, policy, secret] of runs) {
      await deidentifyDicomDirectory({ policy, input, output: join(work, 'fresh', name), secret, jobs: 1 });
      expect(outputs(join(work, 'pool', name)), name).toEqual(outputs(join(work, 'fresh', name)));
    }
    // the settings did make a difference
    expect(outputs(join(work, 'fresh', 'a1'))).not.toEqual(outputs(join(work, 'fresh', 'b')));
    expect(outputs(join(work, 'fresh', 'a1'))).not.toEqual(outputs(join(work, 'fresh', 'l')));
  }, 120_000);
});
