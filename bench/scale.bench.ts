/**
 * Jobs on BullMQ (veil serve --queue + veil worker): a DICOM job of N files (copies of one
 * small CT slice, hard-linked into the job's input) and a synthetic tabular job of R rows over
 * the --distributed-rows threshold, each run with 1 worker and then with 2 workers (one step
 * at a time each, --threads 1, so a worker stands for a one-core machine), on a real
 * redis-server. Prints wall time per job, the speed-up, the split of the time by step (from
 * the workers' logs) and the time spent in Redis per chunk (measured around the worker's
 * BullMQ calls), plus a plain Redis round trip for scale.
 *   npx tsx bench/scale.bench.ts                                   (2,000 files, 200,000 rows)
 *   VEIL_BENCH_FILES=20000 VEIL_BENCH_ROWS=4000000 npx tsx bench/scale.bench.ts
 *   VEIL_BENCH_KINDS=tabular …                  (only some kinds: dicom, tabular, zip)
 * Beside wall time it prints the CPU time (user + sys) of the workers and their step processes
 * (from /proc, Linux only) and the load average, as wall times on a shared machine are noisy;
 * for a DICOM job also the CPU of its merge step (the workers' CPU from the merge's start to
 * the job's end: chunk processes are all reaped by then).
 * The `zip` kind times the embedded runner's zip of the same N files (what `veil serve` without
 * --queue does after a DICOM job): fflate's Zip at level 6 (Veil's writer before it had its
 * own) against Veil's zipDirectory, in alternating rounds (VEIL_BENCH_ZIP_ROUNDS, default 2),
 * wall and CPU of this process.
 * The job inputs are placed straight into the data dir (the upload path is bench/api's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, linkSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Zip, ZipDeflate } from 'fflate';
import { zipDirectory } from '../src/api/zip.js';
import { SeededRandom } from '../src/demo/random.js';
import { startServer } from '../src/api/server.js';
import { appendAudit } from '../src/api/audit.js';
import { createApiKey } from '../src/api/keys.js';
import { getJob, insertJob, type JobKind } from '../src/api/jobStore.js';
import { getPolicyVersion, policyRef } from '../src/api/policyStore.js';
import { QUEUE_NAME, parseQueueUrl } from '../src/api/queue/index.js';
import { startRedis } from '../test/api/queue/redis.js';
import { ROOT } from './veilServer.js';

const FILES = Number(process.env.VEIL_BENCH_FILES ?? 2000);
const ROWS = Number(process.env.VEIL_BENCH_ROWS ?? 200_000);
const CHUNK_FILES = Number(process.env.VEIL_BENCH_CHUNK_FILES ?? 500);
const PARTITION_ROWS = Number(process.env.VEIL_BENCH_PARTITION_ROWS ?? Math.ceil(ROWS / 8));
const KINDS = (process.env.VEIL_BENCH_KINDS ?? 'dicom,tabular').split(',');
const ZIP_ROUNDS = Number(process.env.VEIL_BENCH_ZIP_ROUNDS ?? 2);
const SECRET = 'bench-secret-0123456789abcdef';
const CT = resolve(ROOT, '../shared/data/dicom/CT_small.dcm');
const CLI = join(ROOT, 'src/cli/main.ts');

const DICOM_POLICY = 'name: bench-ct\nversion: 1\ndicom: { profile: basic }\n';
const TABULAR_POLICY = `name: bench-table
version: 1
tabular:
  identifiers:
    - { column: id, action: remove }
  quasiIdentifiers:
    - { column: age, type: numeric }
    - { column: sex }
    - { column: zip, hierarchy: { masking: { char: '*', from: right } } }
    - { column: education }
    - { column: income, type: numeric }
    - { column: country }
  sensitive:
    - { column: disease }
  privacy: { k: 10, suppressionLimit: 0 }
`;

async function writeTable(file: string, n: number): Promise<void> {
  const random = new SeededRandom(42);
  const out = createWriteStream(file);
  let chunk = 'id,age,sex,zip,education,income,country,disease\n';
  for (let r = 0; r < n; r++) {
    chunk += `${r},${Math.min(99, Math.max(0, Math.round(random.normal(45, 18))))},${random.next() < 0.51 ? 'F' : 'M'},${10000 + Math.floor(random.next() ** 2 * 89999)},edu${random.int(1, 16)},${Math.round(Math.exp(random.normal(10.5, 0.6)))},c${Math.floor(random.next() ** 3 * 40)},d${random.int(0, 9)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', () => ok()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((ok) => out.once('finish', () => ok()));
}

interface Worker {
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

async function startWorker(dataDir: string, url: string): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--queue', url, '--data-dir', dataDir, '--threads', '1', '--concurrency', '1'], {
    cwd: ROOT,
    env: { ...process.env, VEIL_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: Worker = {
    child,
    log: '',
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
      child.kill('SIGTERM');
      await exited;
    },
  };
  child.stderr?.on('data', (chunk: Buffer) => (worker.log += chunk.toString()));
  await new Promise<void>((ok, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('worker ready') && ok());
    child.once('exit', () => fail(new Error(`worker exited: ${worker.log.slice(-400)}`)));
  });
  return worker;
}

/**
 * CPU seconds (user + sys) of a process and of its children it has waited for (the worker's
 * step processes), from /proc/<pid>/stat; 0 where /proc is missing.
 */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11..14] are utime, stime, cutime, cstime (stat fields 14–17), in clock ticks of 1/100 s
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
  } catch {
    return 0;
  }
}

