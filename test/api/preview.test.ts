import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/api/audit.js';
import { insertJob, markFailed } from '../../src/api/jobStore.js';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { cohortCsv, generateCohort } from '../../src/demo/cohort.js';
import { REPO_ROOT, smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const cohort = generateCohort({ rows: 400, seed: 7 });
const SAMPLE = cohortCsv(cohort);

beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'preview-test-secret-0123456789';
  t = await startTestApi();
  const demo = readFileSync(join(REPO_ROOT, 'policies/demo.yaml'), 'utf8');
  const put = await request(t.api.app).put('/v1/policies/demo-cohort').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(demo);
  expect(put.status).toBe(201);
});
afterAll(async () => {
  await t.close();
});

function preview(body: { csv?: string; jobId?: string }, query = '', key = t.keys.committee) {
  let req = request(t.api.app).post(`/v1/policies/demo-cohort/preview${query}`).set(bearer(key));
  if (body.jobId !== undefined) req = req.field('jobId', body.jobId);
  if (body.csv !== undefined) req = req.attach('file', Buffer.from(body.csv), 'sample.csv');
  return req;
}

async function audit(): Promise<AuditEntry[]> {
  const res = await request(t.api.app).get('/v1/audit?limit=5000').set(bearer(t.keys.auditor));
  return res.body.entries as AuditEntry[];
}

describe('POST /v1/policies/:name/preview', () => {
  it('runs an unapproved version on a sample and answers the engine report and its HTML page, without a data value', async () => {
    const res = await preview({ csv: SAMPLE });
    expect(res.status).toBe(200);
    const version = getPolicyVersion(t.api.ctx.db, 'demo-cohort', 1);
    expect(res.body.policy).toEqual({ name: 'demo-cohort', version: 1, sha256: version?.sha256 });
    expect(res.body.rows).toBe(400);
    const report = res.body.report;
    expect(report.kind).toBe('veil-tabular');
    expect(report.input.rows).toBe(400);
    expect(report.privacy.k.required).toBe(5);
    expect(report.privacy.k.achieved).toBeGreaterThanOrEqual(5);
    expect(report.privacy.l).toMatchObject({ variant: 'distinct', required: 2 });
    expect(report.utility.perAttribute.map((a: { column: string }) => a.column)).toEqual(['age', 'sex', 'zip', 'birth_date', 'admission_date']);
    expect(report.classes.sizeBins.length).toBeGreaterThan(0);
    expect(res.body.html).toMatch(/^<!doctype html>/i);
    // names, record numbers and phone numbers of the sample appear nowhere in the answer
    const answer = JSON.stringify(res.body);
    for (const row of cohort.slice(0, 50)) {
      expect(answer).not.toContain(row[0]);
      expect(answer).not.toContain(row[1]);
      expect(answer).not.toContain(row[2]);
    }
  });

  it('keeps nothing: the upload area is empty after the answer, and the preview is audited without data', async () => {
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
    const entries = (await audit()).filter((e) => e.action === 'policy.previewed');
    expect(entries.length).toBeGreaterThan(0);
    expect(entries[0]).toMatchObject({ target: 'policy:demo-cohort', policy: { name: 'demo-cohort', version: 1 }, detail: { sample: 'upload', outcome: 'ok' } });
    expect(JSON.stringify(entries)).not.toContain(cohort[0][1]);
  });

  it('a CSV the policy cannot read is a 400 with the engine code, still deleted and audited', async () => {
    const res = await preview({ csv: 'a,b\n1,2\n' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('COLUMN_UNKNOWN');
    expect(res.body.error.message).not.toContain(t.api.ctx.layout.root);
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
    const last = (await audit()).filter((e) => e.action === 'policy.previewed').pop();
    expect(last?.detail).toEqual({ sample: 'upload', outcome: 'COLUMN_UNKNOWN' });
  });

  it('refuses a missing sample, both a sample and a job, an unknown version and a wrong role', async () => {
    const nothing = await request(t.api.app).post('/v1/policies/demo-cohort/preview').set(bearer(t.keys.committee)).field('note', 'no sample');
    expect(nothing.status).toBe(400);
    expect(nothing.body.error.code).toBe('FILE_MISSING');
    expect((await preview({ csv: SAMPLE, jobId: 'a'.repeat(32) })).status).toBe(400);
    expect((await preview({ csv: SAMPLE }, '?version=7')).status).toBe(404);
    expect((await preview({ csv: SAMPLE }, '', t.keys.researcher)).status).toBe(403);
    expect((await preview({ csv: SAMPLE }, '', t.keys.auditor)).status).toBe(403);
  });

  it("previews a past job's input while it is present (read in place: the input and the job unchanged), and 409 PREVIEW_INPUT_GONE once deleted", async () => {
    const version = getPolicyVersion(t.api.ctx.db, 'demo-cohort', 1);
    const keyId = (t.api.ctx.db.prepare("SELECT id FROM api_keys WHERE name = 'researcher-1'").get() as { id: string }).id;
    const id = 'b'.repeat(32);
    // a job row whose input is still on disk (failed, so no runner takes it)
    insertJob(t.api.ctx.db, { id, kind: 'tabular', ownerKeyId: keyId, policyVersionId: version?.id ?? 0, overrides: null, inputCount: 1 });
    markFailed(t.api.ctx.db, id, { code: 'INTERNAL', message: 'test' });
    mkdirSync(t.api.ctx.layout.jobInput(id), { recursive: true });
    const input = join(t.api.ctx.layout.jobInput(id), 'input.csv');
    writeFileSync(input, SAMPLE);
    const before = { stat: statSync(input), job: (await request(t.api.app).get(`/v1/jobs/${id}`).set(bearer(t.keys.auditor))).body as unknown };
    const res = await preview({ jobId: id });
    expect(res.status).toBe(200);
    expect(res.body.rows).toBe(400);
    // the same file, untouched, and the job as it was; no copy left in the uploads
    const after = statSync(input);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.stat.ino, before.stat.mtimeMs, before.stat.size]);
    expect(readFileSync(input, 'utf8')).toBe(SAMPLE);
    expect((await request(t.api.app).get(`/v1/jobs/${id}`).set(bearer(t.keys.auditor))).body).toEqual(before.job);
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
    const last = (await audit()).filter((e) => e.action === 'policy.previewed').pop();
    expect(last?.detail).toEqual({ sample: `job:${id}`, outcome: 'ok' });

    // a real job: its input is deleted when it finishes
    const small = await request(t.api.app).put('/v1/policies/small').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('small'));
    expect(small.status).toBe(201);
    expect((await request(t.api.app).post('/v1/policies/small/approve').set(bearer(t.keys.committee)).send({})).status).toBe(200);
    const job = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'small').attach('file', Buffer.from(smallCsv()), 'c.csv');
    expect(job.status).toBe(202);
    await waitForJob(t.api.app, t.keys.researcher, job.body.id as string);
    const gone = await preview({ jobId: job.body.id as string });
    expect(gone.body.error).toMatchObject({ code: 'PREVIEW_INPUT_GONE' });
    expect(gone.status).toBe(409);
    expect(gone.body.error.code).toBe('PREVIEW_INPUT_GONE');
    expect(gone.body.error.message).toContain('deleted when the job ends');
    expect((await preview({ jobId: 'not-a-job' })).status).toBe(404);
  });
});
