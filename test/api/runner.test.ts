import request from 'supertest';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src/api/server.js';
import { createApiKey } from '../../src/api/keys.js';
import { BUILT_JOB_WORKER, smallCsv, smallPolicyYaml, tempDir, LogCapture } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Jobs run in the built job process (dist/, made current by test/globalSetup.ts), not worker.ts through tsx. */
async function open(dir: string, runner: { jobTimeoutMs?: number } = {}): Promise<Api> {
  const api = await createApi({ dataDir: dir, logLevel: 'silent', logDestination: new LogCapture(), runner: { concurrency: 1, workerFile: BUILT_JOB_WORKER, ...runner } });
  return api;
}

/** An API with an approved policy `p`; returns the researcher key. */
async function withPolicy(api: Api): Promise<string> {
  const committee = createApiKey(api.ctx.db, 'committee').key;
  await request(api.app).put('/v1/policies/p').set('Authorization', `Bearer ${committee}`).set('Content-Type', 'application/yaml').send(smallPolicyYaml('p'));
  await request(api.app).post('/v1/policies/p/approve').set('Authorization', `Bearer ${committee}`);
  return createApiKey(api.ctx.db, 'researcher').key;
}

async function submitBig(api: Api, researcher: string): Promise<string> {
  const res = await request(api.app).post('/v1/tabular/jobs').set('Authorization', `Bearer ${researcher}`).field('policy', 'p').attach('file', Buffer.from(smallCsv(200_000)), 'big.csv');
  expect(res.status).toBe(202);
  return res.body.id as string;
}

function jobProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('--veil-job-worker')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
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

  it('a job process that dies fails its job with WORKER_CRASHED; the result answers 500', async () => {
    const scratch = tempDir('veil-runner-');
    cleanups.push(scratch.cleanup);
    const api = await open(scratch.dir);
    cleanups.push(() => api.close());
    const researcher = await withPolicy(api);
    const id = await submitBig(api, researcher);
    let pids: number[] = [];
    for (;;) {
      pids = jobProcesses();
      if (pids.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(pids[0], 'SIGKILL');
    const job = await waitForJob(api.app, researcher, id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('WORKER_CRASHED');
    expect(job.error?.message).toMatch(/SIGKILL/);
    const result = await request(api.app).get(`/v1/jobs/${id}/result`).set('Authorization', `Bearer ${researcher}`);
    expect(result.status).toBe(500);
    expect(result.body.error.code).toBe('WORKER_CRASHED');
  });

  it('a job over the time limit is stopped and failed with JOB_TIMEOUT', async () => {
    const scratch = tempDir('veil-runner-');
    cleanups.push(scratch.cleanup);
    const api = await open(scratch.dir, { jobTimeoutMs: 300 });
    cleanups.push(() => api.close());
    const researcher = await withPolicy(api);
    const id = await submitBig(api, researcher);
    const job = await waitForJob(api.app, researcher, id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('JOB_TIMEOUT');
    expect(jobProcesses()).toEqual([]);
  });
});

describe('data dir lock', () => {
  it('refuses a second server on the same data dir until the first closes', async () => {
    const scratch = tempDir('veil-lock-');
    cleanups.push(scratch.cleanup);
    const first = await open(scratch.dir);
    await expect(open(scratch.dir)).rejects.toThrow(/already serves/);
    await first.close();
    const second = await open(scratch.dir);
    await second.close();
  });

  it('takes over the lock of a dead server, and refuses a live one', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const scratch = tempDir('veil-lock-');
    cleanups.push(scratch.cleanup);
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    cleanups.push(() => void live.kill('SIGKILL'));
    writeFileSync(`${scratch.dir}/server.pid`, `${live.pid}\n`);
    await expect(open(scratch.dir)).rejects.toThrow(/another veil serve \(pid \d+\)/);
    live.kill('SIGKILL');
    await new Promise((r) => live.once('exit', r));
    const api = await open(scratch.dir);
    await api.close();
  });
});
