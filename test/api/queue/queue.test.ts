import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../../src/policy/load.js';
import { anonymizeCsvDistributed } from '../../../src/tabular/distributed/index.js';
import { runCli } from '../../helpers.js';
import { ADULT_DIR, ADULT_QIS, adultHierarchyFiles, adultPolicyYaml, REPO_ROOT, sleep, tempDir } from '../helpers.js';
import type { JobBody } from '../jobsHelpers.js';
import { api, createKeyWithCli, isAlive, startServerProcess, waitUntil, type ServerProcess } from '../serverProcess.js';
import { startWorkerProcess, type WorkerProcess } from './processes.js';
import { startRedis, type RedisServer } from './redis.js';

/**
 * `veil serve --queue` with a real redis-server and three `veil worker` processes on one
 * shared data dir. A DICOM job is cut into chunks (a cohort section makes it two flows: header
 * passes, the cohort decision, then the chunks); one worker is killed with SIGKILL while it
 * runs a step, and the result must still equal `veil dicom deidentify` on the same files with
 * the same key, byte for byte, with one audit result for the job. A tabular job over the row
 * threshold is split into partitions, a worker is killed while it anonymizes one, and the result
 * equals the same split run undisturbed and meets the policy by anoneval. On the same set-up: an
 * image job in chunks equals `veil image redact` byte for byte, a running DICOM job is
 * cancelled (its step aborted, nothing of it left), and /healthz reports Redis.
 */
const DICOM_DIR = resolve(REPO_ROOT, '../shared/data/dicom');
const SECRET = 'queue-test-secret-0123456789abcdef';
const DICOM_POLICY = `name: ct-cohort
version: 1
dicom:
  profile: basic
  options: [retainLongitudinalModifiedDates, retainPatientCharacteristics]
  cohort: { quasiIdentifiers: [PatientAge, PatientSex], k: 2, suppressionLimit: 0.5 }
`;

const IMAGE_POLICY = 'name: img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n';

/** Small PNGs: every fourth carries a burned-in name and date, the rest are plain. */
async function syntheticImages(count: number): Promise<{ name: string; bytes: Buffer }[]> {
  const images: { name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const text = i % 4 === 0 ? `<text x="8" y="30" font-family="sans-serif" font-size="18" fill="white">DOE, JOHN 19${50 + i}-01-02</text>` : `<rect x="${10 + i * 3}" y="12" width="40" height="20" fill="#808080"/>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="48"><rect width="240" height="48" fill="#202020"/>${text}</svg>`;
    images.push({ name: `scan ${i}.png`, bytes: await sharp(Buffer.from(svg)).png().toBuffer() });
  }
  return images;
}

/**
 * A step's lock lasts 3 s (renewed every 1.5 s by the worker's idle event loop), so a killed
 * worker's step is taken over after ≈ 3–5 s instead of the default 10–15 s: the two kill tests
 * waited that long each.
 */
const WORKER_ARGS = ['--threads', '1', '--log-level', 'info', '--lock-seconds', '3'];

/**
 * The tabular job's input: the first 10,000 of Adult's 30,162 rows, for the same assertions
 * (a split run of the whole table cost ≈ 1.6 CPU-s, of these rows ≈ 1.1, in the job's steps,
 * the undisturbed run and the CLI run each; the evaluator too is quicker). At most 7,000 rows a
 * partition cuts it in 2 (6,784 and 3,216
 * rows: at 25,000 the full table was cut 20,380 and 9,782, at 12,000 in 7, at 8,000 in 13:
 * five and eleven more step processes of ≈ 0.5 CPU-s each). The kill still lands
 * mid-partition by construction: the poll (every 100 ms) kills the first worker seen running a
 * partition step, and the larger one runs for about a second.
 */
const ADULT_ROWS = 10_000;
const PARTITION_ROWS = 7_000;

/** Adult's header and first ADULT_ROWS rows, as they are in the file, written under `dir`. */
function adultSubset(dir: string): string {
  const file = join(dir, 'adult.csv');
  const lines = readFileSync(join(ADULT_DIR, 'adult.csv'), 'utf8').split('\n');
  writeFileSync(file, `${lines.slice(0, ADULT_ROWS + 1).join('\n')}\n`);
  return file;
}

let redis: RedisServer;
let server: ServerProcess;
let workers: WorkerProcess[] = [];
let scratch: { dir: string; cleanup(): void };
let dataDir: string;
let keys: { committee: string; researcher: string; auditor: string };

