/**
 * The package's entries: the library (`veil`, src/index.ts) loads no HTTP server package, the
 * server has its own entry (`veil/server`, src/api/index.ts), and every entry of package.json's
 * `exports` is built from a source index.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from './helpers.js';

const dir = tempDir('veil-entries-');
const SERVER_PACKAGES = ['express', 'express-rate-limit', 'helmet', 'multer', 'pino', 'better-sqlite3'];

/**
 * The npm packages a fresh process imports when it loads one module of the build (dist/, made
 * current by test/globalSetup.ts): what `import 'veil'` loads for a user. Not the TS source
 * through tsx, which costs more per process and traces the same graph (tsc emits one .js per
 * .ts with the same imports, type-only ones dropped as tsx drops them).
 */
function packagesLoadedBy(module: string): { packages: Set<string>; exports: Record<string, string> } {
  const trace = join(dir, 'trace');
  writeFileSync(trace, '');
  const url = pathToFileURL(join(repoRoot, module)).href;
  // the process also prints what the entry exports (name → typeof, arrays as their JSON)
  const script = `const m = await import(${JSON.stringify(url)}); console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.isArray(v) ? JSON.stringify(v) : typeof v]))))`;
  const run = spawnSync(process.execPath, ['--import', join(repoRoot, 'test/importTrace.mjs'), '--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, VEIL_IMPORT_TRACE: trace },
  });
  expect(run.stderr).toBe('');
  const packages = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(line);
    if (match) packages.add(match[1]);
  }
  return { packages, exports: JSON.parse(run.stdout) as Record<string, string> };
}

/** The server entry's trace, run once for the two tests that read it. */
let serverEntry: ReturnType<typeof packagesLoadedBy> | undefined;
const serverEntryLoad = () => (serverEntry ??= packagesLoadedBy('dist/api/index.js'));

describe('package entries', () => {
  it('the library entry loads no HTTP server package; the server entry does', () => {
    // one traced process, not one per package looked for
    const library = packagesLoadedBy('dist/index.js').packages;
    expect(SERVER_PACKAGES.filter((p) => library.has(p))).toEqual([]);
    expect(serverEntryLoad().packages.has('express')).toBe(true);
  });

  it('the server entry gives the server and its administration', () => {
    // the built entry, what `import 'veil/server'` gives a user (package.json exports → dist/),
    // as the traced process above loaded it: not imported again here (≈ 0.7 CPU-s for Express,
    // SQLite and the routes), nor from the sources (≈ 5 CPU-s of vitest transforms)
    const server = serverEntryLoad().exports;
    for (const name of ['createApi', 'startServer', 'openDatabase', 'createApiKey', 'appendAudit', 'isRole'] as const) expect(server[name]).toBe('function');
    expect(JSON.parse(server.ROLES ?? '[]')).toContain('auditor');
  });

  it('every export of package.json is compiled from a source file', () => {
    const exportsMap = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> }).exports;
    expect(Object.keys(exportsMap)).toEqual(expect.arrayContaining(['.', './server']));
    for (const target of Object.values(exportsMap)) {
      if (typeof target === 'string') continue;
      expect(target.default).toMatch(/^\.\/dist\/.+\.js$/);
      expect(target.types).toBe(target.default.replace(/\.js$/, '.d.ts'));
      expect(existsSync(join(repoRoot, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')))).toBe(true);
    }
  });
});
