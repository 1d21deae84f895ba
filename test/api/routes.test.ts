import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/openapi.js';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';
import { parseSimpleCsv, smallestClass, waitForJob } from './jobsHelpers.js';
import type { AuditEntry } from '../../src/api/audit.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'route-test-secret-0123456789';
  t = await startTestApi();
});
afterAll(async () => {
  await t.close();
});

function expectError(res: request.Response, status: number, code: string, field?: string): void {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (field !== undefined) expect(res.body.error.field).toBe(field);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
}

async function putYaml(name: string, yaml: string, key = t.keys.committee) {
  return request(t.api.app).put(`/v1/policies/${name}`).set(bearer(key)).set('Content-Type', 'application/yaml').send(yaml);
}

async function approve(name: string, version?: number) {
  return request(t.api.app)
    .post(`/v1/policies/${name}/approve`)
    .set(bearer(t.keys.committee))
    .send(version ? { version } : {});
}

function submitCsv(policy: string, csv: string, key = t.keys.researcher, extra: Record<string, string> = {}) {
  let req = request(t.api.app).post('/v1/tabular/jobs').set(bearer(key)).field('policy', policy);
  for (const [name, value] of Object.entries(extra)) req = req.field(name, value);
  return req.attach('file', Buffer.from(csv), 'cohort.csv');
}

describe('open routes', () => {
  it('GET /healthz answers ok without a key', async () => {
    const res = await request(t.api.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', freeBytes: expect.any(Number) });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
  });

  it('GET /openapi.json is OpenAPI 3.1 and lists every route', async () => {
    const res = await request(t.api.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const routes = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'put', 'post', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /openapi.json',
        'POST /v1/session',
        'GET /v1/session',
        'DELETE /v1/session',
        'GET /v1/policies',
        'POST /v1/policies/validate',
        'GET /v1/policies/schema',
        'GET /v1/policies/{name}',
        'GET /v1/policies/{name}/versions/{version}',
        'POST /v1/policies/{name}/reject',
        'POST /v1/policies/{name}/preview',
        'PUT /v1/policies/{name}',
        'POST /v1/policies/{name}/approve',
        'POST /v1/tabular/jobs',
        'POST /v1/dicom/jobs',
        'POST /v1/image/jobs',
        'GET /v1/jobs',
        'GET /v1/jobs/{id}',
        'GET /v1/jobs/{id}/events',
        'POST /v1/jobs/{id}/cancel',
        'GET /v1/jobs/{id}/result',
        'GET /v1/jobs/{id}/report',
        'GET /v1/audit',
        'GET /v1/audit/verify',
      ].sort(),
    );
    expect(res.body).toEqual(openApiDocument());
  });

  it('unknown routes answer a JSON 404', async () => {
    // (a GET of a path without a file name is the console's: test/api/console.test.ts)
    expectError(await request(t.api.app).get('/nope.json'), 404, 'NOT_FOUND');
    expectError(await request(t.api.app).post('/nope'), 404, 'NOT_FOUND');
  });
});

describe('authentication', () => {
  it('401 without a key, with a malformed header, and with an unknown key', async () => {
    expectError(await request(t.api.app).get('/v1/policies'), 401, 'UNAUTHENTICATED');
    expectError(await request(t.api.app).get('/v1/policies').set('Authorization', 'Basic abc'), 401, 'UNAUTHENTICATED');
    expectError(await request(t.api.app).get('/v1/policies').set(bearer('veil_not-a-real-key')), 401, 'UNAUTHENTICATED');
  });

  it('stores keys only as hashes', () => {
    const rows = t.api.ctx.db.prepare('SELECT key_hash FROM api_keys').all() as { key_hash: string }[];
    const hashes = rows.map((r) => r.key_hash);
    for (const key of Object.values(t.keys)) {
      expect(hashes).toContain(createHash('sha256').update(key).digest('hex'));
      expect(hashes).not.toContain(key);
    }
  });
});

