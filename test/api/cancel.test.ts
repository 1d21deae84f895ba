import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADULT_DIR, adultHierarchyFiles, adultPolicyYaml, smallCsv, smallPolicyYaml, tempDir } from './helpers.js';
import type { JobBody } from './jobsHelpers.js';
import { api, childPids, createKeyWithCli, isAlive, startServerProcess, waitUntil, type ServerProcess } from './serverProcess.js';

/**
 * POST /v1/jobs/:id/cancel against a real `veil serve` (embedded runner, one job at a time):
 * a queued job never starts, a running job's process is killed and its files removed, the
 * status is `cancelled` with one `job.cancelled` entry however often it is asked, and a
 * finished job cannot be cancelled. The queue's cancel is tested in test/api/queue.
 */
let server: ServerProcess;
let scratch: { dir: string; cleanup(): void };
let dataDir: string;
let keys: { committee: string; researcher: string; researcher2: string; auditor: string };

beforeAll(async () => {
  scratch = tempDir('veil-cancel-');
  dataDir = join(scratch.dir, 'data');
  mkdirSync(dataDir);
  keys = {
    committee: createKeyWithCli(dataDir, 'committee', 'chair'),
    researcher: createKeyWithCli(dataDir, 'researcher', 'ana'),
    researcher2: createKeyWithCli(dataDir, 'researcher', 'bo'),
    auditor: createKeyWithCli(dataDir, 'auditor', 'otto'),
  };
  server = await startServerProcess(dataDir, ['--concurrency', '1']);
  await putApproved('adult', adultPolicyYaml('adult', 5), adultHierarchyFiles());
  await putApproved('small', smallPolicyYaml('small'));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  scratch?.cleanup();
});

async function putApproved(name: string, yaml: string, hierarchies: { name: string; path: string }[] = []): Promise<void> {
  const form = new FormData();
  form.append('policy', new Blob([yaml], { type: 'application/yaml' }), `${name}.yaml`);
  for (const file of hierarchies) form.append('hierarchies', new Blob([readFileSync(file.path)]), file.name);
  expect((await api(server.base, keys.committee, `/v1/policies/${name}`, { method: 'PUT', body: form })).status).toBe(201);
  expect((await api(server.base, keys.committee, `/v1/policies/${name}/approve`, { method: 'POST' })).status).toBe(200);
}

async function submitTabular(policy: string, csv: Buffer | string): Promise<string> {
  const form = new FormData();
  form.append('policy', policy);
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'table.csv');
  const res = await api<{ id: string }>(server.base, keys.researcher, '/v1/tabular/jobs', { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return res.body.id;
}

const job = async (id: string): Promise<JobBody> => (await api<JobBody>(server.base, keys.researcher, `/v1/jobs/${id}`)).body;
const cancel = (id: string, key = keys.researcher) => api<JobBody & { error?: { code: string } }>(server.base, key, `/v1/jobs/${id}/cancel`, { method: 'POST' });

async function auditActions(id: string): Promise<string[]> {
  const audit = await api<{ entries: { action: string; target: string }[] }>(server.base, keys.auditor, '/v1/audit?limit=5000');
  return audit.body.entries.filter((e) => e.target === `job:${id}`).map((e) => e.action);
}

describe('POST /v1/jobs/:id/cancel (embedded runner)', () => {
  it('stops a running job (its process killed, its files removed) and a queued one before it starts', async () => {
    const adult = readFileSync(join(ADULT_DIR, 'adult.csv'));
    const running = await submitTabular('adult', adult);
    const queued = await submitTabular('adult', adult);
    await waitUntil(async () => (await job(running)).status === 'running', 60_000);
    // one slot: the second job waits
    expect((await job(queued)).status).toBe('queued');
    const pids = childPids(server.child.pid ?? -1);
    expect(pids).toHaveLength(1);

    // only the submitter or the committee may cancel; others do not even see the job
    expect((await cancel(queued, keys.researcher2)).status).toBe(404);
    const byAuditor = await cancel(queued, keys.auditor);
    expect(byAuditor.status).toBe(403);

    const first = await cancel(queued);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('cancelled');
    const stopped = await cancel(running, keys.committee);
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe('cancelled');

    // the job process is killed, the partial work and the input removed
    await waitUntil(() => !isAlive(pids[0]), 30_000);
    await waitUntil(() => !existsSync(join(dataDir, 'jobs', running, 'work')) && !existsSync(join(dataDir, 'jobs', running, 'input')), 30_000);
    expect(existsSync(join(dataDir, 'jobs', running, 'out'))).toBe(false);
    expect(existsSync(join(dataDir, 'jobs', queued, 'input'))).toBe(false);

    // the queued job never started, and no other job process came up for it
    const never = await job(queued);
    expect(never).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null });
    expect(childPids(server.child.pid ?? -1)).toEqual([]);
    expect((await job(running)).status).toBe('cancelled');

    // twice is the same answer, and still one audit entry each
    const again = await cancel(running);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('cancelled');
    expect((await auditActions(running)).filter((a) => a !== 'job.submit')).toEqual(['job.cancelled']);
    expect((await auditActions(queued)).filter((a) => a !== 'job.submit')).toEqual(['job.cancelled']);

    // a cancelled job has no result and no report; its event stream ends at once, with it
    for (const path of ['result', 'report']) {
      const res = await api<{ error: { code: string } }>(server.base, keys.researcher, `/v1/jobs/${running}/${path}`);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('JOB_CANCELLED');
    }
    const events = await api(server.base, keys.researcher, `/v1/jobs/${running}/events`);
    expect(events.status).toBe(200);
    expect(events.text).toContain('"status":"cancelled"');
    const listed = await api<{ jobs: JobBody[] }>(server.base, keys.researcher, '/v1/jobs?status=cancelled');
    expect(listed.body.jobs.map((j) => j.id).sort()).toEqual([running, queued].sort());
  }, 180_000);

  it('a restart removes what a cancelled job left behind (a server stopped between the record and the clean-up)', async () => {
    const listed = await api<{ jobs: JobBody[] }>(server.base, keys.researcher, '/v1/jobs?status=cancelled');
    const id = listed.body.jobs[0]?.id;
    expect(id).toBeDefined();
    await server.stop();
    const leftover = join(dataDir, 'jobs', id, 'work');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'partial.csv'), 'a,b\n');
    server = await startServerProcess(dataDir, ['--concurrency', '1']);
    await waitUntil(() => !existsSync(leftover), 30_000);
    expect((await job(id)).status).toBe('cancelled');
  }, 120_000);

  it('refuses to cancel a finished job (409 JOB_FINISHED), and the job keeps its result', async () => {
    const id = await submitTabular('small', smallCsv());
    await waitUntil(async () => ['done', 'failed'].includes((await job(id)).status), 120_000, 200);
    expect((await job(id)).status).toBe('done');
    const res = await cancel(id);
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('JOB_FINISHED');
    expect((await job(id)).status).toBe('done');
    expect((await api(server.base, keys.researcher, `/v1/jobs/${id}/result`)).status).toBe(200);
    expect(await auditActions(id)).not.toContain('job.cancelled');
  }, 180_000);

  it('/healthz of the embedded runner says nothing of a queue', async () => {
    const health = await api<Record<string, unknown>>(server.base, keys.auditor, '/healthz');
    expect(health.body.status).toBeDefined();
    expect(health.body).not.toHaveProperty('queue');
  });
});
