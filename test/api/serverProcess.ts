import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { veilArgs } from '../helpers.js';
import { REPO_ROOT, sleep } from './helpers.js';

/** Runs `veil keys create` as a user would and returns the printed key. */
export function createKeyWithCli(dataDir: string, role: string, name: string): string {
  const run = spawnSync(process.execPath, veilArgs(['keys', 'create', '--role', role, '--data-dir', dataDir, '--name', name]), {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`keys create failed: ${run.stderr}`);
  const key = run.stdout.trim();
  if (!/^veil_[A-Za-z0-9_-]{40,}$/.test(key)) throw new Error('keys create printed no key');
  return key;
}

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** What the server wrote on stderr so far (its JSON log lines at the chosen --log-level). */
  log(): string;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the built `veil serve --port 0` on loopback and reads the port it printed. Without
 * `previewWarmup` the server skips warming the preview thread (≈ 1.3 s of CPU per start that
 * only a test of the first preview's time needs).
 */
export async function startServerProcess(dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, options: { previewWarmup?: boolean } = {}): Promise<ServerProcess> {
  const warmup = options.previewWarmup ? [] : ['--no-preview-warmup'];
  const child = spawn(process.execPath, veilArgs(['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn', ...warmup, ...extraArgs]), {
    cwd: REPO_ROOT,
    env: { ...process.env, VEIL_SECRET: 'process-test-secret-0123456789', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${String(code)}): ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    log: () => stderr,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** PIDs of the job processes (`--veil-job-worker`) a server started, read from /proc (only those: a server from the TS sources ran an esbuild child too). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // fields after the command name (which may hold spaces) start with state, then ppid
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('--veil-job-worker')) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, guardMs = 60_000, stepMs = 50): Promise<void> {
  const until = Date.now() + guardMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await sleep(stepMs);
  }
}

export async function api<T = unknown>(base: string, key: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  const text = await res.text();
  let body: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, body: body as T, text, headers: res.headers };
}