beforeAll(async () => {
  redis = await startRedis();
  scratch = tempDir('veil-queue-');
  dataDir = join(scratch.dir, 'data');
  mkdirSync(dataDir);
  keys = {
    committee: createKeyWithCli(dataDir, 'committee', 'chair'),
    researcher: createKeyWithCli(dataDir, 'researcher', 'ana'),
    auditor: createKeyWithCli(dataDir, 'auditor', 'otto'),
  };
  const env = { VEIL_SECRET: SECRET };
  server = await startServerProcess(dataDir, ['--queue', redis.url, '--chunk-files', '18', '--distributed-rows', String(PARTITION_ROWS), '--max-attempts', '3'], env);
  workers = await Promise.all([0, 1, 2].map(() => startWorkerProcess(dataDir, redis.url, WORKER_ARGS, env)));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await server?.stop();
  await redis?.stop();
  scratch?.cleanup();
});

async function putApproved(name: string, yaml: string, hierarchies: { name: string; path: string }[] = []): Promise<void> {
  const form = new FormData();
  form.append('policy', new Blob([yaml], { type: 'application/yaml' }), `${name}.yaml`);
  for (const file of hierarchies) form.append('hierarchies', new Blob([readFileSync(file.path)]), file.name);
  const put = await api(server.base, keys.committee, `/v1/policies/${name}`, { method: 'PUT', body: form });
  expect(put.status).toBe(201);
  expect((await api(server.base, keys.committee, `/v1/policies/${name}/approve`, { method: 'POST' })).status).toBe(200);
}

/**
 * A GET, sent again once if the server closed the kept-alive socket just as it was reused
 * (a server closes idle sockets after a while; this one after 65 s, so this is only a guard).
 */
async function get<T = unknown>(key: string, path: string): Promise<Awaited<ReturnType<typeof api<T>>>> {
  try {
    return await api<T>(server.base, key, path);
  } catch {
    return api<T>(server.base, key, path);
  }
}

async function waitForJob(id: string, onPoll?: (job: JobBody) => Promise<void>): Promise<{ job: JobBody; progress: number[] }> {
  const progress: number[] = [];
  const guard = Date.now() + 600_000;
  for (;;) {
    const job = (await api<JobBody>(server.base, keys.researcher, `/v1/jobs/${id}`)).body;
    progress.push(job.progress);
    if (job.status === 'done' || job.status === 'failed' || (job.status as string) === 'cancelled') return { job, progress };
    if (onPoll) await onPoll(job);
    if (Date.now() > guard) throw new Error(`job still ${job.status}`);
    await sleep(100);
  }
}

