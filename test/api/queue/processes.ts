import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { veilArgs } from '../../helpers.js';
import { REPO_ROOT } from '../helpers.js';

export interface WorkerProcess {
  child: ChildProcess;
  /** stderr so far (JSON log lines). */
  log(): string;
  /** PIDs of the step processes this worker runs now. */
  stepPids(): number[];
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the built `veil worker` (its step processes run from dist/ too) and waits for its ready line. */
export async function startWorkerProcess(dataDir: string, queueUrl: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, veilArgs(['worker', '--queue', queueUrl, '--data-dir', dataDir, ...extraArgs]), {
    cwd: REPO_ROOT,
    env: { ...process.env, VEIL_SECRET: 'process-test-secret-0123456789', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('worker ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${String(code)}): ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    log: () => stderr,
    stepPids: () => childrenWith(child.pid ?? -1, '--veil-step-worker'),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Child processes of `pid` whose command line holds `marker`, read from /proc. The kernel lists a
 * process's children in /proc/<pid>/task/<pid>/children (its main thread's, which spawns them):
 * the tests poll this every 100 ms for three workers, and reading the stat of every process on
 * the machine instead cost ≈ 2 ms a call. Without that file (a kernel built without it), the scan.
 */
export function childrenWith(pid: number, marker: string): number[] {
  let listed: string;
  try {
    listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return scanChildrenWith(pid, marker);
  }
  return listed
    .split(' ')
    .filter((entry) => entry !== '')
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false; // the process ended while we looked
      }
    });
}

function scanChildrenWith(pid: number, marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
