/**
 * Policy preview through a real `veil serve` (from TS sources, loopback): stores
 * policies/demo.yaml (not approved), generates the demo cohort with the demo module
 * (5,000 rows, seeded) and times POST /v1/policies/demo-cohort/preview with it as the
 * sample — the first preview (which starts the preview thread and loads the tabular engine)
 * and the median of the next ones. Target ≤ 2 s. Asserts nothing.
 *
 *   npx tsx bench/preview.bench.ts [rows] [warm runs]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cohortCsv, generateCohort } from '../src/demo/cohort.js';
import { createKey, ROOT, startVeilServer } from './veilServer.js';

const rows = Number(process.argv[2] ?? 5000);
const warmRuns = Number(process.argv[3] ?? 5);

async function timedPreview(base: string, key: string, csv: string): Promise<{ ms: number; k: unknown }> {
  const form = new FormData();
  form.append('file', new Blob([csv]), 'cohort.csv');
  const started = performance.now();
  const res = await fetch(`${base}/v1/policies/demo-cohort/preview`, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: form });
  const body = (await res.json()) as { report?: { privacy: { k: { achieved: unknown } } }; error?: { code: string } };
  const ms = performance.now() - started;
  if (res.status !== 200 || !body.report) throw new Error(`preview answered ${res.status} ${body.error?.code ?? ''}`);
  return { ms, k: body.report.privacy.k.achieved };
}

async function main(): Promise<void> {
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
    const first = await timedPreview(base, committee, csv);
    const warm: number[] = [];
    for (let i = 0; i < warmRuns; i++) warm.push((await timedPreview(base, committee, csv)).ms);
    warm.sort((a, b) => a - b);
    const median = warm[Math.floor(warm.length / 2)] ?? first.ms;
    process.stdout.write(`Preview bench: policies/demo.yaml on the demo cohort, ${rows.toLocaleString('en-US')} rows (${(csv.length / 1e6).toFixed(2)} MB), through veil serve on loopback\n`);
    process.stdout.write(`  first preview (starts the thread, loads the engine)  ${Math.round(first.ms)} ms (k achieved ${String(first.k)})\n`);
    process.stdout.write(`  next ${warmRuns}: median ${Math.round(median)} ms, min ${Math.round(warm[0] ?? 0)} ms, max ${Math.round(warm[warm.length - 1] ?? 0)} ms\n`);
    process.stdout.write(`  target ≤ 2 s: first ${first.ms <= 2000 ? 'met' : 'NOT met'}, warm ${median <= 2000 ? 'met' : 'NOT met'}\n`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
