/**
 * Policy preview through a real `veil serve` (from TS sources, loopback): stores
 * policies/demo.yaml (not approved), generates the demo cohort with the demo module
 * (5,000 rows, seeded) and times POST /v1/policies/demo-cohort/preview with it as the
 * sample — the first preview (which starts the preview thread and loads the tabular engine)
 * and the median of the next ones. Target ≤ 2 s. Beside each wall time, the CPU time the
 * server process spent on it (utime + stime from /proc): on a machine shared with other work
 * that is what the preview costs, and about its wall time on a quiet machine. Asserts nothing.
 *
 *   npx tsx bench/preview.bench.ts [rows] [warm runs]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cohortCsv, generateCohort } from '../src/demo/cohort.js';
import { createKey, ROOT, startVeilServer } from './veilServer.js';

const rows = Number(process.argv[2] ?? 5000);
const warmRuns = Number(process.argv[3] ?? 5);

/** CPU time (user + system) of a process so far, in ms (Linux /proc; 100 ticks a second). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function timedPreview(base: string, key: string, csv: string, server: ChildProcess): Promise<{ ms: number; cpu: number; k: unknown }> {
  const cpuBefore = cpuMs(server.pid);
  const form = new FormData();
  form.append('file', new Blob([csv]), 'cohort.csv');
  const started = performance.now();
  const res = await fetch(`${base}/v1/policies/demo-cohort/preview`, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: form });
  const body = (await res.json()) as { report?: { privacy: { k: { achieved: unknown } } }; error?: { code: string } };
  const ms = performance.now() - started;
  if (res.status !== 200 || !body.report) throw new Error(`preview answered ${res.status} ${body.error?.code ?? ''}`);
  return { ms, cpu: cpuMs(server.pid) - cpuBefore, k: body.report.privacy.k.achieved };
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(1)).join(' ');
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-preview-bench-'));
  const committee = createKey(dataDir, 'committee');
  const { server, base } = await startVeilServer(dataDir, ['--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn']);
  try {
    const put = await fetch(`${base}/v1/policies/demo-cohort`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${committee}`, 'Content-Type': 'application/yaml' },
      body: readFileSync(join(ROOT, 'policies/demo.yaml'), 'utf8'),
    });
    if (put.status !== 201) throw new Error(`PUT policy answered ${put.status}`);
    const csv = cohortCsv(generateCohort({ rows }));
    const first = await timedPreview(base, committee, csv, server);
    const warm: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < warmRuns; i++) {
      const run = await timedPreview(base, committee, csv, server);
      warm.push(run.ms);
      cpu.push(run.cpu);
    }
    warm.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const median = warm[Math.floor(warm.length / 2)] ?? first.ms;
    const cpuMedian = cpu[Math.floor(cpu.length / 2)] ?? first.cpu;
    process.stdout.write(`Preview bench: policies/demo.yaml on the demo cohort, ${rows.toLocaleString('en-US')} rows (${(csv.length / 1e6).toFixed(2)} MB), through veil serve on loopback\n`);
    process.stdout.write(`  load average before: ${loadBefore}\n`);
    process.stdout.write(`  first preview (starts the thread, loads the engine)  ${Math.round(first.ms)} ms wall, ${Math.round(first.cpu)} ms CPU of the server (k achieved ${String(first.k)})\n`);
    process.stdout.write(`  next ${warmRuns}: median ${Math.round(median)} ms wall (min ${Math.round(warm[0] ?? 0)}, max ${Math.round(warm[warm.length - 1] ?? 0)}), median ${Math.round(cpuMedian)} ms CPU of the server\n`);
    process.stdout.write(`  target ≤ 2 s: first ${first.ms <= 2000 ? 'met' : 'NOT met'}, warm ${median <= 2000 ? 'met' : 'NOT met'}\n`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
