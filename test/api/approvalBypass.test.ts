import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/api/audit.js';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

let t: TestApi | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** k = 50 on 40 rows: the approved text cannot be met; a k = 2 text can. */
const APPROVED_K50 = smallPolicyYaml('bypass', 50).replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: policy.yaml }');
const SMUGGLED_K2 = smallPolicyYaml('bypass', 2);

async function putAndApprove(api: TestApi, name: string, policyText: string, hierarchies: [string, Buffer][]): Promise<{ approvedSha: string }> {
  let put = request(api.api.app).put(`/v1/policies/${name}`).set(bearer(api.keys.committee)).attach('policy', Buffer.from(policyText), 'policy.yaml');
  for (const [fileName, bytes] of hierarchies) put = put.attach('hierarchies', bytes, fileName);
  const stored = await put;
  expect(stored.status).toBe(201);
  const approved = await request(api.api.app).post(`/v1/policies/${name}/approve`).set(bearer(api.keys.committee));
  expect(approved.status).toBe(200);
  return { approvedSha: approved.body.sha256 as string };
}

function submit(api: TestApi, name: string) {
  return request(api.api.app).post('/v1/tabular/jobs').set(bearer(api.keys.researcher)).field('policy', name).attach('file', Buffer.from(smallCsv()), 'cohort.csv');
}

describe('approval bypass through an uploaded file named policy.yaml (issue 13, item 1)', () => {
  it('a hierarchy upload named policy.yaml cannot replace the approved policy text', async () => {
    t = await startTestApi();
    const { approvedSha } = await putAndApprove(t, 'bypass', APPROVED_K50, [['policy.yaml', Buffer.from(SMUGGLED_K2)]]);
    expect(approvedSha).toBe(sha256(APPROVED_K50));

    // the stored text is still the approved one, and the upload sits in its own folder
    const version = getPolicyVersion(t.api.ctx.db, 'bypass');
    if (!version) throw new Error('version missing');
    expect(readFileSync(t.api.ctx.layout.policyText(version.dir), 'utf8')).toBe(APPROVED_K50);
    expect(readFileSync(join(t.api.ctx.layout.policyHierarchies(version.dir, version.storage), 'policy.yaml'), 'utf8')).toBe(SMUGGLED_K2);
    const shown = await request(t.api.app).get('/v1/policies/bypass').set(bearer(t.keys.auditor));
    expect(shown.body.yaml).toBe(APPROVED_K50);

    const submitted = await submit(t, 'bypass');
    expect(submitted.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id as string);
    // the approved k = 50 text ran, with the upload as what it claimed to be: the hierarchy of
    // sex (which it is not). On the old layout the k = 2 text replaced the policy and the job was done.
    expect(job.status).toBe('failed');
    expect(job.policy?.sha256).toBe(approvedSha);
    expect(job.error).toMatchObject({ code: 'HIERARCHY_INVALID', field: 'sex' });
    expect(job.error?.message).toContain('hierarchy policy.yaml');
    expect((await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher))).status).not.toBe(200);
  });
});

describe('hierarchy paths that would land on each other', () => {
  it('a file and a folder of the same name are refused with 400 HIERARCHY_AMBIGUOUS, nothing stored', async () => {
    t = await startTestApi();
    const yaml = smallPolicyYaml('clash')
      .replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: h.csv }')
      .replace('sensitive: [ { column: diagnosis } ]', 'sensitive: [ { column: diagnosis, hierarchy: h.csv/d.csv } ]');
    const res = await request(t.api.app)
      .put('/v1/policies/clash')
      .set(bearer(t.keys.committee))
      .field('policy', yaml)
      .attach('hierarchies', Buffer.from('F;*\nM;*\n'), 'h.csv')
      .attach('hierarchies', Buffer.from('flu;*\nasthma;*\ngout;*\nmigraine;*\n'), 'd.csv');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'HIERARCHY_AMBIGUOUS', field: 'hierarchies' });
    expect(getPolicyVersion(t.api.ctx.db, 'clash')).toBeUndefined();
    expect(readdirSync(join(t.dir, 'policies'))).toEqual([]);
  });
});