describe('policies', () => {
  it('PUT stores versions (committee only) and GET shows them to every role', async () => {
    const yaml = smallPolicyYaml('cohort');
    const first = await putYaml('cohort', yaml);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'cohort', version: 1, approved: false });
    expect(first.body.sha256).toBe(createHash('sha256').update(yaml).digest('hex'));
    const second = await putYaml('cohort', yaml);
    expect(second.body.version).toBe(2);

    expectError(await putYaml('cohort', yaml, t.keys.researcher), 403, 'FORBIDDEN');
    expectError(await putYaml('cohort', yaml, t.keys.auditor), 403, 'FORBIDDEN');

    for (const key of [t.keys.committee, t.keys.researcher, t.keys.auditor]) {
      const list = await request(t.api.app).get('/v1/policies').set(bearer(key));
      expect(list.status).toBe(200);
      expect(list.body.policies).toContainEqual({ name: 'cohort', latestVersion: 2, latestApproved: false, approvedVersions: [] });
    }
    const one = await request(t.api.app).get('/v1/policies/cohort').set(bearer(t.keys.auditor));
    expect(one.status).toBe(200);
    expect(one.body.version).toBe(2);
    expect(one.body.yaml).toBe(yaml);
    expect(one.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const v1 = await request(t.api.app).get('/v1/policies/cohort?version=1').set(bearer(t.keys.researcher));
    expect(v1.body.version).toBe(1);
    expectError(await request(t.api.app).get('/v1/policies/unknown').set(bearer(t.keys.researcher)), 404, 'NOT_FOUND');
    expectError(await request(t.api.app).get('/v1/policies/cohort?version=9').set(bearer(t.keys.researcher)), 404, 'NOT_FOUND');
  });

  it('PUT refuses invalid YAML, a name mismatch and a wrong content type with 400', async () => {
    const broken = await putYaml('bad', 'name: bad\nversion: 1\ntabular:\n  quasiIdentifiers: []\n  privacy: { k: 0 }\n');
    expectError(broken, 400, 'POLICY_INVALID');
    expect(broken.body.error.field).toMatch(/^tabular\./);
    expect(broken.body.error.message).toMatch(/^line \d+: /);
    expectError(await putYaml('other-name', smallPolicyYaml('cohort')), 400, 'POLICY_INVALID', 'name');
    const wrongType = await request(t.api.app).put('/v1/policies/cohort').set(bearer(t.keys.committee)).set('Content-Type', 'application/json').send('{}');
    expectError(wrongType, 400, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await putYaml('..', smallPolicyYaml('..')), 400, 'BAD_NAME', 'name');
  });

  it('multipart PUT takes hierarchy files and refuses missing ones and unsafe paths', async () => {
    const yaml = smallPolicyYaml('with-h').replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: h/sex.csv }');
    const missing = await request(t.api.app).put('/v1/policies/with-h').set(bearer(t.keys.committee)).field('policy', yaml);
    expectError(missing, 400, 'HIERARCHY_MISSING', 'tabular.quasiIdentifiers.1.hierarchy');
    const stray = await request(t.api.app)
      .put('/v1/policies/with-h')
      .set(bearer(t.keys.committee))
      .field('policy', yaml)
      .attach('hierarchies', Buffer.from('F;*\nM;*\n'), 'sex.csv')
      .attach('hierarchies', Buffer.from('x;*\n'), 'other.csv');
    expect(stray.status).toBe(201);
    expect(stray.body.ignoredUploads).toBe(1);
    expect(stray.body.hierarchies).toEqual(['h/sex.csv']);
    const ok = await request(t.api.app)
      .put('/v1/policies/with-h')
      .set(bearer(t.keys.committee))
      .attach('policy', Buffer.from(yaml), 'policy.yaml')
      .attach('hierarchies', Buffer.from('F;*\nM;*\n'), 'sex.csv');
    expect(ok.status).toBe(201);
    expect(ok.body.hierarchies).toEqual(['h/sex.csv']);
    expect(ok.body.ignoredUploads).toBe(0);

    const broken = await request(t.api.app)
      .put('/v1/policies/with-h')
      .set(bearer(t.keys.committee))
      .field('policy', yaml)
      .attach('hierarchies', Buffer.from('F;*\nM;x;*\n'), 'sex.csv');
    expectError(broken, 400, 'HIERARCHY_INVALID', 'tabular.quasiIdentifiers.1.hierarchy');
    expect(broken.body.error.message).toMatch(/^h\/sex\.csv:2: /);
    expect(broken.body.error.message).not.toContain(t.dir);

    const unsafe = smallPolicyYaml('unsafe').replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: ../../sex.csv }');
    const refused = await request(t.api.app)
      .put('/v1/policies/unsafe')
      .set(bearer(t.keys.committee))
      .field('policy', unsafe)
      .attach('hierarchies', Buffer.from('F;*\nM;*\n'), 'sex.csv');
    expectError(refused, 400, 'POLICY_INVALID', 'tabular.quasiIdentifiers.1.hierarchy');
  });

  it('approve is for committees; 404 for unknown policies and versions', async () => {
    await putYaml('to-approve', smallPolicyYaml('to-approve'));
    expectError(await request(t.api.app).post('/v1/policies/to-approve/approve').set(bearer(t.keys.researcher)), 403, 'FORBIDDEN');
    expectError(await request(t.api.app).post('/v1/policies/to-approve/approve').set(bearer(t.keys.auditor)), 403, 'FORBIDDEN');
    expectError(await approve('never-stored'), 404, 'NOT_FOUND');
    expectError(await approve('to-approve', 7), 404, 'NOT_FOUND');
    expectError(await request(t.api.app).post('/v1/policies/to-approve/approve').set(bearer(t.keys.committee)).set('Content-Type', 'application/json').send('{oops'), 400, 'BAD_JSON');
    const res = await approve('to-approve');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'to-approve', version: 1, approved: true });
  });
});

