import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallPolicyYaml, tempDir } from './helpers.js';
import { parseSimpleCsv, smallestClass, type JobBody } from './jobsHelpers.js';
import { api, childPids, createKeyWithCli, isAlive, startServerProcess, waitUntil, type ServerProcess } from './serverProcess.js';

/**
 * Durability with a real server process: kill -9 while a job runs, start again on the same
 * data dir. The job is re-run (or failed with a reason once it ran --max-attempts times);
 * the killed job process does not outlive its server, and no partial result is ever served.
 */
/**
 * Rows of the table: its job works ≈ 1 CPU-s after its first progress, which the kill waits for
 * (≈ 0.1 s later); a job that finished first anyway is tried again with a new one (interruptJob).
 */
const ROWS = 200_000;
let scratch: { dir: string; cleanup(): void };
let csvPath: string;
let keys: { committee: string; researcher: string; auditor: string };
let server: ServerProcess | undefined;

function bigCsv(rows: number): string {
  const lines = ['name,age,sex,diagnosis'];
  const diagnoses = ['flu', 'asthma', 'gout', 'migraine', 'copd'];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < rows; i++) lines.push(`P${i},${18 + Math.floor(next() * 73)},${next() < 0.5 ? 'F' : 'M'},${diagnoses[Math.floor(next() * 5)]}`);
  return `${lines.join('\n')}\n`;
}

async function submit(base: string): Promise<string> {
  const form = new FormData();
  form.append('policy', 'durable');
  form.append('file', new Blob([readFileSync(csvPath)]), 'big.csv');
  const res = await api<{ id: string }>(base, keys.researcher, '/v1/tabular/jobs', { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function job(base: string, id: string): Promise<JobBody & { attempts: number }> {
  return (await api<JobBody & { attempts: number }>(base, keys.researcher, `/v1/jobs/${id}`)).body;
}

/** Waits until the job process is working (progress reported), then returns that process' PID. */
async function runningJobPid(s: ServerProcess, id: string): Promise<number> {
  await waitUntil(async () => {
    const state = await job(s.base, id);
    if (state.status === 'done' || state.status === 'failed') throw new Error(`job ended before it could be interrupted (${state.status})`);
    return state.status === 'running' && state.progress > 0;
  });
  const pids = childPids(s.child.pid as number);
  expect(pids).toHaveLength(1);
  return pids[0];
}

/**
 * Submits a job, kills the server (SIGKILL) while the job process works, waits for that
 * process to die, and starts the server again. Returns the job id. In the rare case the job
 * finished in the instant before the kill (its out/ exists), it tries again with a new job.
 */
async function interruptJob(serverArgs: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const current = server as ServerProcess;
    const id = await submit(current.base);
    const workerPid = await runningJobPid(current, id);
    await current.kill();
    // the job process notices its parent is gone and stops writing
    await waitUntil(() => !isAlive(workerPid), 30_000);
    const finishedFirst = existsSync(join(scratch.dir, 'jobs', id, 'out'));
    server = await startServerProcess(scratch.dir, serverArgs);
    if (!finishedFirst) return id;
    if (attempt === 3) throw new Error('the job always finished before the kill');
  }
}

beforeAll(async () => {
  scratch = tempDir('veil-restart-');
  csvPath = join(scratch.dir, 'big.csv');
  writeFileSync(csvPath, bigCsv(ROWS));
  keys = {
    committee: createKeyWithCli(scratch.dir, 'committee', 'chair'),
    researcher: createKeyWithCli(scratch.dir, 'researcher', 'ana'),
    auditor: createKeyWithCli(scratch.dir, 'auditor', 'otto'),
  };
  server = await startServerProcess(scratch.dir, ['--concurrency', '1']);
  const put = await api(server.base, keys.committee, '/v1/policies/durable', { method: 'PUT', headers: { 'Content-Type': 'application/yaml' }, body: smallPolicyYaml('durable', 5) });
  expect(put.status).toBe(201);
  expect((await api(server.base, keys.committee, '/v1/policies/durable/approve', { method: 'POST' })).status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
  scratch?.cleanup();
});

describe('restart durability', () => {
  it('re-runs a job interrupted by kill -9 and serves only the complete result', async () => {
    const id = await interruptJob(['--concurrency', '1']);
    if (!server) throw new Error('no server');
    const resumed = await job(server.base, id);
    expect(['queued', 'running']).toContain(resumed.status);
    // while it re-runs, the result is refused, never partial
    const early = await api<{ error: { code: string } }>(server.base, keys.researcher, `/v1/jobs/${id}/result`);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('JOB_NOT_FINISHED');

    await waitUntil(async () => ['done', 'failed'].includes((await job(server!.base, id)).status), 180_000, 100);
    const finished = await job(server.base, id);
    expect(finished.error).toBeUndefined();
    expect(finished.status).toBe('done');
    expect(finished.attempts).toBe(2);
    const result = await api(server.base, keys.researcher, `/v1/jobs/${id}/result`);
    const csv = parseSimpleCsv(result.text);
    expect(csv.rows).toHaveLength(ROWS);
    expect(smallestClass(csv, ['age', 'sex']).min).toBeGreaterThanOrEqual(5);

    const audit = await api<{ entries: { seq: number; at: string; actor: string; role: string; action: string; target: string; policy: { name: string; version: number; sha256: string } | null; prevHash: string; hash: string }[] }>(
      server.base,
      keys.auditor,
      '/v1/audit',
    );
    const mine = audit.body.entries.filter((e) => e.target === `job:${id}`).map((e) => e.action);
    expect(mine).toEqual(['job.submit', 'job.requeued', 'job.done', 'result.download']);
    // the chain survives the kill: every entry verifies under the key kept in <data-dir>/secrets/
    const auditKey = readFileSync(join(scratch.dir, 'secrets', 'audit.key'), 'utf8').trim();
    let prev = '0'.repeat(64);
    for (const e of audit.body.entries) {
      const canonical = JSON.stringify([e.seq, e.at, e.actor, e.role, e.action, e.target, e.policy?.name ?? null, e.policy?.version ?? null, e.policy?.sha256 ?? null, e.prevHash]);
      expect(e.prevHash).toBe(prev);
      expect(createHmac('sha256', auditKey).update(canonical).digest('hex')).toBe(e.hash);
      prev = e.hash;
    }
    const verdict = await api<{ intact: boolean; entries: number }>(server.base, keys.auditor, '/v1/audit/verify');
    expect(verdict.body).toMatchObject({ intact: true, entries: audit.body.entries.length });
  }, 300_000);

  it('marks a job failed with a reason once it was interrupted --max-attempts times', async () => {
    // the server started after the kill counts the attempts (the one that ran the job may be any):
    // the job runs on the server already up, and the restart is with --max-attempts 1
    const id = await interruptJob(['--concurrency', '1', '--max-attempts', '1']);
    const failed = await job((server as ServerProcess).base, id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('INTERRUPTED');
    expect(failed.error?.message).toMatch(/server stopped/);
    const result = await api<{ error: { code: string } }>((server as ServerProcess).base, keys.researcher, `/v1/jobs/${id}/result`);
    expect(result.status).toBe(500);
    expect(result.body.error.code).toBe('INTERRUPTED');
    // the partial work and the input are gone
    expect(existsSync(join(scratch.dir, 'jobs', id, 'work'))).toBe(false);
    expect(existsSync(join(scratch.dir, 'jobs', id, 'input'))).toBe(false);
  }, 300_000);
});
