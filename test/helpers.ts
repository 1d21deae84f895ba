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

/**
 * The built CLI, as a user runs it (`npx veil` starts bin/veil.js → dist/cli/main.js).
 * test/globalSetup.ts rebuilds dist/ first when a source file is newer, so the tests run the
 * current code. Not the TS sources through tsx: that costs ≈ 0.3–0.6 s more CPU per process,
 * and a server or worker started from sources starts its job and step processes from sources
 * too. Only tests that trace which source modules load keep tsx (test/cli/startup.test.ts,
 * test/index.test.ts: see there).
 */
export const VEIL_BIN = join(repoRoot, 'bin/veil.js');

/** `node` arguments that run `veil <args>`, for spawn(process.execPath, veilArgs(…)). */
export function veilArgs(args: string[]): string[] {
  return [VEIL_BIN, ...args];
}

/** Runs `veil <args>` (the build) and waits for it to end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const run = spawnSync(process.execPath, veilArgs(args), {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
