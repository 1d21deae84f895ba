import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src/api/server.js';
import { createApiKey } from '../../src/api/keys.js';
import { smallCsv, smallPolicyYaml, tempDir, LogCapture } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(dir: string): Promise<Api> {
  const api = await createApi({ dataDir: dir, logLevel: 'silent', logDestination: new LogCapture(), runner: { concurrency: 1 } });
  return api;
}

describe('job runner', () => {
  it('an orderly stop puts running jobs back in the queue without using up an attempt', async () => {
    const scratch = tempDir('veil-runner-');
    cleanups.push(scratch.cleanup);
    let api = await open(scratch.dir);
    const committee = createApiKey(api.ctx.db, 'committee').key;
    const researcher = createApiKey(api.ctx.db, 'researcher').key;
    await request(api.app).put('/v1/policies/p').set('Authorization', `Bearer ${committee}`).set('Content-Type', 'application/yaml').send(smallPolicyYaml('p'));
    await request(api.app).post('/v1/policies/p/approve').set('Authorization', `Bearer ${committee}`);
    const submitted = await request(api.app)
      .post('/v1/tabular/jobs')
      .set('Authorization', `Bearer ${researcher}`)
      .field('policy', 'p')
      .attach('file', Buffer.from(smallCsv(200_000)), 'big.csv');
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    // the job process is up once the job is running
    for (;;) {
      const state = await request(api.app).get(`/v1/jobs/${id}`).set('Authorization', `Bearer ${researcher}`);
      if (state.body.status === 'running') break;
      expect(state.body.status).toBe('queued');
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.close();

    api = await open(scratch.dir);
    cleanups.push(() => api.close());
    const job = await waitForJob(api.app, researcher, id);
    expect(job.status).toBe('done');
    const detail = await request(api.app).get(`/v1/jobs/${id}`).set('Authorization', `Bearer ${researcher}`);
    expect(detail.body.attempts).toBe(1);
  });
});