describe('tabular jobs', () => {
  it('a researcher runs a job on an approved policy; results and reports follow the roles', async () => {
    await putYaml('run', smallPolicyYaml('run', 2));
    expectError(await submitCsv('run', smallCsv()), 409, 'POLICY_NOT_APPROVED', 'policy');
    await approve('run');
    expectError(await submitCsv('run', smallCsv(), t.keys.committee), 403, 'FORBIDDEN');
    expectError(await submitCsv('run', smallCsv(), t.keys.auditor), 403, 'FORBIDDEN');
    expectError(await submitCsv('no-such-policy', smallCsv()), 404, 'POLICY_NOT_FOUND', 'policy');
    expectError(await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'run'), 400, 'FILE_MISSING', 'file');
    expectError(
      await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).attach('file', Buffer.from(smallCsv()), 'a.csv'),
      400,
      'POLICY_MISSING',
      'policy',
    );
    expectError(
      await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).set('Content-Type', 'text/csv').send(smallCsv()),
      400,
      'UNSUPPORTED_MEDIA_TYPE',
    );

    const submitted = await submitCsv('run', smallCsv(), t.keys.researcher, { overrides: JSON.stringify({ k: 3 }) });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ kind: 'tabular', status: 'queued' });
    const id = submitted.body.id as string;
    expect(submitted.headers.location).toBe(`/v1/jobs/${id}`);

    // a second job queues behind the first (concurrency 1): its result is not there yet
    const queued = await submitCsv('run', smallCsv());
    expectError(await request(t.api.app).get(`/v1/jobs/${queued.body.id}/result`).set(bearer(t.keys.researcher)), 409, 'JOB_NOT_FINISHED');

    const job = await waitForJob(t.api.app, t.keys.researcher, id);
    expect(job.status).toBe('done');
    expect(job.progress).toBe(1);
    expect(job.policy).toMatchObject({ name: 'run', version: 1 });

    // visibility: the other researcher sees nothing, auditors and committees see it
    expectError(await request(t.api.app).get(`/v1/jobs/${id}`).set(bearer(t.keys.researcher2)), 404, 'NOT_FOUND');
    expectError(await request(t.api.app).get(`/v1/jobs/${id}/report`).set(bearer(t.keys.researcher2)), 404, 'NOT_FOUND');
    for (const key of [t.keys.auditor, t.keys.committee]) {
      expect((await request(t.api.app).get(`/v1/jobs/${id}`).set(bearer(key))).status).toBe(200);
    }
    const mine = await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.researcher));
    expect(mine.body.jobs.map((j: { id: string }) => j.id)).toContain(id);
    const theirs = await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.researcher2));
    expect(theirs.body.jobs).toEqual([]);
    const all = await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.auditor));
    expect(all.body.jobs.length).toBeGreaterThanOrEqual(2);

    const result = await request(t.api.app).get(`/v1/jobs/${id}/result`).set(bearer(t.keys.researcher));
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toMatch(/^text\/csv/);
    const csv = parseSimpleCsv(result.text);
    expect(csv.header).toEqual(['name', 'age', 'sex', 'diagnosis']);
    expect(csv.rows).toHaveLength(40);
    expect(csv.rows.every((row) => row[0] === '')).toBe(true);
    // the override asked for k = 3: the result must be 3-anonymous
    expect(smallestClass(csv, ['age', 'sex']).min).toBeGreaterThanOrEqual(3);
    expectError(await request(t.api.app).get(`/v1/jobs/${id}/result`).set(bearer(t.keys.auditor)), 403, 'FORBIDDEN');
    expectError(await request(t.api.app).get(`/v1/jobs/${id}/result`).set(bearer(t.keys.committee)), 403, 'FORBIDDEN');

    const report = await request(t.api.app).get(`/v1/jobs/${id}/report`).set(bearer(t.keys.auditor));
    expect(report.status).toBe(200);
    expect(report.body.privacy.k.required).toBe(3);
    expect(report.body.privacy.k.achieved).toBeGreaterThanOrEqual(3);
    expect(report.body.policy).toMatchObject({ name: 'run', version: 1, sha256: job.policy?.sha256 });
    const html = await request(t.api.app).get(`/v1/jobs/${id}/report?format=html`).set(bearer(t.keys.researcher));
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toMatch(/<html/i);
    expectError(await request(t.api.app).get(`/v1/jobs/${id}/report?format=xml`).set(bearer(t.keys.researcher)), 400, 'BAD_FORMAT', 'format');

    expectError(await request(t.api.app).get('/v1/jobs/0123456789abcdef0123456789abcdef').set(bearer(t.keys.auditor)), 404, 'NOT_FOUND');
    expectError(await request(t.api.app).get('/v1/jobs/not-an-id').set(bearer(t.keys.auditor)), 404, 'NOT_FOUND');
    await waitForJob(t.api.app, t.keys.researcher, queued.body.id as string);

    // inputs are removed once a job is finished; results stay
    expect(() => readFileSync(join(t.dir, 'jobs', id, 'input', 'input.csv'))).toThrow();
  });

  it('refuses overrides that loosen the policy or are not JSON', async () => {
    await putYaml('strict', smallPolicyYaml('strict', 4));
    await approve('strict');
    expectError(await submitCsv('strict', smallCsv(), t.keys.researcher, { overrides: '{"k": 2}' }), 400, 'OVERRIDE_REFUSED', 'overrides.k');
    expectError(await submitCsv('strict', smallCsv(), t.keys.researcher, { overrides: '{"suppressionLimit": 0.5}' }), 400, 'OVERRIDE_REFUSED', 'overrides.suppressionLimit');
    expectError(await submitCsv('strict', smallCsv(), t.keys.researcher, { overrides: '{"k": ' }), 400, 'BAD_JSON', 'overrides');
  });

  it('pins an approved older version, and refuses the unapproved latest one', async () => {
    await putYaml('pinned', smallPolicyYaml('pinned'));
    await approve('pinned');
    await putYaml('pinned', smallPolicyYaml('pinned'));
    expectError(await submitCsv('pinned', smallCsv()), 409, 'POLICY_NOT_APPROVED');
    const res = await submitCsv('pinned', smallCsv(), t.keys.researcher, { policyVersion: '1' });
    expect(res.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, res.body.id as string);
    expect(job.policy?.version).toBe(1);
  });

  it('a policy the data cannot satisfy fails the job; result and report answer 422', async () => {
    await putYaml('too-strict', smallPolicyYaml('too-strict', 1000));
    await approve('too-strict');
    const res = await submitCsv('too-strict', smallCsv());
    expect(res.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, res.body.id as string);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('POLICY_UNSATISFIABLE');
    expect(job.error?.field).toBe('tabular.privacy.k');
    // no server path leaks into the message
    expect(job.error?.message).not.toContain(t.dir);
    expectError(await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher)), 422, 'POLICY_UNSATISFIABLE');
    expectError(await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.auditor)), 422, 'POLICY_UNSATISFIABLE');
  });

  it('bad CSV input fails the job with 400 on its result', async () => {
    await putYaml('bad-input', smallPolicyYaml('bad-input'));
    await approve('bad-input');
    const res = await submitCsv('bad-input', 'id,other\n1,2\n');
    const job = await waitForJob(t.api.app, t.keys.researcher, res.body.id as string);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('COLUMN_UNKNOWN');
    const result = await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher));
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('COLUMN_UNKNOWN');
  });
});

