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
function packagesLoadedBy(module: string): Set<string> {
  const trace = join(dir, 'trace');
  writeFileSync(trace, '');
  const url = pathToFileURL(join(repoRoot, module)).href;
  const run = spawnSync(process.execPath, ['--import', join(repoRoot, 'test/importTrace.mjs'), '--input-type=module', '-e', `await import(${JSON.stringify(url)})`], {
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
  return packages;
}

describe('package entries', () => {
  it('the library entry loads no HTTP server package; the server entry does', () => {
    // one traced process, not one per package looked for
    const library = packagesLoadedBy('dist/index.js');
    expect(SERVER_PACKAGES.filter((p) => library.has(p))).toEqual([]);
    expect(packagesLoadedBy('dist/api/index.js').has('express')).toBe(true);
  });

  it('the server entry gives the server and its administration', async () => {
    // the built entry, what `import 'veil/server'` gives a user (package.json exports → dist/);
    // not the sources, which vitest would transform module by module (≈ 5 CPU-s for this one check)
    const server = (await import(pathToFileURL(join(repoRoot, 'dist/api/index.js')).href)) as typeof import('../src/api/index.js');
    for (const name of ['createApi', 'startServer', 'openDatabase', 'createApiKey', 'appendAudit', 'isRole'] as const) expect(typeof server[name]).toBe('function');
    expect(server.ROLES).toContain('auditor');
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
