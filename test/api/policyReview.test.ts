import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain, auditKeyOf, type AuditEntry } from '../../src/api/audit.js';
import { veilArgs } from '../helpers.js';
import { adultHierarchyFiles, adultPolicyYaml, REPO_ROOT, smallPolicyYaml, startTestApi, tempDir, type TestApi } from './helpers.js';

let t: TestApi;
let library: { dir: string; cleanup(): void };
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  library = tempDir('veil-library-');
  writeFileSync(join(library.dir, 'ages.csv'), '20;20-29;*\n21;20-29;*\n');
  t = await startTestApi({ hierarchyDir: library.dir });
});
afterAll(async () => {
  await t.close();
  library.cleanup();
});

function validate(yaml: string, key = t.keys.committee) {
  return request(t.api.app).post('/v1/policies/validate').set(bearer(key)).set('Content-Type', 'application/yaml').send(yaml);
}

function putYaml(name: string, yaml: string) {
  return request(t.api.app).put(`/v1/policies/${name}`).set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml);
}

async function audit(): Promise<AuditEntry[]> {
  const res = await request(t.api.app).get('/v1/audit?limit=5000').set(bearer(t.keys.auditor));
  return res.body.entries as AuditEntry[];
}

/** What `veil policy check policy.yaml` prints for this text, one line per problem, without the "veil: " prefix. */
function cliCheck(yaml: string): string[] {
  const dir = tempDir('veil-check-');
  try {
    writeFileSync(join(dir.dir, 'policy.yaml'), yaml);
    const run = spawnSync(process.execPath, veilArgs(['policy', 'check', 'policy.yaml']), { cwd: dir.dir, encoding: 'utf8' });
    return run.stderr
      .split('\n')
      .filter((line) => line.startsWith('veil: '))
      .map((line) => line.slice('veil: '.length));
  } finally {
    dir.cleanup();
  }
}

describe('POST /v1/policies/validate', () => {
  it('lists each problem with the exact line `veil policy check` prints, and stores nothing', async () => {
    const yaml = smallPolicyYaml('checked').replace('privacy: { k: 2,', 'privacy: { k: ten,').replace('    - { column: sex, type: categorical }', '    - { column: sex, type: categorical, colour: red }');
    const res = await validate(yaml);
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    const texts = (res.body.issues as { text: string }[]).map((i) => i.text);
    expect(texts).toEqual(cliCheck(yaml));
    expect(texts).toContain('policy.yaml:9: tabular.privacy.k: expected a number, got the string "ten"');
    const k = (res.body.issues as { line: number; path: string; message: string }[]).find((i) => i.path === 'tabular.privacy.k');
    expect(k).toMatchObject({ line: 9, message: 'expected a number, got the string "ten"' });
    expect((await request(t.api.app).get('/v1/policies/checked').set(bearer(t.keys.committee))).status).toBe(404);
  });

  it('says ok for a valid policy', async () => {
    const res = await validate(smallPolicyYaml('fine'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, issues: [] });
  });

  it('an invalid YAML text is an issue with its line, not an error', async () => {
    const res = await validate('name: x\nversion: 1\ntabular: [\n');
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.issues[0].line).toBeGreaterThan(0);
    expect(res.body.issues[0].text).toMatch(/^policy\.yaml:\d+: invalid YAML/);
  });

  it('a hierarchy file is fine when a stored version or the hierarchy folder has it; otherwise an issue at its line', async () => {
    const named = (file: string) =>
      ['name: hier', 'version: 1', 'tabular:', '  quasiIdentifiers:', `    - { column: age, type: numeric, hierarchy: ${file} }`, '  privacy: { k: 2 }', ''].join('\n');
    expect((await validate(named('ages.csv'))).body).toEqual({ ok: true, issues: [] });
    const missing = await validate(named('nowhere.csv'));
    expect(missing.body.ok).toBe(false);
    expect(missing.body.issues).toHaveLength(1);
    expect(missing.body.issues[0]).toMatchObject({ line: 5, path: 'tabular.quasiIdentifiers.0.hierarchy' });
    expect(missing.body.issues[0].text).toMatch(/^policy\.yaml:5: tabular\.quasiIdentifiers\.0\.hierarchy: the file "nowhere\.csv" is neither stored/);
    // once a version stores the Adult hierarchies, the same names validate without an upload
    let put = request(t.api.app).put('/v1/policies/adult-review').set(bearer(t.keys.committee)).field('policy', adultPolicyYaml('adult-review'));
    for (const file of adultHierarchyFiles()) put = put.attach('hierarchies', readFileSync(file.path), file.name);
    expect((await put).status).toBe(201);
    expect((await validate(adultPolicyYaml('adult-review', 10))).body).toEqual({ ok: true, issues: [] });
    expect((await validate(adultPolicyYaml('another-name', 10))).body.ok).toBe(false);
  });

  it('is for the committee (403 for others) and wants YAML or text', async () => {
    expect((await validate(smallPolicyYaml('x'), t.keys.researcher)).status).toBe(403);
    const json = await request(t.api.app).post('/v1/policies/validate').set(bearer(t.keys.committee)).send({ yaml: 'x' });
    expect(json.status).toBe(400);
    const text = await request(t.api.app).post('/v1/policies/validate').set(bearer(t.keys.committee)).set('Content-Type', 'text/plain').send(smallPolicyYaml('plain'));
    expect(text.body.ok).toBe(true);
  });
});

