/**
 * Hostile policy bodies through PUT /v1/policies/:name (issue 13, item 5): 400 POLICY_INVALID
 * with the JSON error shape, never 500, and the server keeps answering /healthz meanwhile.
 * POLICY_INVALID lists every problem in error.issues, and a job override of the wrong type
 * says what was expected and found (item 10).
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE } from '../policy/hostile.js';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'bomb-test-secret-0123456789';
  t = await startTestApi();
});
afterAll(async () => {
  await t.close();
});

const bearer = () => ({ Authorization: `Bearer ${t.keys.committee}` });
const putYaml = (name: string, yaml: string) => request(t.api.app).put(`/v1/policies/${name}`).set(bearer()).set('Content-Type', 'application/yaml').send(yaml);

describe('PUT /v1/policies with hostile bodies', () => {
  for (const [name, make] of Object.entries(HOSTILE)) {
    it(`${name}: 400 POLICY_INVALID`, async () => {
      const res = await putYaml('p', make());
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('POLICY_INVALID');
      expect(res.body.error.message).toMatch(/aliases|nested more than 64 levels|at most 256 KiB|more than 40000 values/);
      expect(res.body.error.issues).toHaveLength(1);
    });
  }

  it('as the policy part of a multipart body too', async () => {
    const res = await request(t.api.app).put('/v1/policies/p').set(bearer()).attach('policy', Buffer.from(HOSTILE['alias bomb']()), 'policy.yaml');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('POLICY_INVALID');
  });

  it('/healthz answers while hostile bodies are refused, and after', async () => {
    const hostile = Object.values(HOSTILE).map((make) => putYaml('p', make()));
    const health = request(t.api.app).get('/healthz');
    const [healthRes, ...refusals] = await Promise.all([health, ...hostile]);
    expect(healthRes.status).toBe(200);
    expect(refusals.map((r) => r.status)).toEqual(refusals.map(() => 400));
    expect((await request(t.api.app).get('/healthz')).status).toBe(200);
    // and a valid policy is still stored
    expect((await putYaml('ok', smallPolicyYaml('ok'))).status).toBe(201);
  });
});

describe('POLICY_INVALID lists every problem', () => {
  it('error.issues holds line, field and message of each', async () => {
    const text = smallPolicyYaml('typo').replace('  privacy:', '  privacyy:').replace('version: 3', 'version: 3\nvesion: 4');
    const res = await putYaml('typo', text);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('POLICY_INVALID');
    expect(res.body.error.message).toMatch(/\(and 2 more: see error\.issues\)$/);
    const issues = (res.body.error.issues as { line: number; field: string; message: string }[]).map((i) => `${i.line} ${i.field}: ${i.message}`).sort();
    expect(issues).toEqual(['10 tabular.privacyy: unknown field "privacyy"', '3 vesion: unknown field "vesion"', '5 tabular.privacy: required field is missing (expected a mapping)']);
  });

  it('a wrong type says what was found', async () => {
    const res = await putYaml('k', smallPolicyYaml('k').replace('k: 2', 'k: "10"'));
    expect(res.body.error).toMatchObject({ code: 'POLICY_INVALID', field: 'tabular.privacy.k', message: 'line 9: expected a number, got the string "10"' });
  });
});

describe('a job override of the wrong type', () => {
  it('is OVERRIDE_REFUSED naming the field, the expected type and what was sent', async () => {
    expect((await putYaml('over', smallPolicyYaml('over'))).status).toBe(201);
    expect((await request(t.api.app).post('/v1/policies/over/approve').set(bearer()).send({})).status).toBe(200);
    const submit = (overrides: string) =>
      request(t.api.app).post('/v1/tabular/jobs').set({ Authorization: `Bearer ${t.keys.researcher}` }).field('policy', 'over').field('overrides', overrides).attach('file', Buffer.from(smallCsv()), 'cohort.csv');
    const ten = await submit('{"k":"ten"}');
    expect(ten.status).toBe(400);
    expect(ten.body.error).toMatchObject({ code: 'OVERRIDE_REFUSED', field: 'overrides.k', message: expect.stringMatching(/^expected a number, got the string "ten"/) });
    const l = await submit('{"l":"two"}');
    expect(l.body.error).toMatchObject({ code: 'OVERRIDE_REFUSED', field: 'overrides.l', message: expect.stringMatching(/^expected a number or \{ variant, l, c \}, got the string "two"/) });
  });
});