const workersCpu = (workers: Worker[]): number => workers.reduce((sum, w) => sum + cpuSeconds(w.child.pid), 0);
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' / ');

interface StepLine {
  jobId: string;
  step: string;
  ms: number;
  redisMs: number;
}

function stepLines(workers: Worker[], jobId: string): StepLine[] {
  return workers
    .flatMap((w) => w.log.split('\n'))
    .filter((line) => line.includes('"step done"') && line.includes(jobId))
    .map((line) => JSON.parse(line) as StepLine);
}

function summarize(lines: StepLine[]): string {
  const by = new Map<string, StepLine[]>();
  for (const line of lines) by.set(line.step, [...(by.get(line.step) ?? []), line]);
  return [...by]
    .map(([step, list]) => {
      const total = list.reduce((s, l) => s + l.ms, 0);
      const redis = list.reduce((s, l) => s + l.redisMs, 0);
      return `${step} ×${list.length}: ${(total / 1000).toFixed(1)} s of step time (mean ${(total / list.length / 1000).toFixed(2)} s), Redis ${(redis / list.length).toFixed(1)} ms per step`;
    })
    .join('\n    ');
}

/** The embedded runner's zip before Veil had its own writer: fflate's Zip, level 6, every file read whole, one process. */
async function zipWithFflate(srcDir: string, target: string): Promise<void> {
  // the listing zipDirectory had: every file under srcDir, sorted by path (the bench's input is flat)
  const names = readdirSync(srcDir).sort();
  const fd = openSync(target, 'w');
  try {
    await new Promise<void>((done, fail) => {
      const archive = new Zip((error, chunk, final) => {
        if (error) return fail(error);
        writeSync(fd, chunk);
        if (final) done();
      });
      for (const name of names) {
        const entry = new ZipDeflate(name, { level: 6 });
        archive.add(entry);
        entry.push(readFileSync(join(srcDir, name)), true);
      }
      archive.end();
    });
  } finally {
    closeSync(fd);
  }
}

