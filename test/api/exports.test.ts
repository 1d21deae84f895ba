import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/api/audit.js';
import { insertJob, markDone, markFailed, markRunning } from '../../src/api/jobStore.js';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const keyIdOf = (name: string) => (t.api.ctx.db.prepare('SELECT id FROM api_keys WHERE name = ?').get(name) as { id: string }).id;

/** A tiny CSV parser for the exports (quoted cells, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (c !== '\r') cell += c;
  }
  return rows;
}

beforeAll(async () => {
  t = await startTestApi();
  for (const name of ['alpha', 'beta']) {
    const put = await request(t.api.app).put(`/v1/policies/${name}`).set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml(name));
    expect(put.status).toBe(201);
  }
  // jobs written straight into the store (no runner takes them: nothing kicks it here)
  const alpha = getPolicyVersion(t.api.ctx.db, 'alpha')?.id ?? 0;
  const beta = getPolicyVersion(t.api.ctx.db, 'beta')?.id ?? 0;
  const r1 = keyIdOf('researcher-1');
  const r2 = keyIdOf('researcher-2');
  const jobs: [string, 'tabular' | 'image' | 'dicom', string, number, 'done' | 'failed' | 'queued'][] = [
    ['a'.repeat(32), 'tabular', r1, alpha, 'done'],
    ['b'.repeat(32), 'image', r1, beta, 'failed'],
    ['c'.repeat(32), 'tabular', r2, beta, 'queued'],
  ];
  for (const [id, kind, owner, version, status] of jobs) {
    insertJob(t.api.ctx.db, { id, kind, ownerKeyId: owner, policyVersionId: version, overrides: null, inputCount: 1 });
    if (status === 'done') {
      markRunning(t.api.ctx.db, id);
      markDone(t.api.ctx.db, id, '{}', false);
    }
    if (status === 'failed') markFailed(t.api.ctx.db, id, { code: 'IMAGE_INVALID', message: 'x' });
  }
});
afterAll(async () => {
  await t.close();
});

describe('GET /v1/jobs filters and submittedBy', () => {
  it('lists who submitted each job (key name and id), never more', async () => {
    const res = await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.auditor));
    expect(res.status).toBe(200);
    const jobs = res.body.jobs as { id: string; submittedBy: { name: string; keyId: string } }[];
    expect(jobs).toHaveLength(3);
    expect(jobs.find((j) => j.id === 'c'.repeat(32))?.submittedBy).toEqual({ name: 'researcher-2', keyId: keyIdOf('researcher-2') });
  });

  it('narrows by kind, status and policy, alone or together', async () => {
    const ids = async (query: string, key = t.keys.auditor) => ((await request(t.api.app).get(`/v1/jobs${query}`).set(bearer(key))).body.jobs as { id: string }[]).map((j) => j.id[0]).sort();
    expect(await ids('?kind=tabular')).toEqual(['a', 'c']);
    expect(await ids('?status=failed')).toEqual(['b']);
    expect(await ids('?policy=beta')).toEqual(['b', 'c']);
    expect(await ids('?kind=tabular&policy=beta')).toEqual(['c']);
    expect(await ids('?kind=dicom')).toEqual([]);
    // a researcher's filters apply to their own jobs only
    expect(await ids('?policy=beta', t.keys.researcher)).toEqual(['b']);
  });

  it('refuses a filter value it does not know (400, naming the field)', async () => {
    for (const [query, field] of [['?kind=video', 'kind'], ['?status=lost', 'status'], ['?policy=../x', 'policy'], ['?format=xml', 'format']]) {
      const res = await request(t.api.app).get(`/v1/jobs${query}`).set(bearer(t.keys.auditor));
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
  });

  it('exports CSV for auditors and the committee (403 for researchers), audited', async () => {
    const res = await request(t.api.app).get('/v1/jobs?format=csv&policy=beta').set(bearer(t.keys.committee));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain('attachment; filename=veil-jobs.csv');
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual(['id', 'kind', 'status', 'progress', 'policy', 'policyVersion', 'policySha256', 'submittedBy', 'submittedByKeyId', 'inputFiles', 'attempts', 'errorCode', 'createdAt', 'startedAt', 'finishedAt']);
    expect(rows.slice(1).map((r) => [r[0][0], r[2], r[4], r[7], r[11]]).sort()).toEqual([
      ['b', 'failed', 'beta', 'researcher-1', 'IMAGE_INVALID'],
      ['c', 'queued', 'beta', 'researcher-2', ''],
    ]);
    expect((await request(t.api.app).get('/v1/jobs?format=csv').set(bearer(t.keys.researcher))).status).toBe(403);
    const audit = await request(t.api.app).get('/v1/audit?action=jobs.exported').set(bearer(t.keys.auditor));
    expect((audit.body.entries as AuditEntry[]).length).toBe(1);
  });
});

describe('GET /v1/audit filters and exports', () => {
  it('narrows by action, actor and time', async () => {
    const all = (await request(t.api.app).get('/v1/audit').set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    const puts = (await request(t.api.app).get('/v1/audit?action=policy.put').set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(puts.map((e) => e.target)).toEqual(['policy:alpha', 'policy:beta']);
    const byActor = (await request(t.api.app).get('/v1/audit?actor=committee-1').set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(byActor.length).toBeGreaterThanOrEqual(2);
    expect(byActor.every((e) => e.actor.includes('committee-1'))).toBe(true);
    const second = all[1];
    const from = (await request(t.api.app).get(`/v1/audit?from=${encodeURIComponent(second.at)}`).set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(from.every((e) => e.at >= second.at)).toBe(true);
    expect(from.length).toBeLessThan(all.length + 1);
    const before = (await request(t.api.app).get('/v1/audit?to=2000-01-01').set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(before).toEqual([]);
    const today = all[0].at.slice(0, 10);
    const wholeDay = (await request(t.api.app).get(`/v1/audit?from=${today}&to=${today}&action=policy.put`).set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(wholeDay).toHaveLength(2);
  });

  it('pages keep the filters in next', async () => {
    const res = await request(t.api.app).get('/v1/audit?action=policy.put&limit=1').set(bearer(t.keys.auditor));
    expect(res.body.entries).toHaveLength(1);
    expect(res.body.next).toMatch(/action=policy\.put/);
    const next = await request(t.api.app).get(res.body.next as string).set(bearer(t.keys.auditor));
    expect((next.body.entries as AuditEntry[])[0].target).toBe('policy:beta');
  });

  it('exports the filtered log as CSV or JSON attachments, audited', async () => {
    const json = await request(t.api.app).get('/v1/audit?format=json&action=policy.put').set(bearer(t.keys.auditor));
    expect(json.status).toBe(200);
    expect(json.headers['content-disposition']).toContain('attachment; filename=veil-audit.json');
    const entries = JSON.parse(json.text) as AuditEntry[];
    expect(entries.map((e) => e.target)).toEqual(['policy:alpha', 'policy:beta']);
    const csv = await request(t.api.app).get('/v1/audit?format=csv&action=policy.put').set(bearer(t.keys.committee));
    expect(csv.headers['content-disposition']).toContain('attachment; filename=veil-audit.csv');
    const rows = parseCsv(csv.text);
    expect(rows[0]).toEqual(['seq', 'at', 'actor', 'role', 'action', 'target', 'policyName', 'policyVersion', 'policySha256', 'detail', 'prevHash', 'hash']);
    expect(rows.slice(1).map((r) => [r[0], r[5], r[11]])).toEqual(entries.map((e) => [String(e.seq), e.target, e.hash]));
    const exported = (await request(t.api.app).get('/v1/audit?action=audit.exported').set(bearer(t.keys.auditor))).body.entries as AuditEntry[];
    expect(exported.map((e) => e.target)).toEqual(['audit:json', 'audit:csv']);
    expect((await request(t.api.app).get('/v1/audit?format=csv').set(bearer(t.keys.researcher))).status).toBe(403);
  });

  it('refuses malformed filters with 400', async () => {
    for (const [query, field] of [['?from=yesterday', 'from'], ['?to=2026-13-45T99', 'to'], ['?action=DROP TABLE', 'action'], ['?format=xml', 'format']]) {
      const res = await request(t.api.app).get(`/v1/audit${query}`).set(bearer(t.keys.auditor));
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
  });
});

describe('CSV cells that a spreadsheet would run', () => {
  it('are written as text', async () => {
    const { csvLine } = await import('../../src/api/csvExport.js');
    expect(csvLine(['=1+1', '-x', 'a,b', 'say "hi"', 3, null])).toBe(`'=1+1,'-x,"a,b","say ""hi""",3,\r\n`);
  });
});
