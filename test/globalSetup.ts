/**
 * Runs once before the test files: makes dist/ current, because every test that starts Veil as
 * a process (CLI, `veil serve`, `veil worker`, `veil dicom listen`) runs the built `node
 * bin/veil.js`, as a user does. From the TS sources through tsx each of those processes paid
 * ≈ 0.3–0.6 s more CPU (and its job and step processes again), hundreds of times per run.
 *
 * `npm ci` / `npm install` builds dist/ (`prepare`), so in CI it is normally fresh and this
 * costs a directory walk. After an edit of src/ it rebuilds when a source file is newer than
 * its compiled counterpart or has none: `tsc -p tsconfig.build.json --noCheck`, the same .js
 * files as `npm run build` without the type check (`npm run typecheck` does that). Then, as
 * the build does, it bundles the entry points into dist/bundle/ (scripts/bundle-entries.ts),
 * which bin/veil.js runs; also when only the bundle is missing or older than a source file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCharts, CHARTS_BUNDLE } from '../scripts/bundle-charts.js';
import { BUNDLE_DIR, BUNDLE_META, bundleEntries } from '../scripts/bundle-entries.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(repoRoot, 'src');
const distDir = join(repoRoot, 'dist');

/** The src/ files whose dist/ counterpart is missing or older: the first few, for the message. */
export function staleSources(limit = 5): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (stale.length >= limit) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = join(distDir, relative(srcDir, path)).replace(/\.ts$/, '.js');
        const builtAt = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
        if (builtAt === undefined || builtAt < statSync(path).mtimeMs) stale.push(relative(repoRoot, path));
      }
    }
  };
  walk(srcDir);
  return stale;
}

/** The newest modification time of the source files (0 for none). */
function newestSource(): number {
  let newest = 0;
  for (const entry of readdirSync(srcDir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** True when dist/bundle/ is missing or older than a source file (its metafile is written last). */
export function bundleIsStale(): boolean {
  const bundledAt = statSync(join(repoRoot, BUNDLE_META), { throwIfNoEntry: false })?.mtimeMs;
  return bundledAt === undefined || bundledAt < newestSource();
}

/**
 * Two test runs started together (several people or agents in one checkout) must not both
 * rewrite dist/ at once: the build holds a lock directory, and the second run waits for it and
 * then finds dist/ current.
 */
async function withBuildLock(build: () => Promise<void>): Promise<void> {
  const lock = join(repoRoot, 'node_modules', '.veil-test-build.lock');
  const until = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock older than the longest build is left over from a killed run
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 5 * 60_000) rmdirSync(lock);
      else if (Date.now() > until) throw new Error('another test run has been building dist/ for 5 minutes (lock node_modules/.veil-test-build.lock)');
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (staleSources(1).length > 0 || bundleIsStale()) await build();
  } finally {
    rmdirSync(lock);
  }
}

export default async function setup(): Promise<void> {
  // the build's chart bundle (`npm install` and `npm run build` make it; a tsc-only build does not)
  if (!existsSync(join(repoRoot, CHARTS_BUNDLE))) await bundleCharts(repoRoot);
  const stale = staleSources();
  if (stale.length === 0 && !bundleIsStale()) return;
  await withBuildLock(async () => {
    const started = Date.now();
    if (staleSources(1).length > 0) {
      process.stderr.write(`veil tests: building dist/ (newer sources: ${stale.join(', ')}${stale.length >= 5 ? ', …' : ''})\n`);
      const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const run = spawnSync(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--noCheck'], { cwd: repoRoot, encoding: 'utf8' });
      // a syntax error stops nothing either: tsc writes what it can, the tests of that file fail
      if (run.status !== 0) process.stderr.write(`veil tests: tsc reported errors; dist/ was written anyway:\n${run.stdout.split('\n').slice(0, 10).join('\n')}\n`);
      if (staleSources(1).length > 0) throw new Error('dist/ is still older than src/ after tsc -p tsconfig.build.json: run `npm run build` and read its errors');
    }
    // after tsc: bin/veil.js runs the bundle only when it is at least as new as dist/cli/main.js
    try {
      await bundleEntries(repoRoot);
    } catch (error) {
      // as for tsc: the tests run (tsc's dist/, which bin/veil.js then runs) and show the fault
      rmSync(join(repoRoot, BUNDLE_DIR), { recursive: true, force: true });
      process.stderr.write(`veil tests: the bundle failed, the tests run tsc's dist/: ${error instanceof Error ? error.message.split('\n').slice(0, 10).join('\n') : String(error)}\n`);
    }
    process.stderr.write(`veil tests: dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
}
