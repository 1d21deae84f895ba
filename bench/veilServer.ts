/** A `veil serve` process for the API benches (loopback only), and its keys. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const TS_CLI = join(ROOT, 'src/cli/main.ts');
const BUILT_CLI = join(ROOT, 'dist/cli/main.js');

/**
 * How `veil` is started: `dist` is what a user runs (`bin/veil.js` → the compiled dist/), `tsx`
 * compiles the TS sources as they load (in the preview thread too).
 */
export type VeilRuntime = 'dist' | 'tsx';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * `dist` when the compiled CLI exists and no file under src/ is newer than it (tsc rewrites every
 * output on each `npm run build`), else `tsx` with the reason: a stale build would time old code.
 */
export function pickRuntime(): { runtime: VeilRuntime; why: string } {
  if (!existsSync(BUILT_CLI)) return { runtime: 'tsx', why: 'dist/ is absent (run `npm run build`)' };
  if (newestMtime(join(ROOT, 'src')) > statSync(BUILT_CLI).mtimeMs) return { runtime: 'tsx', why: 'dist/ is older than src/ (run `npm run build`)' };
  return { runtime: 'dist', why: 'the built server, as `bin/veil.js` runs it' };
}

function cliArgs(runtime: VeilRuntime): string[] {
  return runtime === 'dist' ? [join(ROOT, 'bin/veil.js')] : ['--import', 'tsx', TS_CLI];
}

/** Creates an API key of `role` in `dataDir` and returns it. */
export function createKey(dataDir: string, role: string, runtime: VeilRuntime = 'tsx'): string {
  const run = spawnSync(process.execPath, [...cliArgs(runtime), 'keys', 'create', '--role', role, '--data-dir', dataDir], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

/** Starts `veil serve` on a free loopback port with rate limits out of the way; resolves once it listens. */
export async function startVeilServer(dataDir: string, extraArgs: string[] = [], runtime: VeilRuntime = 'tsx'): Promise<{ server: ChildProcess; base: string }> {
  const server = spawn(process.execPath, [...cliArgs(runtime), 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--rate-limit', '100000000', ...extraArgs], {
    cwd: ROOT,
    env: { ...process.env, VEIL_SECRET: process.env.VEIL_SECRET ?? 'bench-secret-0123456789abcdef' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const port = await new Promise<number>((ok, fail) => {
      let out = '';
      server.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /:(\d+) \(data/.exec(out);
        if (match) ok(Number(match[1]));
      });
      server.once('exit', () => fail(new Error('server exited')));
    });
    return { server, base: `http://127.0.0.1:${port}` };
  } catch (error) {
    server.kill();
    throw error;
  }
}
