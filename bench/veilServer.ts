/** A `veil serve` process for the API benches (from TS sources, loopback only), and its keys. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const CLI = join(ROOT, 'src/cli/main.ts');

/** Creates an API key of `role` in `dataDir` and returns it. */
export function createKey(dataDir: string, role: string): string {
  const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'keys', 'create', '--role', role, '--data-dir', dataDir], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

/** Starts `veil serve` on a free loopback port with rate limits out of the way; resolves once it listens. */
export async function startVeilServer(dataDir: string, extraArgs: string[] = []): Promise<{ server: ChildProcess; base: string }> {
  const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--rate-limit', '100000000', ...extraArgs], {
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
