import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, defaultConsoleDir } from '../../src/api/console.js';
import { REPO_ROOT, startTestApi, tempDir, type TestApi } from './helpers.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script></head><body><div id="app"></div></body></html>\n';
const SCRIPT = 'console.log("veil console");\n';

let built: { dir: string; cleanup(): void };
let t: TestApi;
let bare: TestApi;

beforeAll(async () => {
  // a console as Vite builds it: index.html and hashed assets
  built = tempDir('veil-console-');
  mkdirSync(join(built.dir, 'assets'));
  writeFileSync(join(built.dir, 'index.html'), INDEX);
  writeFileSync(join(built.dir, 'assets', 'app-1a2b3c.js'), SCRIPT);
  writeFileSync(join(built.dir, '.secret'), 'dotfiles are never served');
  t = await startTestApi({ consoleDir: built.dir });
  bare = await startTestApi({ consoleDir: join(built.dir, 'not-built') });
});
afterAll(async () => {
  await t.close();
  await bare.close();
  built.cleanup();
});

function expectConsoleHeaders(res: request.Response): void {
  expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
  expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
}

describe('the console at /', () => {
  it('answers index.html at / with the console CSP (no unsafe-inline)', async () => {
    const res = await request(t.api.app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toBe(INDEX);
    expectConsoleHeaders(res);
    expect(CONSOLE_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
    );
  });

  it('answers index.html for client routes, so a reload of /auditor/jobs works', async () => {
    for (const path of ['/auditor/jobs', '/committee/policies/demo-cohort', '/sign-in']) {
      const res = await request(t.api.app).get(path);
      expect(res.status).toBe(200);
      expect(res.text).toBe(INDEX);
      expectConsoleHeaders(res);
    }
  });

  it('serves hashed assets with the console CSP and a long cache; a missing asset is a 404, not the app', async () => {
    const asset = await request(t.api.app).get('/assets/app-1a2b3c.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.text).toBe(SCRIPT);
    expect(asset.headers['cache-control']).toContain('immutable');
    expectConsoleHeaders(asset);
    const missing = await request(t.api.app).get('/assets/nope-000.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/json/);
  });

  it('never serves dotfiles or files outside its folder', async () => {
    const dot = await request(t.api.app).get('/.secret');
    expect(dot.text).not.toContain('never served');
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await request(t.api.app).get(path);
      expect(res.text).not.toContain('"name"');
    }
  });

  it('leaves the API alone: /v1 paths answer JSON, /healthz keeps the API CSP', async () => {
    const v1 = await request(t.api.app).get('/v1/anything');
    expect(v1.status).toBe(401);
    expect(v1.headers['content-type']).toMatch(/json/);
    const post = await request(t.api.app).post('/somewhere');
    expect(post.status).toBe(404);
    const health = await request(t.api.app).get('/healthz');
    expect(health.headers['content-security-policy']).toBeDefined();
    expect(health.headers['content-security-policy']).not.toBe(CONSOLE_CSP);
  });

  it('when the console is not built, / says so with a 200 page (not a 500)', async () => {
    for (const path of ['/', '/auditor/jobs']) {
      const res = await request(bare.api.app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('The console is not built: run npm run build');
      expectConsoleHeaders(res);
    }
  });

  it('finds dist/console of the package from the sources', () => {
    expect(defaultConsoleDir().replace(/[\\/]$/, '')).toBe(join(REPO_ROOT, 'dist', 'console'));
  });
});
