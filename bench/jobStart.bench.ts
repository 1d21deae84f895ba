/**
 * Job process start-up: the CPU of one whole job process (the built dist/bundle/api/worker.js, as
 * `veil serve` forks it) on a one-file DICOM job, when it parses the approved policy itself
 * against when the parent hands it the parse (src/api/runnerPolicy.ts, what the runner and
 * `veil worker` do). Both in the same build, alternated round by round so that a shared
 * machine's load hits both alike; prints the medians, every round and the load average.
 *   npx tsx bench/jobStart.bench.ts [rounds]      (default 8; dist/ must be current: npm run build)
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(fileURLToPath(import.meta.url), '../..');
const dicomFile = resolve(repo, '../shared/data/dicom/CT_small.dcm');
const rounds = Number(process.argv[2] ?? 8);
const POLICY = 'name: start-up\nversion: 1\ndicom: { profile: basic }\n';

/** CPU seconds of this process's reaped children so far (user + system, from /proc). */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const { policyForChild } = (await import(pathToFileURL(join(repo, 'dist/api/runnerPolicy.js')).href)) as typeof import('../src/api/runnerPolicy.js');
const dir = mkdtempSync(join(tmpdir(), 'veil-job-start-'));
mkdirSync(join(dir, 'hierarchies'));
writeFileSync(join(dir, 'policy.yaml'), POLICY);
process.env.VEIL_SECRET ??= 'bench-job-start-secret-0123456789';

async function oneJob(name: string, handParse: boolean): Promise<number> {
  const input = join(dir, name, 'input');
  mkdirSync(input, { recursive: true });
  mkdirSync(join(dir, name, 'work'));
  copyFileSync(dicomFile, join(input, 'a.dcm'));
  const spec = {
    jobId: name,
    kind: 'dicom',
    policyFile: join(dir, 'policy.yaml'),
    policyDir: join(dir, 'hierarchies'),
    policyVersion: 1,
    policySha256: createHash('sha256').update(POLICY).digest('hex'),
    hierarchies: [],
    input,
    workDir: join(dir, name, 'work'),
  };
  const parsedPolicy = handParse ? await policyForChild(spec) : undefined;
  const before = childrenCpu();
  // execArgv empty: the job process runs as `veil serve` forks it, without this bench's tsx loader
  const child = fork(join(repo, 'dist/bundle/api/worker.js'), ['--veil-job-worker'], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let last: unknown;
  child.on('message', (message) => (last = message));
  child.send({ type: 'run', spec: { ...spec, parsedPolicy } });
  await new Promise((done) => child.once('exit', done));
  if ((last as { type?: string } | undefined)?.type !== 'done') throw new Error(`the job did not finish: ${JSON.stringify(last)}`);
  return childrenCpu() - before;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const itself: number[] = [];
const handed: number[] = [];
const loadBefore = load();
try {
  for (let round = 0; round < rounds; round++) {
    itself.push(await oneJob(`itself-${round}`, false));
    handed.push(await oneJob(`handed-${round}`, true));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const row = (label: string, values: number[]) => `${label.padEnd(34)} median ${median(values).toFixed(2)} CPU-s   rounds ${values.map((v) => v.toFixed(2)).join(' ')}\n`;
process.stdout.write(`one-file DICOM job process, ${rounds} alternated rounds (load ${loadBefore} -> ${load()})\n`);
process.stdout.write(row('the job process parses the policy', itself));
process.stdout.write(row("the parent's parse handed to it", handed));
