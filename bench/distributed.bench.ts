/**
 * Distributed Mondrian (src/tabular/distributed): a seeded synthetic table (default 400,000
 * rows; VEIL_BENCH_ROWS=4000000 for the full size) anonymized by one process, then planned
 * centrally and anonymized partition by partition with 1 and with 2 worker threads. Every case
 * runs in its own process, so its peak RSS is its own; the planning step alone is a case too.
 *   npx tsx bench/distributed.bench.ts
 *   VEIL_BENCH_ROWS=4000000 VEIL_BENCH_PARTITION_ROWS=500000 npx tsx bench/distributed.bench.ts
 *   VEIL_BENCH_CASES=plan,partitions,merge …     (only these cases)
 * The cases `plan`, `partitions` and `merge` are the three steps one after the other, each in
 * its own process on the same work dir (partitions one at a time): their CPU times give the
 * serial fraction (plan + merge) that bounds the speed-up of any number of workers (Amdahl).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/demo/random.js';
import { loadPolicy } from '../src/policy/load.js';
import { anonymizeCsvDistributed, anonymizePartition, mergePartitions, planPartitions, readPlan } from '../src/tabular/distributed/index.js';
import { anonymizeCsvFile } from '../src/tabular/file.js';

const here = fileURLToPath(import.meta.url);
const rows = Number(process.env.VEIL_BENCH_ROWS ?? 400_000);
const partitionRows = Number(process.env.VEIL_BENCH_PARTITION_ROWS ?? Math.ceil(rows / 8));
const CASES = (process.env.VEIL_BENCH_CASES ?? 'plan,partitions,merge,1,2,single').split(',');

const POLICY = `name: bench-distributed
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
    - column: marital
      hierarchy: { tree: { '*': { together: [married, partner], alone: [single, divorced, widowed, separated], other: [unknown] } } }
    - { column: country }
  sensitive:
    - { column: disease }
  privacy:
    k: 10
    l: { variant: distinct, l: 2 }
    suppressionLimit: 0
`;

/** Same shape as bench/tabular.bench.ts's synthetic registry extract, written as CSV. */
async function writeTable(file: string, n: number): Promise<void> {
  const random = new SeededRandom(42);
  const marital = ['single', 'married', 'divorced', 'widowed', 'separated', 'partner', 'unknown'];
  const out = createWriteStream(file);
  let chunk = 'id,age,sex,zip,education,income,marital,country,disease\n';
  for (let r = 0; r < n; r++) {
    chunk += `${r},${Math.min(99, Math.max(0, Math.round(random.normal(45, 18))))},${random.next() < 0.51 ? 'F' : 'M'},${10000 + Math.floor(random.next() ** 2 * 89999)},edu${random.int(1, 16)},${Math.round(Math.exp(random.normal(10.5, 0.6)))},${random.pick(marital)},c${Math.floor(random.next() ** 3 * 40)},d${random.int(0, 9)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((resolve) => out.once('finish', () => resolve()));
}

interface CaseResult {
  case: string;
  wallMs: number;
  /** User + system CPU of the case's process, worker threads included: steadier than wall time on a busy machine. */
  cpuMs: number;
  planMs: number | null;
  peakRssMb: number;
  partitions: number | null;
  ncp: number | null;
  genILoss: number | null;
}

async function runCase(kind: string, dir: string): Promise<CaseResult> {
  const policy = await loadPolicy(join(dir, 'policy.yaml'));
  const input = join(dir, 'table.csv');
  const started = performance.now();
  if (kind === 'plan') {
    const plan = await planPartitions({ input, policy, maxPartitionRows: partitionRows, workDir: join(dir, 'plan-only') });
    const planMs = Object.values(plan.timingMs).reduce((a, b) => a + b, 0);
    return { case: 'central plan alone', wallMs: performance.now() - started, cpuMs: cpuMs(), planMs, peakRssMb: peakRss(), partitions: plan.partitions.length, ncp: null, genILoss: null };
  }
  if (kind === 'partitions') {
    const workDir = join(dir, 'plan-only');
    const plan = await readPlan(workDir);
    for (const partition of plan.partitions) await anonymizePartition({ workDir, index: partition.index, policy });
    return { case: 'every partition, one after the other', wallMs: performance.now() - started, cpuMs: cpuMs(), planMs: null, peakRssMb: peakRss(), partitions: plan.partitions.length, ncp: null, genILoss: null };
  }
  if (kind === 'merge') {
    const report = await mergePartitions({ workDir: join(dir, 'plan-only'), policy, out: join(dir, 'merged.csv') });
    return { case: 'central merge alone', wallMs: performance.now() - started, cpuMs: cpuMs(), planMs: null, peakRssMb: peakRss(), partitions: report.distribution?.partitions ?? null, ncp: report.utility.ncp, genILoss: report.utility.genILoss };
  }
  if (kind === 'single') {
    const report = await anonymizeCsvFile({ policy, input, output: join(dir, 'single.csv') });
    return { case: 'one process (anonymizeCsvFile)', wallMs: performance.now() - started, cpuMs: cpuMs(), planMs: null, peakRssMb: peakRss(), partitions: null, ncp: report.utility.ncp, genILoss: report.utility.genILoss };
  }
  const concurrency = Number(kind);
  const report = await anonymizeCsvDistributed({ policy, input, out: join(dir, `distributed-${concurrency}.csv`), maxPartitionRows: partitionRows, workDir: join(dir, `work-${concurrency}`), concurrency });
  const planMs = Object.entries(report.timingMs).filter(([name]) => name.startsWith('plan.')).reduce((a, [, ms]) => a + ms, 0);
  return { case: `distributed, ${concurrency} worker thread${concurrency === 1 ? '' : 's'}`, wallMs: performance.now() - started, cpuMs: cpuMs(), planMs, peakRssMb: peakRss(), partitions: report.distribution?.partitions ?? null, ncp: report.utility.ncp, genILoss: report.utility.genILoss };
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function peakRss(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

if (process.argv[2] === '--case') {
  process.stdout.write(`${JSON.stringify(await runCase(process.argv[3], process.argv[4]))}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-distributed-'));
  try {
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const generated = performance.now();
    await writeTable(join(dir, 'table.csv'), rows);
    process.stdout.write(`synthetic ${rows.toLocaleString('en-US')} rows × 7 QIs + 1 sensitive (k=10, l=2), maxPartitionRows ${partitionRows.toLocaleString('en-US')}; table written in ${Math.round(performance.now() - generated)} ms\n`);
    process.stdout.write('case | wall s | CPU s | central plan s | peak RSS MB | partitions | NCP | GenILoss | speed-up vs 1 thread\n');
    let oneThread: number | undefined;
    const stepCpu = new Map<string, number>();
    for (const kind of ['plan', 'partitions', 'merge', '1', '2', 'single'].filter((k) => CASES.includes(k))) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', here, '--case', kind, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (run.status !== 0) {
        process.stdout.write(`${kind}: failed: ${run.stderr.split('\n').slice(0, 5).join(' ')}\n`);
        continue;
      }
      const r = JSON.parse(run.stdout.trim().split('\n').pop() as string) as CaseResult;
      if (kind === '1') oneThread = r.wallMs;
      stepCpu.set(kind, r.cpuMs);
      const speedUp = kind === '2' && oneThread ? `${(oneThread / r.wallMs).toFixed(2)}×` : '';
      const s = (ms: number | null) => (ms === null ? '' : (ms / 1000).toFixed(1));
      process.stdout.write(`${r.case} | ${s(r.wallMs)} | ${s(r.cpuMs)} | ${s(r.planMs)} | ${r.peakRssMb} | ${r.partitions ?? ''} | ${r.ncp ?? ''} | ${r.genILoss ?? ''} | ${speedUp}\n`);
    }
    const [plan, partitions, merge] = ['plan', 'partitions', 'merge'].map((k) => stepCpu.get(k));
    if (plan !== undefined && partitions !== undefined && merge !== undefined) {
      const serial = (plan + merge) / (plan + partitions + merge);
      const amdahl = (workers: number) => (1 / (serial + (1 - serial) / workers)).toFixed(2);
      process.stdout.write(`serial fraction by CPU (plan + merge): ${(serial * 100).toFixed(0)} %; Amdahl: ×${amdahl(2)} with 2 workers, ×${amdahl(20)} with 20, ×${(1 / serial).toFixed(2)} at most\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