/** What a job keeps in the shared folder while it runs; none of it is left once it is cancelled. */
const JOB_PARTS = ['input', 'steps', 'work', 'out'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('jobs on BullMQ with three workers', () => {
  it('runs a chunked DICOM job with a cohort, survives a killed worker, and equals a single-process run byte for byte', async () => {
    await putApproved('ct-cohort', DICOM_POLICY);
    const names = readdirSync(DICOM_DIR).sort();
    const form = new FormData();
    form.append('policy', 'ct-cohort');
    for (const name of names) form.append('files', new Blob([readFileSync(join(DICOM_DIR, name))]), name);
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/dicom/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);

    // kill -9 a worker while it de-identifies a chunk (its step process dies with it)
    const killer = killWorkerDuring('dicom-chunk');
    const { job, progress } = await waitForJob(submitted.body.id, killer.onPoll);
    expect(killer.killed()).toBeDefined();
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('done');
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);

    // the same files under the same names, through the CLI in one process, with the same key
    const local = join(scratch.dir, 'local');
    const localIn = join(local, 'in');
    mkdirSync(localIn, { recursive: true });
    names.forEach((name, i) => copyFileSync(join(DICOM_DIR, name), join(localIn, `${String(i + 1).padStart(6, '0')}.dcm`)));
    writeFileSync(join(local, 'policy.yaml'), DICOM_POLICY);
    const cli = runCli(['dicom', 'deidentify', '--policy', join(local, 'policy.yaml'), '--in', localIn, '--out', join(local, 'out'), '--report', join(local, 'report.json'), '--quiet'], {
      VEIL_SECRET: SECRET,
    });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);

    const download = () => fetch(`${server.base}/v1/jobs/${submitted.body.id}/result`, { headers: { Authorization: `Bearer ${keys.researcher}` } });
    const result = await download().catch(download);
    expect(result.status).toBe(200);
    const archive = new Uint8Array(await result.arrayBuffer());
    const zipped = unzipSync(archive);
    const localFiles = filesUnder(join(local, 'out'));
    // the chunks' zip segments concatenated: every file (and cohort.csv) in name order, as one process zips them
    expect(Object.keys(zipped)).toEqual(localFiles);
    expect(localFiles).toContain('cohort.csv');
    expect(localFiles.length).toBeGreaterThan(40);
    writeFileSync(join(local, 'result.zip'), archive);
    const python = spawnSync('python3', ['-m', 'zipfile', '-t', join(local, 'result.zip')], { encoding: 'utf8' });
    expect(python.status, python.stderr).toBe(0);
    for (const file of localFiles) expect(Buffer.from(zipped[file]).equals(readFileSync(join(local, 'out', file))), file).toBe(true);

    // the report of the chunks equals the single-process report, timing aside
    const report = (await get<Record<string, unknown>>(keys.auditor, `/v1/jobs/${submitted.body.id}/report`)).body;
    const localReport = JSON.parse(readFileSync(join(local, 'report.json'), 'utf8')) as Record<string, unknown>;
    expect(withoutClocks(report)).toEqual(withoutClocks(localReport));

    await expectOneAuditResult(submitted.body.id);
    const log = workers.map((w) => w.log()).join('');
    expect(log).toContain('"step":"dicom-chunk"');
    expect(log).toContain('"step":"dicom-cohort"');
  }, 900_000);

  it('splits a tabular job over the row threshold into partitions; the merged result meets the policy with NCP and GenILoss within 10% of one process', async () => {
    const yaml = adultPolicyYaml('adult-k5', 5);
    await putApproved('adult-k5', yaml, adultHierarchyFiles());
    const local = join(scratch.dir, 'tabular');
    mkdirSync(local, { recursive: true });
    const adult = adultSubset(local);
    const form = new FormData();
    form.append('policy', 'adult-k5');
    form.append('file', new Blob([readFileSync(adult)], { type: 'text/csv' }), 'adult.csv');
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/tabular/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    // kill -9 a worker while it anonymizes a partition; another takes the step once its lock lapses
    const killer = killWorkerDuring('tabular-partition');
    const { job, progress } = await waitForJob(submitted.body.id, killer.onPoll);
    expect(killer.killed()).toBeDefined();
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('done');
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
    // the tests after this one keep the same number of workers
    workers.push(await startWorkerProcess(dataDir, redis.url, WORKER_ARGS, { VEIL_SECRET: SECRET }));

    writeFileSync(join(local, 'policy.yaml'), yaml);
    for (const file of adultHierarchyFiles()) copyFileSync(file.path, join(local, file.name));
    const distributed = join(local, 'distributed.csv');
    writeFileSync(distributed, (await get(keys.researcher, `/v1/jobs/${submitted.body.id}/result`)).text);
    // the same split run undisturbed, in this process: the killed worker's partition, run again, changed nothing
    const undisturbed = join(local, 'undisturbed.csv');
    await anonymizeCsvDistributed({ policy: await loadPolicy(join(local, 'policy.yaml')), input: adult, out: undisturbed, maxPartitionRows: PARTITION_ROWS, workDir: join(local, 'work') });
    expect(readFileSync(distributed).equals(readFileSync(undisturbed))).toBe(true);
    const single = join(local, 'single.csv');
    const cli = runCli(['tabular', 'anonymize', '--policy', join(local, 'policy.yaml'), '--in', adult, '--out', single, '--quiet'], { VEIL_SECRET: SECRET });
    expect(cli.status, cli.stderr).toBe(0);

    const measured = evaluate(adult, distributed);
    // the evaluator is deterministic: the same bytes measure the same (Mondrian's partitions are
    // the subtrees one process builds, so they usually are), and it runs once
    const baseline = readFileSync(single).equals(readFileSync(distributed)) ? measured : evaluate(adult, single);
    expect(measured.rows).toBe(ADULT_ROWS);
    expect(measured.k).toBeGreaterThanOrEqual(5);
    expect(measured.suppressed).toBeLessThanOrEqual(Math.floor(0.02 * ADULT_ROWS));
    expect(measured.sensitive_changed).toBe(0);
    expect(Math.abs(measured.NCP_observed - baseline.NCP_observed)).toBeLessThanOrEqual(0.1 * baseline.NCP_observed);
    expect(Math.abs(measured.GenILoss_arx - baseline.GenILoss_arx)).toBeLessThanOrEqual(0.1 * baseline.GenILoss_arx);

    const report = (await get<{ distribution?: { partitions: number; maxPartitionRows: number } }>(keys.auditor, `/v1/jobs/${submitted.body.id}/report`)).body;
    expect(report.distribution?.partitions).toBeGreaterThan(1);
    expect(report.distribution?.maxPartitionRows).toBe(PARTITION_ROWS);
    await expectOneAuditResult(submitted.body.id);
    expect(workers.map((w) => w.log()).join('')).toContain('"step":"tabular-partition"');
  }, 900_000);

  it('a worker refuses policy bytes that are not the approved ones: POLICY_TAMPERED, once in the audit log, not retried', async () => {
    await putApproved('tampered', 'name: tampered\nversion: 1\ndicom: { profile: basic }\n');
    const policies = join(scratch.dir, 'data', 'policies');
    const stored = readdirSync(policies)
      .map((token) => join(policies, token, 'policy.yaml'))
      .find((file) => existsSync(file) && readFileSync(file, 'utf8').startsWith('name: tampered'));
    expect(stored).toBeDefined();
    appendFileSync(stored as string, '# edited on disk after approval\n');
    const form = new FormData();
    form.append('policy', 'tampered');
    form.append('files', new Blob([readFileSync(join(DICOM_DIR, 'CT_small.dcm'))]), 'CT_small.dcm');
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/dicom/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    const { job } = await waitForJob(submitted.body.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('POLICY_TAMPERED');
    const audit = await get<{ entries: { action: string; target: string }[] }>(keys.auditor, '/v1/audit');
    const results = audit.body.entries.filter((e) => e.target === `job:${submitted.body.id}` && e.action.startsWith('job.') && e.action !== 'job.submit');
    expect(results.map((e) => e.action)).toEqual(['job.policy_mismatch']);
    // refused at once: the plan step ran one attempt
    const starts = workers.flatMap((w) => w.log().split('\n')).filter((line) => line.includes('"step started"') && line.includes(submitted.body.id));
    expect(starts).toHaveLength(1);
  }, 900_000);

  it('cuts an image job in chunks of --chunk-files; the merged outputs equal a single-process run byte for byte', async () => {
    await putApproved('img', IMAGE_POLICY);
    const images = await syntheticImages(20);
    const form = new FormData();
    form.append('policy', 'img');
    for (const image of images) form.append('files', new Blob([image.bytes]), image.name);
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/image/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    const { job, progress } = await waitForJob(submitted.body.id);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('done');
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);

    // the same files under the names the server gave them, through `veil image redact` in one process
    const local = join(scratch.dir, 'images');
    const localIn = join(local, 'in');
    mkdirSync(localIn, { recursive: true });
    images.forEach((image, i) => writeFileSync(join(localIn, `${String(i + 1).padStart(6, '0')}.png`), image.bytes));
    writeFileSync(join(local, 'policy.yaml'), IMAGE_POLICY);
    const cli = runCli(['image', 'redact', '--policy', join(local, 'policy.yaml'), '--in', localIn, '--out', join(local, 'out'), '--report', join(local, 'report.json')]);
    expect(cli.status, cli.stderr).toBe(0);

    const result = await fetch(`${server.base}/v1/jobs/${submitted.body.id}/result`, { headers: { Authorization: `Bearer ${keys.researcher}` } });
    expect(result.status).toBe(200);
    const zipped = unzipSync(new Uint8Array(await result.arrayBuffer()));
    const localFiles = filesUnder(join(local, 'out'));
    expect(localFiles).toHaveLength(20);
    expect(Object.keys(zipped)).toEqual(localFiles);
    for (const file of localFiles) expect(Buffer.from(zipped[file]).equals(readFileSync(join(local, 'out', file))), file).toBe(true);

    // the merged report is the single-process report: same files in the same order, same totals
    // (timing aside, and `jobs`, the worker threads, which count each chunk's)
    const report = (await get<Record<string, unknown>>(keys.auditor, `/v1/jobs/${submitted.body.id}/report`)).body;
    const localReport = JSON.parse(readFileSync(join(local, 'report.json'), 'utf8')) as Record<string, unknown>;
    const comparable = (r: Record<string, unknown>) => withoutClocks({ ...r, jobs: undefined });
    expect(comparable(report)).toEqual(comparable(localReport));
    expect((report.totals as { redacted: number }).redacted).toBeGreaterThan(0);

    // 20 files in chunks of 18: two chunk steps, then one merge
    const starts = workers.flatMap((w) => w.log().split('\n')).filter((line) => line.includes('"step started"') && line.includes(submitted.body.id));
    const chunks = new Set(starts.filter((line) => line.includes('"step":"image-chunk"')).map((line) => (JSON.parse(line) as { index: number }).index));
    expect([...chunks].sort()).toEqual([0, 1]);
    expect(starts.some((line) => line.includes('"step":"image-merge"'))).toBe(true);
    await expectOneAuditResult(submitted.body.id);
  }, 900_000);

  it('cancels a running DICOM job: the running step is aborted and its process killed, nothing of the job is left, one job.cancelled entry', async () => {
    await putApproved('ct-basic', 'name: ct-basic\nversion: 1\ndicom: { profile: basic }\n');
    const form = new FormData();
    form.append('policy', 'ct-basic');
    for (const name of readdirSync(DICOM_DIR).sort()) form.append('files', new Blob([readFileSync(join(DICOM_DIR, name))]), name);
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/dicom/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;

    let stepPids: number[] = [];
    let cancelled: JobBody | undefined;
    const { job } = await waitForJob(id, async (state) => {
      if (cancelled || state.status !== 'running') return;
      const busy = workers.find((w) => w.stepPids().length > 0 && lastStarted(w) === 'dicom-chunk');
      if (!busy) return;
      stepPids = busy.stepPids();
      const res = await api<JobBody>(server.base, keys.researcher, `/v1/jobs/${id}/cancel`, { method: 'POST' });
      expect(res.status).toBe(200);
      cancelled = res.body;
    });
    expect(cancelled?.status).toBe('cancelled');
    expect(job.status).toBe('cancelled');

    // the chunk's step process is killed (the worker saw the job end and aborted the step)
    await waitUntil(() => stepPids.every((pid) => !isAlive(pid)), 60_000, 100);
    // once no worker runs a step any more and the aborted step's worker has cleaned up after it
    // (it logs that after its clean-up, which may come a moment after the process died),
    // nothing of the job is left in the shared folder
    await waitUntil(() => workers.every((w) => w.stepPids().length === 0), 120_000, 100);
    await waitUntil(() => workers.map((w) => w.log()).join('').includes('"step stopped: the job ended"'), 60_000, 100).catch(() => undefined);
    expect(workers.map((w) => w.log()).join('')).toContain('"step stopped: the job ended"');
    // another worker whose chunk step was killed too may still be deleting what it wrote
    await waitUntil(() => JOB_PARTS.every((part) => !existsSync(join(dataDir, 'jobs', id, part))), 60_000, 100).catch(() => undefined);
    for (const part of JOB_PARTS) expect(existsSync(join(dataDir, 'jobs', id, part)), part).toBe(false);

    // cancelled stays cancelled: no merge ran, no result, one entry
    expect((await get<JobBody>(keys.researcher, `/v1/jobs/${id}`)).body.status).toBe('cancelled');
    const merges = workers.flatMap((w) => w.log().split('\n')).filter((line) => line.includes('"step started"') && line.includes(id) && line.includes('"step":"dicom-merge"'));
    expect(merges).toEqual([]);
    const audit = await get<{ entries: { action: string; target: string }[] }>(keys.auditor, '/v1/audit');
    expect(audit.body.entries.filter((e) => e.target === `job:${id}`).map((e) => e.action)).toEqual(['job.submit', 'job.cancelled']);
    const again = await api<{ error: { code: string } }>(server.base, keys.researcher, `/v1/jobs/${id}/result`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('JOB_CANCELLED');
  }, 900_000);

  it('a job cancelled right after it was submitted (still queued, or its plan step just taken) never produces anything', async () => {
    const form = new FormData();
    form.append('policy', 'ct-basic');
    for (const name of readdirSync(DICOM_DIR).sort().slice(0, 30)) form.append('files', new Blob([readFileSync(join(DICOM_DIR, name))]), name);
    const submitted = await api<{ id: string; status: string }>(server.base, keys.researcher, '/v1/dicom/jobs', { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;
    const res = await api<JobBody>(server.base, keys.committee, `/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    // whatever a worker had taken is stopped or skips; then nothing of the job is left
    await sleep(2000);
    await waitUntil(() => workers.every((w) => w.stepPids().length === 0), 120_000, 100);
    await waitUntil(() => JOB_PARTS.every((part) => !existsSync(join(dataDir, 'jobs', id, part))), 60_000, 100).catch(() => undefined);
    for (const part of JOB_PARTS) expect(existsSync(join(dataDir, 'jobs', id, part)), part).toBe(false);
    const lines = workers.flatMap((w) => w.log().split('\n')).filter((line) => line.includes(id));
    expect(lines.filter((line) => line.includes('"step":"dicom-chunk"') || line.includes('"step":"dicom-merge"'))).toEqual([]);
    expect((await get<JobBody>(keys.researcher, `/v1/jobs/${id}`)).body.status).toBe('cancelled');
    const audit = await get<{ entries: { action: string; target: string }[] }>(keys.auditor, '/v1/audit');
    expect(audit.body.entries.filter((e) => e.target === `job:${id}`).map((e) => e.action)).toEqual(['job.submit', 'job.cancelled']);
  }, 900_000);

  it('`veil worker --lock-seconds` takes a whole number of seconds from 1 to 3600, and refuses anything else before it connects (exit 2, one line)', () => {
    for (const value of ['0', '3601']) {
      const cli = runCli(['worker', '--queue', redis.url, '--data-dir', dataDir, '--lock-seconds', value], { VEIL_SECRET: SECRET });
      expect(cli.status).toBe(2);
      // one line, naming the flag once
      expect(cli.stderr.trim()).toBe('veil: --lock-seconds: expects a whole number from 1 to 3600');
    }
  });

  it('/healthz reports the queue\'s Redis: reachable with its latency, and degraded (503) while it does not answer', async () => {
    const up = await api<{ status: string; queue?: { reachable: boolean; latencyMs: number | null } }>(server.base, keys.auditor, '/healthz');
    expect(up.status).toBe(200);
    expect(up.body.queue?.reachable).toBe(true);
    expect(up.body.queue?.latencyMs).toBeGreaterThanOrEqual(0);
    // a Redis that stops answering (SIGSTOP: connected, silent) is seen within the probe's 2 s
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const down = await api<{ status: string; queue?: { reachable: boolean; latencyMs: number | null } }>(server.base, keys.auditor, '/healthz');
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('degraded');
      expect(down.body.queue).toEqual({ reachable: false, latencyMs: null });
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
  }, 120_000);
});

/** The neutral evaluator's measures of an anonymized Adult against the original. */
function evaluate(original: string, anonymized: string): Record<string, number> {
  const run = spawnSync(
    'python3',
    [resolve(REPO_ROOT, '../shared/tools/anoneval.py'), '--original', original, '--anonymized', anonymized, '--qi', ADULT_QIS.join(','), '--sensitive', 'salary-class', '--numeric', 'age', '--k', '5', '--hierarchies', ADULT_DIR],
    { encoding: 'utf8' },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, number>;
}

/** The step a worker started last, from its log. */
/** A waitForJob poll that kills -9 the first worker seen running `step` of the job, once. */
function killWorkerDuring(step: string): { onPoll: (job: JobBody) => Promise<void>; killed: () => WorkerProcess | undefined } {
  let killed: WorkerProcess | undefined;
  return {
    killed: () => killed,
    async onPoll(state) {
      if (killed || state.status !== 'running') return;
      const busy = workers.find((w) => w.stepPids().length > 0 && lastStarted(w) === step);
      if (busy) {
        killed = busy;
        await busy.kill();
      }
    },
  };
}

function lastStarted(worker: WorkerProcess): string | undefined {
  const started = worker
    .log()
    .split('\n')
    .filter((line) => line.includes('"step started"'));
  const last = started.at(-1);
  return last ? (JSON.parse(last) as { step: string }).step : undefined;
}

/** A report without its clock readings (durations — an image file's `ms` too —, creation times), which no two runs share. */
function withoutClocks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutClocks);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'timingMs' && key !== 'createdAt' && key !== 'ms')
      .map(([key, v]) => [key, withoutClocks(v)]),
  );
}

async function expectOneAuditResult(jobId: string): Promise<void> {
  const audit = await get<{ entries: { action: string; target: string }[] }>(keys.auditor, '/v1/audit');
  const results = audit.body.entries.filter((e) => e.target === `job:${jobId}` && (e.action === 'job.done' || e.action === 'job.failed'));
  expect(results.map((e) => e.action)).toEqual(['job.done']);
}
