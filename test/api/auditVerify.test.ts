import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/server.js';
import { createApiKey } from '../../src/api/keys.js';
import { GENESIS_HASH, unkeyedAuditHash } from '../../src/api/audit.js';
import { openDatabase } from '../../src/api/db.js';
import { auditRows, deleteEntries, editActor, editAndRechainWithSha256 } from './auditTamper.js';
import { LogCapture, smallPolicyYaml, startTestApi, tempDir, type TestApi } from './helpers.js';

let t: TestApi | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  cleanups.splice(0).forEach((c) => c());
});

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** A server whose log holds 8 entries: policy puts and approvals, and refusals. */
async function serverWithEntries(): Promise<TestApi> {
  const api = await startTestApi();
  for (const name of ['a', 'b', 'c']) {
    const put = await request(api.api.app).put(`/v1/policies/${name}`).set(bearer(api.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml(name));
    expect(put.status).toBe(201);
  }
  await request(api.api.app).post('/v1/policies/a/approve').set(bearer(api.keys.committee));
  await request(api.api.app).post('/v1/policies/b/approve').set(bearer(api.keys.committee));
  // refused: written as access.denied
  await request(api.api.app).put('/v1/policies/d').set(bearer(api.keys.researcher)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('d'));
  await request(api.api.app).get('/v1/audit').set(bearer(api.keys.researcher));
  await request(api.api.app).post('/v1/policies/c/approve').set(bearer(api.keys.committee));
  expect(auditRows(api.dir)).toHaveLength(8);
  return api;
}

async function verify(api: TestApi, query = '') {
  const res = await request(api.api.app).get(`/v1/audit/verify${query}`).set(bearer(api.keys.auditor));
  expect(res.status).toBe(200);
  return res.body as { intact: boolean; entries: number; firstBroken: number | null; head: string; problem?: string; expectedHeadFound?: boolean };
}

describe('GET /v1/audit/verify', () => {
  it('answers intact with the entry count and the head, for auditors only', async () => {
    t = await serverWithEntries();
    const rows = auditRows(t.dir);
    expect(await verify(t)).toEqual({ intact: true, entries: 8, firstBroken: null, head: rows[7].hash, unkeyedThrough: 0 });
    const denied = await request(t.api.app).get('/v1/audit/verify').set(bearer(t.keys.researcher));
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    const bad = await request(t.api.app).get('/v1/audit/verify?expectHead=zz').set(bearer(t.keys.auditor));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_QUERY', field: 'expectHead' });
  });

  it('names an entry whose actor was edited in the database', async () => {
    t = await serverWithEntries();
    editActor(t.dir, 5);
    expect(await verify(t)).toMatchObject({ intact: false, entries: 8, firstBroken: 5 });
  });

  it('names the first missing entry when a middle row was deleted', async () => {
    t = await serverWithEntries();
    deleteEntries(t.dir, 4);
    const verdict = await verify(t);
    expect(verdict).toMatchObject({ intact: false, entries: 7, firstBroken: 4 });
    expect(verdict.problem).toBe('entry 4 is missing');
  });

  it('detects an edit whose whole chain was recomputed with plain SHA-256 (the old attack)', async () => {
    t = await serverWithEntries();
    editAndRechainWithSha256(t.dir, 6);
    const rows = auditRows(t.dir);
    // every link matches as plain SHA-256: what the old unkeyed chain accepted
    expect(rows.every((row, i) => row.prev_hash === (i === 0 ? GENESIS_HASH : rows[i - 1].hash))).toBe(true);
    expect(await verify(t)).toMatchObject({ intact: false, firstBroken: 1 });
  });

  it('a deleted tail is only seen against a head written down before', async () => {
    t = await serverWithEntries();
    const written = (await verify(t)).head;
    expect(await verify(t, `?expectHead=${written}`)).toMatchObject({ intact: true, expectedHeadFound: true });
    deleteEntries(t.dir, 7, 8);
    // the shorter log is a valid chain on its own…
    expect(await verify(t)).toMatchObject({ intact: true, entries: 6 });
    // …but no longer contains the head the auditor wrote down
    expect(await verify(t, `?expectHead=${written}`)).toMatchObject({ intact: false, entries: 6, expectedHeadFound: false, firstBroken: null });
  });
});

describe('a data dir an older (unkeyed) Veil wrote', () => {
  it('is closed by a keyed chain.rekeyed entry at start, and its unkeyed entries still verify', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const old = openDatabase(dir);
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const draft = { seq, at: new Date().toISOString(), actor: 'cli', role: 'operator', action: 'key.create', target: `key:${seq}`, policy: null, prevHash: prev };
      prev = unkeyedAuditHash(draft);
      old.prepare('INSERT INTO audit_log (seq, at, actor, role, action, target, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(seq, draft.at, draft.actor, draft.role, draft.action, draft.target, draft.prevHash, prev);
    }
    old.close();
    const logs = new LogCapture();
    const api = await createApi({ dataDir: dir, logDestination: logs, runner: { concurrency: 1 } });
    try {
      const auditor = createApiKey(api.ctx.db, 'auditor', 'auditor').key;
      const res = await request(api.app).get('/v1/audit/verify').set(bearer(auditor));
      expect(res.body).toMatchObject({ intact: true, entries: 4, unkeyedThrough: 3, firstBroken: null });
      expect(auditRows(dir)[3]).toMatchObject({ seq: 4, action: 'chain.rekeyed', target: 'audit:unkeyed-through:3' });
      expect(logs.text).toContain('the existing entries were taken as unkeyed');
      // an unkeyed entry can still be proven edited (up to the rekey entry, the old rule holds)
      editActor(dir, 2);
      expect((await request(api.app).get('/v1/audit/verify').set(bearer(auditor))).body).toMatchObject({ intact: false, firstBroken: 2 });
    } finally {
      await api.close();
    }
    // the boundary is kept beside the key, outside the database
    expect(JSON.parse(readFileSync(join(dir, 'secrets', 'audit-chain.json'), 'utf8'))).toEqual({ unkeyedThrough: 3 });
  });
});
