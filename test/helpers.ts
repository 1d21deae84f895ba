import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Real public data beside the repository (tests only; the product never needs it). */
export const sharedData = resolve(repoRoot, '../shared/data');
export const adultDir = join(sharedData, 'adult');

/** A temp directory removed after the test file. */
export function tempDir(prefix = 'veil-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `veil` CLI from source (as `npx veil` would run the build). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