describe('GET /v1/policies/schema', () => {
  it('is the JSON Schema of policies/schema.json, for any role', async () => {
    const res = await request(t.api.app).get('/v1/policies/schema').set(bearer(t.keys.auditor));
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(readFileSync(join(REPO_ROOT, 'policies/schema.json'), 'utf8')));
  });
});

describe('versions, approval and rejection with comments', () => {
  it('GET /v1/policies/:name/versions/:version answers like ?version=N', async () => {
    expect((await putYaml('versioned', smallPolicyYaml('versioned', 2))).status).toBe(201);
    expect((await putYaml('versioned', smallPolicyYaml('versioned', 3))).status).toBe(201);
    const byPath = await request(t.api.app).get('/v1/policies/versioned/versions/1').set(bearer(t.keys.researcher));
    const byQuery = await request(t.api.app).get('/v1/policies/versioned?version=1').set(bearer(t.keys.researcher));
    expect(byPath.status).toBe(200);
    expect(byPath.body).toEqual(byQuery.body);
    expect(byPath.body.yaml).toContain('k: 2');
    expect(byPath.body.version).toBe(1);
    expect((await request(t.api.app).get('/v1/policies/versioned/versions/9').set(bearer(t.keys.researcher))).status).toBe(404);
    expect((await request(t.api.app).get('/v1/policies/versioned/versions/x').set(bearer(t.keys.researcher))).status).toBe(400);
  });

  it('reject needs a comment, records it (audited, in the MAC) and withdraws an approval; approve takes a comment too', async () => {
    const noComment = await request(t.api.app).post('/v1/policies/versioned/reject').set(bearer(t.keys.committee)).send({ version: 2 });
    expect(noComment.status).toBe(400);
    expect(noComment.body.error.field).toBe('comment');
    const tooLong = await request(t.api.app).post('/v1/policies/versioned/reject').set(bearer(t.keys.committee)).send({ version: 2, comment: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);

    const approved = await request(t.api.app).post('/v1/policies/versioned/approve').set(bearer(t.keys.committee)).send({ version: 2, comment: 'k=3 is what we agreed' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ version: 2, approved: true, comment: 'k=3 is what we agreed' });

    const rejected = await request(t.api.app).post('/v1/policies/versioned/reject').set(bearer(t.keys.committee)).send({ version: 2, comment: 'zip codes must go' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ name: 'versioned', version: 2, rejected: true, rejectedBy: expect.stringContaining('committee-1'), comment: 'zip codes must go' });
    expect(Date.parse(rejected.body.rejectedAt)).toBeGreaterThan(0);

    const policy = await request(t.api.app).get('/v1/policies/versioned').set(bearer(t.keys.committee));
    expect(policy.body.approved).toBe(false);
    const v2 = (policy.body.versions as { version: number; decision: unknown }[]).find((v) => v.version === 2);
    expect(v2?.decision).toMatchObject({ state: 'rejected', comment: 'zip codes must go', by: expect.stringContaining('committee-1') });
    const v1 = (policy.body.versions as { version: number; decision: unknown }[]).find((v) => v.version === 1);
    expect(v1?.decision).toEqual({ state: 'pending', by: null, at: null, comment: null });

    // a rejected version runs no job
    const job = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'versioned').attach('file', Buffer.from('name,age,sex,diagnosis\na,30,F,flu\n'), 'c.csv');
    expect(job.status).toBe(409);
    expect(job.body.error.code).toBe('POLICY_NOT_APPROVED');

    // approving again is allowed; both decisions stay in the audit log with their comments
    const again = await request(t.api.app).post('/v1/policies/versioned/approve').set(bearer(t.keys.committee)).send({ version: 2 });
    expect(again.body).toMatchObject({ approved: true, comment: null });
    const after = await request(t.api.app).get('/v1/policies/versioned').set(bearer(t.keys.committee));
    expect(after.body.decision).toMatchObject({ state: 'approved', comment: null });

    const entries = await audit();
    const decisions = entries.filter((e) => e.target === 'policy:versioned' && (e.action === 'policy.approve' || e.action === 'policy.reject'));
    expect(decisions.map((e) => [e.action, e.detail?.comment])).toEqual([
      ['policy.approve', 'k=3 is what we agreed'],
      ['policy.reject', 'zip codes must go'],
      ['policy.approve', undefined],
    ]);
    const verdict = verifyAuditChain(entries, { key: auditKeyOf(t.api.ctx.db), unkeyedThrough: 0 });
    expect(verdict.intact).toBe(true);
    // the comment is covered by the entry's MAC: changing it breaks the chain
    const edited = entries.map((e) => (e.seq === decisions[1].seq ? { ...e, detail: { comment: 'fine by us' } } : e));
    expect(verifyAuditChain(edited, { key: auditKeyOf(t.api.ctx.db), unkeyedThrough: 0 }).firstBroken).toBe(decisions[1].seq);
  });

  it('reject is for the committee', async () => {
    const res = await request(t.api.app).post('/v1/policies/versioned/reject').set(bearer(t.keys.auditor)).send({ comment: 'no' });
    expect(res.status).toBe(403);
  });
});
