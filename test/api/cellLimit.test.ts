import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusForCode } from '../../src/api/errors.js';
import { startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

/** Issue 13 item 3, the API side: the server's own cell limit fails the job with CSV_CELL_TOO_LARGE (422). */
let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  t = await startTestApi({ runner: { concurrency: 1, maxCellBytes: 1000 } });
  const yaml = 'name: cells\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n';
  expect((await request(t.api.app).put('/v1/policies/cells').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml)).status).toBe(201);
  expect((await request(t.api.app).post('/v1/policies/cells/approve').set(bearer(t.keys.committee))).status).toBe(200);
});
afterAll(async () => {
  await t.close();
});

describe('a tabular job with a cell over the server limit', () => {
  it('fails with CSV_CELL_TOO_LARGE naming the line and column, and its result answers 422', async () => {
    expect(statusForCode('CSV_CELL_TOO_LARGE')).toBe(422);
    const csv = `age,note\n30,a\n30,b\n31,${'q'.repeat(1500)}\n31,d\n`;
    const submitted = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'cells').attach('file', Buffer.from(csv), 'in.csv');
    expect(submitted.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('CSV_CELL_TOO_LARGE');
    expect(job.error?.message).toMatch(/:4: a cell of column "note" is larger than the limit of 1000 bytes/);
    expect(job.error?.message).not.toContain('qqq');
    const result = await request(t.api.app).get(`/v1/jobs/${submitted.body.id}/result`).set(bearer(t.keys.researcher));
    expect(result.status).toBe(422);
    expect(result.body.error.code).toBe('CSV_CELL_TOO_LARGE');
  });
});
