import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

/** The session clock: tests move it instead of waiting. */
let now = Date.parse('2026-03-01T08:00:00Z');
const IDLE_MS = 10 * 60_000;
const ABSOLUTE_MS = 60 * 60_000;
let t: TestApi;

beforeAll(async () => {
  t = await startTestApi({ sessions: { idleMs: IDLE_MS, absoluteMs: ABSOLUTE_MS, now: () => now } });
});
afterAll(async () => {
  await t.close();
});

interface SignedIn {
  cookie: string;
  csrf: string;
  body: Record<string, unknown>;
  setCookie: string;
}

async function signIn(key: string): Promise<SignedIn> {
  const res = await request(t.api.app).post('/v1/session').send({ key });
  expect(res.status).toBe(200);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';
  const cookie = setCookie.split(';')[0];
  return { cookie, csrf: String(res.body.csrfToken), body: res.body as Record<string, unknown>, setCookie };
}

async function auditActions(): Promise<{ action: string; actor: string; target: string }[]> {
  const res = await request(t.api.app).get('/v1/audit?limit=5000').set('Authorization', `Bearer ${t.keys.auditor}`);
  expect(res.status).toBe(200);
  return res.body.entries as { action: string; actor: string; target: string }[];
}

describe('POST /v1/session', () => {
  it('signs in with a key: the session cookie is httpOnly, SameSite=Strict, path /, and the body names the role and a CSRF token', async () => {
    const { setCookie, body } = await signIn(t.keys.committee);
    expect(setCookie).toMatch(/^veil_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure'); // plain http on loopback
    expect(body).toMatchObject({ role: 'committee', name: 'committee-1', keyId: expect.stringMatching(/^[a-f0-9]{16}$/), csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(Date.parse(String(body.expiresAt))).toBe(now + IDLE_MS);
    // the key never appears in the answer
    expect(JSON.stringify(body)).not.toContain(t.keys.committee);
    const entries = await auditActions();
    expect(entries.some((e) => e.action === 'session.created' && e.actor.startsWith('committee-1'))).toBe(true);
  });

  it('refuses an unknown key with 401, audited without the key', async () => {
    const forged = 'veil_' + 'A'.repeat(43);
    const res = await request(t.api.app).post('/v1/session').send({ key: forged });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(res.headers['set-cookie']).toBeUndefined();
    const entries = await auditActions();
    const refused = entries.filter((e) => e.action === 'session.refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(JSON.stringify(entries)).not.toContain(forged);
  });

  it('refuses a body that is not JSON, or has no key, with 400', async () => {
    const form = await request(t.api.app).post('/v1/session').type('form').send({ key: t.keys.committee });
    expect(form.status).toBe(400);
    const empty = await request(t.api.app).post('/v1/session').send({});
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toBe('key');
  });
});

describe('the session cookie authenticates /v1', () => {
  it('reads with the cookie alone; GET /v1/session returns the same CSRF token', async () => {
    const s = await signIn(t.keys.committee);
    const policies = await request(t.api.app).get('/v1/policies').set('Cookie', s.cookie);
    expect(policies.status).toBe(200);
    const me = await request(t.api.app).get('/v1/session').set('Cookie', s.cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'committee', csrfToken: s.csrf, keyId: s.body.keyId });
  });

  it('a state-changing request with the cookie needs X-CSRF-Token (403 CSRF_FAILED, audited); with it, it works', async () => {
    const s = await signIn(t.keys.committee);
    const yaml = smallPolicyYaml('session-policy');
    const missing = await request(t.api.app).put('/v1/policies/session-policy').set('Cookie', s.cookie).type('application/yaml').send(yaml);
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('CSRF_FAILED');
    const wrong = await request(t.api.app).put('/v1/policies/session-policy').set('Cookie', s.cookie).set('X-CSRF-Token', 'x'.repeat(43)).type('application/yaml').send(yaml);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('CSRF_FAILED');
    const ok = await request(t.api.app).put('/v1/policies/session-policy').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).type('application/yaml').send(yaml);
    expect(ok.status).toBe(201);
    const entries = await auditActions();
    expect(entries.filter((e) => e.action === 'csrf.refused').length).toBeGreaterThanOrEqual(2);
    expect(entries.some((e) => e.action === 'policy.put' && e.actor.startsWith('committee-1'))).toBe(true);
  });

  it('signing in again with the old cookie ends the old session', async () => {
    const first = await signIn(t.keys.auditor);
    const again = await request(t.api.app).post('/v1/session').set('Cookie', first.cookie).send({ key: t.keys.auditor });
    expect(again.status).toBe(200);
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', first.cookie)).status).toBe(401);
    const second = (([] as string[]).concat(again.headers['set-cookie'] ?? [])[0] ?? '').split(';')[0];
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', second)).status).toBe(200);
  });

  it("another session's token is refused", async () => {
    const a = await signIn(t.keys.committee);
    const b = await signIn(t.keys.committee);
    const res = await request(t.api.app).post('/v1/policies/session-policy/approve').set('Cookie', a.cookie).set('X-CSRF-Token', b.csrf).send({});
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CSRF_FAILED');
  });

  it('bearer requests need no CSRF token', async () => {
    const res = await request(t.api.app)
      .put('/v1/policies/bearer-policy')
      .set('Authorization', `Bearer ${t.keys.committee}`)
      .type('application/yaml')
      .send(smallPolicyYaml('bearer-policy'));
    expect(res.status).toBe(201);
  });

  it('roles hold as for bearer keys: a researcher session cannot store a policy or read the audit log (403)', async () => {
    const s = await signIn(t.keys.researcher);
    const put = await request(t.api.app).put('/v1/policies/session-policy').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).type('application/yaml').send(smallPolicyYaml('session-policy'));
    expect(put.status).toBe(403);
    expect(put.body.error.code).toBe('FORBIDDEN');
    const audit = await request(t.api.app).get('/v1/audit').set('Cookie', s.cookie);
    expect(audit.status).toBe(403);
  });

  it('an unknown or malformed cookie is 401', async () => {
    for (const cookie of ['veil_session=' + 'B'.repeat(43), 'veil_session=../../x', 'other=1']) {
      const res = await request(t.api.app).get('/v1/policies').set('Cookie', cookie);
      expect(res.status).toBe(401);
    }
  });
});

describe('sessions end', () => {
  it('after the idle timeout', async () => {
    const s = await signIn(t.keys.auditor);
    now += IDLE_MS - 1000;
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(200);
    // that use extended the idle deadline
    now += IDLE_MS - 1000;
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(200);
    now += IDLE_MS + 1;
    const ended = await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie);
    expect(ended.status).toBe(401);
    expect(ended.body.error.code).toBe('UNAUTHENTICATED');
    const me = await request(t.api.app).get('/v1/session').set('Cookie', s.cookie);
    expect(me.status).toBe(401);
  });

  it('at the absolute limit, however busy', async () => {
    const s = await signIn(t.keys.auditor);
    const started = now;
    while (now + IDLE_MS / 2 < started + ABSOLUTE_MS) {
      now += IDLE_MS / 2;
      expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(200);
    }
    now = started + ABSOLUTE_MS;
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(401);
  });

  it('on sign-out: DELETE needs the CSRF token, then clears the cookie and ends the session (audited)', async () => {
    const s = await signIn(t.keys.committee);
    const noToken = await request(t.api.app).delete('/v1/session').set('Cookie', s.cookie);
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('CSRF_FAILED');
    const out = await request(t.api.app).delete('/v1/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf);
    expect(out.status).toBe(204);
    const cleared = ([] as string[]).concat(out.headers['set-cookie'] ?? [])[0] ?? '';
    expect(cleared).toMatch(/^veil_session=; Max-Age=0; HttpOnly; SameSite=Strict; Path=\//);
    expect((await request(t.api.app).get('/v1/policies').set('Cookie', s.cookie)).status).toBe(401);
    // the row of this session is gone (rows are keyed by the sha256 of the cookie value)
    const idHash = createHash('sha256').update(s.cookie.slice('veil_session='.length)).digest('hex');
    expect(t.api.ctx.db.prepare('SELECT id_hash FROM sessions WHERE id_hash = ?').get(idHash)).toBeUndefined();
    const entries = await auditActions();
    expect(entries.some((e) => e.action === 'session.deleted')).toBe(true);
  });

  it('when its key is revoked (deleted)', async () => {
    const { key, record } = createApiKey(t.api.ctx.db, 'auditor', 'short-lived');
    const s = await signIn(key);
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(200);
    t.api.ctx.db.prepare('DELETE FROM api_keys WHERE id = ?').run(record.id);
    expect((await request(t.api.app).get('/v1/jobs').set('Cookie', s.cookie)).status).toBe(401);
    const left = t.api.ctx.db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE key_id = ?').get(record.id) as { n: number };
    expect(left.n).toBe(0);
  });
});
