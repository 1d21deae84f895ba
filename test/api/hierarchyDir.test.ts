import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADULT_DIR, ADULT_QIS, adultPolicyYaml, startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  t = await startTestApi({ hierarchyDir: ADULT_DIR });
});
afterAll(async () => {
  await t.close();
});

describe('operator hierarchy library (--hierarchy-dir)', () => {
  it('a YAML-only PUT takes the hierarchy files it names from the library, copied into the version', async () => {
    const res = await request(t.api.app).put('/v1/policies/adult').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(adultPolicyYaml('adult'));
    expect(res.status).toBe(201);
    expect(res.body.hierarchies).toHaveLength(ADULT_QIS.length);
    const stored = await request(t.api.app).get('/v1/policies/adult').set(bearer(t.keys.auditor));
    for (const h of stored.body.hierarchies as { path: string; sha256: string }[]) {
      expect(h.sha256).toBe(createHash('sha256').update(readFileSync(join(ADULT_DIR, h.path))).digest('hex'));
    }
  });

  it('an uploaded file wins over the library; names outside it still fail', async () => {
    const yaml = adultPolicyYaml('adult').replace('adult_hierarchy_sex.csv', 'custom/sex.csv');
    const missing = await request(t.api.app).put('/v1/policies/adult').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml);
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('HIERARCHY_MISSING');
    const uploaded = await request(t.api.app)
      .put('/v1/policies/adult')
      .set(bearer(t.keys.committee))
      .field('policy', yaml)
      .attach('hierarchies', Buffer.from('Female;*\nMale;*\n'), 'sex.csv');
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.hierarchies).toContain('custom/sex.csv');
  });
});