describe('the worker checks the bytes it runs against the approved sha256', () => {
  it('a version stored in the old layout whose policy.yaml an upload replaced fails with POLICY_TAMPERED', async () => {
    t = await startTestApi();
    await putAndApprove(t, 'bypass', APPROVED_K50, [['policy.yaml', Buffer.from(SMUGGLED_K2)]]);
    const version = getPolicyVersion(t.api.ctx.db, 'bypass');
    if (!version) throw new Error('version missing');
    // what the old layout left on disk: the upload beside, and over, the approved text
    const dir = t.api.ctx.layout.policyDir(version.dir);
    renameSync(join(dir, 'hierarchies', 'policy.yaml'), join(dir, 'policy.yaml'));
    t.api.ctx.db.prepare('UPDATE policy_versions SET storage = 1 WHERE id = ?').run(version.id);

    const job = await waitForJob(t.api.app, t.keys.researcher, (await submit(t, 'bypass')).body.id as string);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('POLICY_TAMPERED');
  });

  it('a policy text edited on disk after approval fails the job with POLICY_TAMPERED, no output, and job.policy_mismatch in the audit log', async () => {
    t = await startTestApi();
    const { approvedSha } = await putAndApprove(t, 'edited', smallPolicyYaml('edited', 2), []);
    const version = getPolicyVersion(t.api.ctx.db, 'edited');
    if (!version) throw new Error('version missing');
    const file = t.api.ctx.layout.policyText(version.dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace('k: 2', 'k: 1'));

    const submitted = await submit(t, 'edited');
    expect(submitted.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id as string);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('POLICY_TAMPERED');
    expect(job.error?.message).toContain(approvedSha);
    expect(existsSync(t.api.ctx.layout.jobOut(job.id))).toBe(false);
    const result = await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher));
    // the server's storage failed the approval, not the researcher's input
    expect(result.status).toBe(500);
    expect(result.body.error.code).toBe('POLICY_TAMPERED');

    const entries = listAudit(t.api.ctx.db, 0, 1000);
    const mismatch = entries.filter((e) => e.action === 'job.policy_mismatch');
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({ target: `job:${job.id}`, actor: 'veil', policy: { name: 'edited', version: 1, sha256: approvedSha } });
    expect(entries.some((e) => e.action === 'job.done')).toBe(false);
  });

  it('a hierarchy file edited on disk after approval fails the job the same way', async () => {
    t = await startTestApi();
    const yaml = smallPolicyYaml('hier', 2).replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: sex.csv }');
    await putAndApprove(t, 'hier', yaml, [['sex.csv', Buffer.from('F;*\nM;*\n')]]);
    const version = getPolicyVersion(t.api.ctx.db, 'hier');
    if (!version) throw new Error('version missing');
    writeFileSync(join(t.api.ctx.layout.policyHierarchies(version.dir, version.storage), 'sex.csv'), 'F;F\nM;M\n');

    const submitted = await submit(t, 'hier');
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id as string);
    expect(job.error?.code).toBe('POLICY_TAMPERED');
    expect(job.error?.message).toContain('sex.csv');
    expect(listAudit(t.api.ctx.db, 0, 1000).filter((e) => e.action === 'job.policy_mismatch')).toHaveLength(1);
  });

  it('an untouched version still runs', async () => {
    t = await startTestApi();
    const yaml = smallPolicyYaml('fine', 2).replace('{ column: sex, type: categorical }', '{ column: sex, type: categorical, hierarchy: sex.csv }');
    const { approvedSha } = await putAndApprove(t, 'fine', yaml, [['sex.csv', Buffer.from('F;*\nM;*\n')]]);
    const job = await waitForJob(t.api.app, t.keys.researcher, (await submit(t, 'fine')).body.id as string);
    expect(job.status).toBe('done');
    const report = await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.researcher));
    expect(report.body.policy.sha256).toBe(approvedSha);
  });
});
