/**
 * A handful of hostile inputs run to the end through real job processes (one at a time):
 * a job on bad data must end `failed` with a documented library code — never INTERNAL or
 * WORKER_CRASHED — and its result and report must answer that code with a 4xx, never 500.
 * (Job processes are expensive: the mass of cases is in the other fuzz files.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from '../api/helpers.js';
import { waitForJob } from '../api/jobsHelpers.js';
import { sharedData } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1308);

interface JobCase {
  kind: 'tabular' | 'dicom' | 'image';
  policy: string;
  how: string;
  files: { field: string; name: string; bytes: Buffer }[];
}

function cases(rng: Prng): JobCase[] {
  const csv = Buffer.from(smallCsv(40));
  const dicom = readFileSync(join(sharedData, 'dicom', 'CT_small.dcm'));
  const mutated = (bytes: Buffer) => mutate(rng, bytes);
  const m1 = mutated(csv);
  const m2 = mutated(csv);
  const d1 = mutated(dicom);
  return [
    { kind: 'tabular', policy: 'fj-tab', how: `CSV: ${m1.how}`, files: [{ field: 'file', name: 'a.csv', bytes: m1.bytes }] },
    { kind: 'tabular', policy: 'fj-tab', how: `CSV: ${m2.how}`, files: [{ field: 'file', name: 'a.csv', bytes: m2.bytes }] },
    { kind: 'tabular', policy: 'fj-tab', how: 'CSV: unbalanced quote', files: [{ field: 'file', name: 'a.csv', bytes: Buffer.from('name,age,sex,diagnosis\n"x,30,F,flu\n') }] },
    { kind: 'dicom', policy: 'fj-dcm', how: `DICOM: ${d1.how}, and a truncated copy`, files: [{ field: 'files', name: 'a.dcm', bytes: d1.bytes }, { field: 'files', name: 'b.dcm', bytes: dicom.subarray(0, 700) }] },
    { kind: 'dicom', policy: 'fj-dcm', how: 'DICOM: a zip of text files', files: [{ field: 'files', name: 'a.zip', bytes: Buffer.from(zipSync({ 'a.dcm': Buffer.from('not dicom'), 'b.dcm': Buffer.alloc(300) })) }] },
    { kind: 'image', policy: 'fj-img', how: 'image: a PNG head and noise', files: [{ field: 'files', name: 'a.png', bytes: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]) }] },
  ];
}

describe(`job fuzz (seed ${SEED})`, () => {
  const tally = new Tally();
  let server: TestApi;
  beforeAll(async () => {
    process.env.VEIL_SECRET ??= 'fuzz-jobs-secret-0123456789';
    server = await startTestApi({ runner: { concurrency: 1 }, limits: { rateLimitPerMinute: 1_000_000 }, logLevel: 'silent' });
    const auth = `Bearer ${server.keys.committee}`;
    for (const [name, yaml] of [
      ['fj-tab', smallPolicyYaml('fj-tab')],
      ['fj-dcm', 'name: fj-dcm\nversion: 1\ndicom: { profile: basic }\n'],
      ['fj-img', 'name: fj-img\nversion: 1\npixels:\n  burnedInText: { scan: never }\n'],
    ] as const) {
      await request(server.api.app).put(`/v1/policies/${name}`).set('Authorization', auth).set('Content-Type', 'application/yaml').send(yaml);
      await request(server.api.app).post(`/v1/policies/${name}/approve`).set('Authorization', auth);
    }
  });
  afterAll(async () => {
    await server.close();
    console.log(tally.summary(`jobs seed=${SEED}`));
  });

  it('hostile inputs in real job processes: done, or failed with a documented library code answered as 4xx', async () => {
    const rng = new Prng(SEED);
    const key = `Bearer ${server.keys.researcher}`;
    for (const [n, c] of cases(rng).entries()) {
      const id = `jobs seed=${SEED} case=${n} (${c.how})`;
      let submit = request(server.api.app).post(`/v1/${c.kind}/jobs`).set('Authorization', key).field('policy', c.policy);
      for (const file of c.files) submit = submit.attach(file.field, file.bytes, file.name);
      const res = await submit;
      let outcome: Outcome;
      if (res.status !== 202) {
        const code = (res.body as { error?: { code?: string } }).error?.code;
        outcome = res.status >= 500 ? { kind: 'internal', what: `submit HTTP ${res.status} ${code ?? ''}` } : { kind: 'refused', code: code ?? `HTTP ${res.status}` };
      } else {
        const job = await waitForJob(server.api.app, server.keys.researcher, (res.body as { id: string }).id);
        if (job.status === 'done') outcome = { kind: 'ok' };
        else {
          const code = job.error?.code ?? 'none';
          const result = await request(server.api.app).get(`/v1/jobs/${job.id}/result`).set('Authorization', key);
          const resultCode = (result.body as { error?: { code?: string } }).error?.code;
          if (['INTERNAL', 'WORKER_CRASHED', 'INTERRUPTED', 'JOB_TIMEOUT'].includes(code) || result.status >= 500) outcome = { kind: 'internal', what: `job failed ${code}, result HTTP ${result.status} ${resultCode ?? ''}` };
          else if (resultCode !== code) outcome = { kind: 'internal', what: `job failed ${code} but its result answered ${resultCode ?? result.status}` };
          else outcome = { kind: 'refused', code };
        }
      }
      tally.record(`${c.kind}-job`, id, outcome);
    }
    expect(problemsOf(tally, 'jobs')).toEqual(NO_PROBLEMS);
  }, 600_000);
});
