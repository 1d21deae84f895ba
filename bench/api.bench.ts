/**
 * API latency while a large job runs: starts `veil serve` on loopback, submits a
 * 1,000,000-row tabular job (Adult rows drawn at random, the 8 usual QIs with the ARX
 * hierarchies, k = 5), and while it runs hammers GET /v1/jobs/:id with autocannon.
 * Prints requests per second and latency percentiles (target p99 < 50 ms); asserts nothing.
 *
 *   npx tsx bench/api.bench.ts [rows] [seconds]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKey, ROOT, startVeilServer } from './veilServer.js';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const ADULT = resolve(ROOT, '../shared/data/adult');
const QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];
const rows = Number(process.argv[2] ?? 1_000_000);
const seconds = Number(process.argv[3] ?? 10);

function syntheticAdult(count: number): string {
  const cacheDir = join(ROOT, 'bench/.cache');
  const path = join(cacheDir, `adult-${count}.csv`);
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  const lines = readFileSync(join(ADULT, 'adult.csv'), 'utf8').split(/\r?\n/).filter(Boolean);
  const body = lines.slice(1);
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = [lines[0]];
  for (let i = 0; i < count; i++) out.push(body[Math.floor(next() * body.length)]);
  writeFileSync(path, `${out.join('\r\n')}\r\n`);
  return path;
}

async function call(base: string, bearer: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${bearer}`, ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function fmt(result: CannonResult): string {
  const l = result.latency;
  return `${Math.round(result.requests.average)} req/s, latency p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms (${result.requests.total} requests, ${result.non2xx} non-2xx, ${result.errors} errors)`;
}

async function main(): Promise<void> {
  const csv = syntheticAdult(rows);
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-api-bench-'));
  const committee = createKey(dataDir, 'committee');
  const researcher = createKey(dataDir, 'researcher');
  const { server, base } = await startVeilServer(dataDir, ['--log-level', process.env.BENCH_LOG_LEVEL ?? 'info', '--concurrency', '1']);
  try {

    const yaml = [
      'name: adult-bench',
      'version: 1',
      'tabular:',
      '  quasiIdentifiers:',
      ...QIS.map((c) => `    - { column: ${c},${c === 'age' ? ' type: numeric,' : ''} hierarchy: adult_hierarchy_${c}.csv }`),
      '  sensitive: [ { column: salary-class } ]',
      '  privacy: { k: 5, suppressionLimit: 0.02 }',
      '',
    ].join('\n');
    const policy = new FormData();
    policy.append('policy', yaml);
    for (const c of QIS) policy.append('hierarchies', new Blob([readFileSync(join(ADULT, `adult_hierarchy_${c}.csv`))]), `adult_hierarchy_${c}.csv`);
    if ((await call(base, committee, '/v1/policies/adult-bench', { method: 'PUT', body: policy })).status !== 201) throw new Error('PUT policy failed');
    await call(base, committee, '/v1/policies/adult-bench/approve', { method: 'POST' });

    const url = `${base}/v1/jobs/0123456789abcdef0123456789abcdef`;
    const idle = await autocannon({ url, connections: 10, duration: 3, headers: { authorization: `Bearer ${researcher}` } });

    const form = new FormData();
    form.append('policy', 'adult-bench');
    form.append('file', new Blob([readFileSync(csv)]), 'adult.csv');
    const uploadStarted = performance.now();
    const submitted = await call(base, researcher, '/v1/tabular/jobs', { method: 'POST', body: form });
    const uploadMs = performance.now() - uploadStarted;
    if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}`);
    const id = String(submitted.body.id);
    const started = performance.now();
    for (;;) {
      const state = await call(base, researcher, `/v1/jobs/${id}`);
      if (state.body.status === 'running' && Number(state.body.progress) > 0) break;
      if (state.body.status === 'done' || state.body.status === 'failed') throw new Error('job ended before the measurement');
      await new Promise((r) => setTimeout(r, 50));
    }
    const busy = await autocannon({
      url: `${base}/v1/jobs/${id}`,
      connections: 10,
      duration: seconds,
      headers: { authorization: `Bearer ${researcher}` },
    });
    const during = await call(base, researcher, `/v1/jobs/${id}`);
    const stillRunning = during.body.status === 'running';
    let final = during;
    while (final.body.status !== 'done' && final.body.status !== 'failed') {
      await new Promise((r) => setTimeout(r, 250));
      final = await call(base, researcher, `/v1/jobs/${id}`);
    }
    const jobMs = performance.now() - started;

    process.stdout.write(`API bench: ${rows.toLocaleString('en-US')}-row Adult CSV (${(readFileSync(csv).length / 1e6).toFixed(1)} MB), 8 QIs, k=5, loopback, 10 connections\n`);
    process.stdout.write(`  idle   GET /v1/jobs/:id (404 path)  ${fmt(idle)}\n`);
    process.stdout.write(`  busy   GET /v1/jobs/:id during job  ${fmt(busy)}\n`);
    process.stdout.write(`  job still running when the ${seconds} s window ended: ${stillRunning ? 'yes' : 'NO (window partly idle)'}\n`);
    process.stdout.write(`  upload + queue ${Math.round(uploadMs)} ms; job ${String(final.body.status)} after ${(jobMs / 1000).toFixed(1)} s (from first progress)\n`);
    process.stdout.write(`  target p99 < 50 ms: ${busy.latency.p99 < 50 ? 'met' : 'NOT met'}\n`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