describe('audit log', () => {
  it('is readable by auditors and committees only, and its hash chain verifies', async () => {
    expectError(await request(t.api.app).get('/v1/audit').set(bearer(t.keys.researcher)), 403, 'FORBIDDEN');
    expectError(await request(t.api.app).get('/v1/audit?after=-1').set(bearer(t.keys.auditor)), 400, 'BAD_QUERY', 'after');
    const res = await request(t.api.app).get('/v1/audit').set(bearer(t.keys.auditor));
    expect(res.status).toBe(200);
    const entries = res.body.entries as AuditEntry[];
    expect(entries.length).toBeGreaterThan(10);
    // keyed with the key the server created outside the database, in <data-dir>/secrets/
    const auditKey = readFileSync(join(t.dir, 'secrets', 'audit.key'), 'utf8').trim();
    let prev = '0'.repeat(64);
    for (const e of entries) {
      expect(e.prevHash).toBe(prev);
      const canonical = JSON.stringify([e.seq, e.at, e.actor, e.role, e.action, e.target, e.policy?.name ?? null, e.policy?.version ?? null, e.policy?.sha256 ?? null, e.prevHash]);
      expect(e.hash).toBe(createHmac('sha256', auditKey).update(canonical).digest('hex'));
      prev = e.hash;
    }
    const actions = new Set(entries.map((e) => e.action));
    const denied = entries.filter((e) => e.action === 'access.denied');
    expect(denied.map((e) => e.target)).toEqual(expect.arrayContaining(['PUT /v1/policies/:name', 'POST /v1/tabular/jobs', 'GET /v1/jobs/:id/result']));
    expect(denied.find((e) => e.target === 'PUT /v1/policies/:name')?.role).toBe('researcher');
    for (const action of ['policy.put', 'policy.approve', 'job.submit', 'job.refused', 'job.done', 'job.failed', 'result.download', 'report.read', 'access.denied']) {
      expect(actions).toContain(action);
    }
    const submit = entries.find((e) => e.action === 'job.submit');
    expect(submit?.role).toBe('researcher');
    expect(submit?.actor).toMatch(/^researcher-1 \(/);
    expect(submit?.policy?.sha256).toMatch(/^[a-f0-9]{64}$/);

    const page = await request(t.api.app).get('/v1/audit?after=2&limit=3').set(bearer(t.keys.committee));
    expect(page.body.entries.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    expect(page.body.next).toBe('/v1/audit?after=5&limit=3');
  });
});

describe('logs', () => {
  it('never carry API keys, client file names or data values', () => {
    const text = t.logs.text;
    expect(text).toContain('"route":"/v1/jobs/:id"');
    for (const key of Object.values(t.keys)) expect(text).not.toContain(key);
    expect(text).not.toContain('cohort.csv');
    expect(text).not.toContain('Person 1');
    expect(text).not.toContain('sex.csv');
  });
});
