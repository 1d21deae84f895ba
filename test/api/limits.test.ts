import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  t = await startTestApi({ limits: { maxUploadBytes: 64 * 1024, maxPolicyBytes: 4096, rateLimitPerMinute: 12 } });
  const put = await request(t.api.app).put('/v1/policies/lim').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('lim'));
  expect(put.status).toBe(201);
  await request(t.api.app).post('/v1/policies/lim/approve').set(bearer(t.keys.committee));
  await request(t.api.app).put('/v1/policies/limd').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send('name: limd\nversion: 1\ndicom: { profile: basic }\n');
  await request(t.api.app).post('/v1/policies/limd/approve').set(bearer(t.keys.committee));
});
afterAll(async () => {
  await t.close();
});

describe('size limits', () => {
  it('413 for an upload declared larger than the limit', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const res = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'lim').attach('file', big, 'big.csv');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('413 for one file over the limit (counted while receiving) and for files that add up past it', async () => {
    const overOne = await request(t.api.app)
      .post('/v1/tabular/jobs')
      .set(bearer(t.keys.researcher))
      .field('policy', 'lim')
      .attach('file', Buffer.from(smallCsv(3000)), 'big.csv');
    expect(overOne.status).toBe(413);
    expect(overOne.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const sum = await request(t.api.app)
      .post('/v1/dicom/jobs')
      .set(bearer(t.keys.researcher))
      .field('policy', 'lim')
      .attach('files', Buffer.alloc(40 * 1024), 'a.dcm')
      .attach('files', Buffer.alloc(40 * 1024), 'b.dcm');
    // this policy has no dicom section: the policy check answers first (400), before any file is kept
    expect(sum.status).toBe(400);
    expect(sum.body.error.code).toBe('POLICY_SECTION_MISSING');
    const total = await request(t.api.app)
      .post('/v1/dicom/jobs')
      .set(bearer(t.keys.researcher))
      .field('policy', 'limd')
      .attach('files', Buffer.alloc(40 * 1024), 'a.dcm')
      .attach('files', Buffer.alloc(40 * 1024), 'b.dcm');
    expect(total.status).toBe(413);
    expect(total.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('413 for a policy body over the policy limit', async () => {
    const yaml = `${smallPolicyYaml('lim')}# ${'x'.repeat(5000)}\n`;
    const res = await request(t.api.app).put('/v1/policies/lim').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('leaves no upload behind after a refusal', async () => {
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
  });
});

describe('rate limits', () => {
  it('429 once a key exceeds its requests per minute; other keys are not affected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await request(t.api.app).get('/v1/policies').set(bearer(t.keys.auditor))).status);
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(12)).toEqual([429, 429]);
    const limited = await request(t.api.app).get('/v1/policies').set(bearer(t.keys.auditor));
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(limited.headers.ratelimit).toBeDefined();
    expect((await request(t.api.app).get('/v1/policies').set(bearer(t.keys.researcher2))).status).toBe(200);
    expect((await request(t.api.app).get('/healthz')).status).toBe(200);
  });
});
