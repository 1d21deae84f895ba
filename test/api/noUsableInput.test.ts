import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

/**
 * Issue 13 item 7, the API side of the CLI's rule: a DICOM or image job where no file could
 * be processed ends `failed` with NO_USABLE_INPUT (not `done` with an empty zip), and its
 * result answers that error.
 */
let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function storeApproved(name: string, yaml: string): Promise<void> {
  const put = await request(t.api.app).put(`/v1/policies/${name}`).set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml);
  expect(put.status).toBe(201);
  expect((await request(t.api.app).post(`/v1/policies/${name}/approve`).set(bearer(t.keys.committee))).status).toBe(200);
}

beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'no-usable-test-secret-0123456789';
  t = await startTestApi();
  await storeApproved('img', 'name: img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n');
  await storeApproved('ct', 'name: ct\nversion: 1\ndicom: { profile: basic }\n');
});
afterAll(async () => {
  await t.close();
});

describe('jobs where no file can be processed (issue 13, item 7)', () => {
  for (const { kind, policy, head } of [
    { kind: 'image', policy: 'img', head: PNG_HEAD },
    { kind: 'dicom', policy: 'ct', head: Buffer.alloc(132) },
  ]) {
    it(`a ${kind} job of undecodable files fails with NO_USABLE_INPUT; its result answers 400 with that code`, async () => {
      const submitted = await request(t.api.app)
        .post(`/v1/${kind}/jobs`)
        .set(bearer(t.keys.researcher))
        .field('policy', policy)
        .attach('files', Buffer.concat([head, Buffer.from('cut short 1')]), 'one.bin')
        .attach('files', Buffer.concat([head, Buffer.from('cut short 2')]), 'two.bin');
      expect(submitted.status).toBe(202);
      const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id);
      expect(job.status).toBe('failed');
      expect(job.error?.code).toBe('NO_USABLE_INPUT');
      // numbered upload names only: the client's file names never come back
      expect(job.error?.message).toMatch(/none of the 2/);
      expect(job.error?.message).not.toMatch(/one\.bin|two\.bin/);
      const result = await request(t.api.app).get(`/v1/jobs/${submitted.body.id}/result`).set(bearer(t.keys.researcher));
      expect(result.status).toBe(400);
      expect(result.body.error.code).toBe('NO_USABLE_INPUT');
    });
  }
});
