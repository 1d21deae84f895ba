/**
 * Start-up benchmark: wall time of whole `veil` processes (the compiled CLI, as `npx veil` runs
 * it) against `node -e 0` measured in the same run, so that the machine's own speed cancels out.
 * Each case is run several times in turn; the bench prints the median wall time, its difference
 * to node and the ratio, and the median CPU time (all threads of the process; it is less moved
 * than wall time by other work on the machine).
 *   npx tsx bench/startup.bench.ts             the build in dist/ (rebuilt first if older than src/)
 *   npx tsx bench/startup.bench.ts <veil.js>   another launcher, e.g. an older build to compare
 *   STARTUP_PEER=<veil.js> npx tsx bench/startup.bench.ts [<veil.js>]
 *       also times a peer launcher (e.g. a copy of an older dist/ beside its bin/veil.js and a
 *       node_modules link) in the same rounds, case by case, so that a shared machine's load
 *       hits both alike; prints both tables and the load average before and after.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleEntries } from '../scripts/bundle-entries.js';

const repo = resolve(fileURLToPath(import.meta.url), '../..');
const adultDir = resolve(repo, '../shared/data/adult');
const RUNS = Number(process.env.STARTUP_RUNS ?? 9);
const ADULT_QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];

/** Newest modification time of any file under a folder (0 for a missing folder). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** The launcher to time: the argument, or bin/veil.js over a dist/ at least as new as src/. */
async function launcher(): Promise<string> {
  if (process.argv[2]) return resolve(process.argv[2]);
  const built = statSync(join(repo, 'dist/cli/main.js'), { throwIfNoEntry: false });
  if (!built || built.mtimeMs < newest(join(repo, 'src'))) {
    process.stdout.write('dist/ is older than src/: building first\n');
    const build = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('the build failed');
    // what bin/veil.js runs: the bundle of the entry points (over tsc's output)
    await bundleEntries(repo);
  }
  return join(repo, 'bin/veil.js');
}

/** The Adult policy of the tabular bench (ARX hierarchies, k=10), written as YAML for the CLI. */
function adultPolicy(dir: string): string {
  const qis = ADULT_QIS.map(
    (q) => `    - { column: ${q}, type: ${q === 'age' ? 'numeric' : 'categorical'}, hierarchy: ${JSON.stringify(join(adultDir, `adult_hierarchy_${q}.csv`))} }`,
  );
  const yaml = ['name: adult-startup-bench', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive: [ { column: salary-class } ]', '  privacy: { k: 10, suppressionLimit: 0.02 }', "  missingValues: ['', '?', 'NA']", '  otherColumns: keep', ''];
  const file = join(dir, 'adult.yaml');
  writeFileSync(file, yaml.join('\n'));
  return file;
}

interface Case {
  name: string;
  args: string[];
}

/** Preloaded into every timed process (node -e 0 included): reports its CPU time on fd 3 at exit. */
const CPU_REPORTER = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String(u.user + u.system)); });",
)}`;

function timeOnce(args: string[]): { wallMs: number; cpuMs: number } {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', CPU_REPORTER, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${args.slice(1).join(' ')} exited ${run.status}: ${run.stderr.split('\n')[0]}`);
  return { wallMs, cpuMs: Number(run.output[3]) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The timed cases for one launcher (node -e 0 first: the others are read against it). */
function casesFor(veil: string, policy: string, work: string, tag: string): Case[] {
  return [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'veil --version', args: [veil, '--version'] },
    { name: 'veil --help', args: [veil, '--help'] },
    { name: 'veil policy check (Adult policy)', args: [veil, 'policy', 'check', policy] },
    {
      name: 'veil tabular anonymize (Adult, k=10)',
      args: [veil, 'tabular', 'anonymize', '--policy', policy, '--in', join(adultDir, 'adult.csv'), '--out', join(work, `out-${tag}.csv`), '--quiet'],
    },
  ];
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const veil = await launcher();
const peer = process.env.STARTUP_PEER ? resolve(process.env.STARTUP_PEER) : undefined;
const work = mkdtempSync(join(tmpdir(), 'veil-startup-'));
try {
  const policy = adultPolicy(work);
  const launchers = [{ label: veil, cases: casesFor(veil, policy, work, 'a') }, ...(peer ? [{ label: `${peer} (peer)`, cases: casesFor(peer, policy, work, 'b') }] : [])];
  const wall = launchers.map((l) => new Map<string, number[]>(l.cases.map((c) => [c.name, []])));
  const cpu = launchers.map((l) => new Map<string, number[]>(l.cases.map((c) => [c.name, []])));
  const loadBefore = load();
  // Warm the file cache once, then interleave the cases (and the launchers, case by case) so
  // that a busy moment hits them all alike.
  for (const l of launchers) for (const c of l.cases) timeOnce(c.args);
  for (let run = 0; run < RUNS; run++) {
    for (let i = 0; i < launchers[0].cases.length; i++) {
      launchers.forEach((l, j) => {
        const c = l.cases[i];
        const t = timeOnce(c.args);
        wall[j].get(c.name)?.push(t.wallMs);
        cpu[j].get(c.name)?.push(t.cpuMs);
      });
    }
  }

  const ms = (value: number) => `${value.toFixed(0)} ms`.padStart(9);
  process.stdout.write(`median of ${RUNS} runs of the whole process; load average (1, 5, 15 min) ${loadBefore} before, ${load()} after\n`);
  launchers.forEach((l, j) => {
    const nodeWall = median(wall[j].get(l.cases[0].name) ?? []);
    const nodeCpu = median(cpu[j].get(l.cases[0].name) ?? []);
    process.stdout.write(`\nlauncher: ${l.label}\n`);
    process.stdout.write(`${'case'.padEnd(40)} ${'wall'.padStart(9)} ${'− node'.padStart(9)} ${'÷ node'.padStart(7)} ${'CPU'.padStart(9)} ${'− node'.padStart(9)}\n`);
    for (const c of l.cases) {
      const w = median(wall[j].get(c.name) ?? []);
      const u = median(cpu[j].get(c.name) ?? []);
      process.stdout.write(`${c.name.padEnd(40)} ${ms(w)} ${ms(w - nodeWall)} ${`${(w / nodeWall).toFixed(1)}×`.padStart(7)} ${ms(u)} ${ms(u - nodeCpu)}\n`);
    }
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