/** fflate's zip and Veil's, alternating, on N hard links of the CT slice. */
async function benchZip(scratch: string): Promise<void> {
  const input = join(scratch, 'zip-input');
  mkdirSync(input, { recursive: true });
  for (let i = 0; i < FILES; i++) linkSync(CT, join(input, `${String(i + 1).padStart(6, '0')}.dcm`));
  const target = join(scratch, 'result.zip');
  process.stdout.write(`embedded runner's zip of ${FILES.toLocaleString('en')} files (${((FILES * statSync(CT).size) / 1e6).toFixed(0)} MB), alternating rounds\n`);
  for (let round = 1; round <= ZIP_ROUNDS; round++) {
    for (const [label, zip] of [
      ['fflate Zip  ', zipWithFflate],
      ['Veil writer ', async (src: string, out: string) => void (await zipDirectory(src, out))],
    ] as const) {
      const loadBefore = load();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await zip(input, target);
      const cpu = process.cpuUsage(cpu0);
      const size = statSync(target).size;
      rmSync(target);
      process.stdout.write(`  round ${round} ${label} ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, ${(size / 1e6).toFixed(0)} MB, load average ${loadBefore} → ${load()}\n`);
    }
  }
  rmSync(input, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (KINDS.includes('zip')) {
    const scratch = mkdtempSync(join(tmpdir(), 'veil-scale-zip-'));
    try {
      await benchZip(scratch);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    if (!KINDS.some((kind) => kind === 'dicom' || kind === 'tabular')) return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'veil-scale-'));
  const redis = await startRedis();
  const dataDir = join(scratch, 'data');
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logLevel: 'warn',
    queue: { connection: parseQueueUrl(redis.url), chunkFiles: CHUNK_FILES, distributedRows: PARTITION_ROWS },
    limits: { maxFiles: Math.max(FILES, 10_000) },
  });
  const { db, layout } = server.api.ctx;
  const committee = createApiKey(db, 'committee', 'bench').key;
  const researcher = createApiKey(db, 'researcher', 'bench');
  const base = `http://127.0.0.1:${server.port}`;
  for (const [name, yaml] of [
    ['bench-ct', DICOM_POLICY],
    ['bench-table', TABULAR_POLICY],
  ]) {
    const form = new FormData();
    form.append('policy', new Blob([yaml]), `${name}.yaml`);
    const put = await fetch(`${base}/v1/policies/${name}`, { method: 'PUT', body: form, headers: { Authorization: `Bearer ${committee}` } });
    if (put.status !== 201) throw new Error(`PUT policy: ${put.status}`);
    await fetch(`${base}/v1/policies/${name}/approve`, { method: 'POST', headers: { Authorization: `Bearer ${committee}` } });
  }
  const tableFile = join(scratch, 'table.csv');
  await writeTable(tableFile, ROWS);

  /** Places the input, records the job as a submission would, and times it to done. */
  const runJob = async (kind: JobKind, policyName: string, workers: Worker[]): Promise<{ id: string; seconds: number; cpu: number; mergeCpu?: number; load: string }> => {
    const id = randomBytes(16).toString('hex');
    const input = layout.jobInput(id);
    mkdirSync(input, { recursive: true });
    if (kind === 'dicom') for (let i = 0; i < FILES; i++) linkSync(CT, join(input, `${String(i + 1).padStart(6, '0')}.dcm`));
    else linkSync(tableFile, join(input, 'input.csv'));
    const version = getPolicyVersion(db, policyName);
    if (!version) throw new Error('policy missing');
    insertJob(db, { id, kind, ownerKeyId: researcher.record.id, policyVersionId: version.id, overrides: null, inputCount: kind === 'dicom' ? FILES : 1 });
    appendAudit(db, { actor: 'bench', role: 'researcher', action: 'job.submit', target: `job:${id}`, policy: policyRef(version) });
    const started = performance.now();
    const cpuBefore = workersCpu(workers);
    const loadBefore = load();
    server.api.ctx.runner.kick();
    let cpuAtMerge: number | undefined;
    for (;;) {
      const job = getJob(db, id);
      if (job?.status === 'done') break;
      if (cpuAtMerge === undefined && workers.some((w) => w.log.split('\n').some((line) => line.includes('"step started"') && line.includes(id) && line.includes('-merge"')))) cpuAtMerge = workersCpu(workers);
      if (job?.status === 'failed') throw new Error(`job failed: ${job.error?.code} ${job.error?.message}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    // a worker's step process is reaped (and counted) when it exits, before the step's completion reaches the server
    const cpuAfter = workersCpu(workers);
    return { id, seconds: (performance.now() - started) / 1000, cpu: cpuAfter - cpuBefore, mergeCpu: cpuAtMerge === undefined ? undefined : cpuAfter - cpuAtMerge, load: `${loadBefore} → ${load()}` };
  };

  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
  const rtt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await queue.getJob('none');
    rtt.push(performance.now() - t0);
  }
  rtt.sort((a, b) => a - b);
  process.stdout.write(`Redis round trip (getJob): median ${rtt[100].toFixed(2)} ms, p99 ${rtt[198].toFixed(2)} ms\n`);

  const workers: Worker[] = [await startWorker(dataDir, redis.url)];
  try {
    for (const [kind, policy, label] of [
      ['dicom', 'bench-ct', `DICOM ${FILES.toLocaleString('en')} files, chunks of ${CHUNK_FILES}`],
      ['tabular', 'bench-table', `tabular ${ROWS.toLocaleString('en')} rows, partitions ≤ ${PARTITION_ROWS.toLocaleString('en')} rows`],
    ] as const) {
      if (!KINDS.includes(kind)) continue;
      const one = await runJob(kind, policy, workers);
      const oneLines = stepLines(workers, one.id);
      if (workers.length < 2) workers.push(await startWorker(dataDir, redis.url));
      const two = await runJob(kind, policy, workers);
      process.stdout.write(`${label}\n`);
      const mergeCpu = (run: { mergeCpu?: number }): string => (run.mergeCpu === undefined ? '' : ` (merge ${run.mergeCpu.toFixed(1)} s CPU)`);
      process.stdout.write(`  1 worker:  ${one.seconds.toFixed(1)} s wall, ${one.cpu.toFixed(1)} s CPU of the worker${mergeCpu(one)}, load average ${one.load}\n    ${summarize(oneLines)}\n`);
      process.stdout.write(
        `  2 workers: ${two.seconds.toFixed(1)} s wall (speed-up ×${(one.seconds / two.seconds).toFixed(2)}), ${two.cpu.toFixed(1)} s CPU of the workers${mergeCpu(two)}, load average ${two.load}\n    ${summarize(stepLines(workers, two.id))}\n`,
      );
      // back to one worker for the next kind
      const extra = workers.pop();
      await extra?.stop();
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
    await server.close();
    await redis.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
