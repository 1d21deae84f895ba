import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import type { Api, ApiOptions } from '../../src/api/server.js';
import { createApiKey, type Role } from '../../src/api/keys.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const ADULT_DIR = resolve(REPO_ROOT, '../shared/data/adult');
/**
 * The built job process the in-process test servers fork, as `veil serve` does: the bundle
 * (scripts/bundle-entries.ts; ≈ 0.5–0.8 s less CPU per job than worker.ts through tsx, ≈ 0.17 s
 * less than tsc's dist/api/worker.js), or tsc's when the bundle failed to build (globalSetup).
 */
const BUNDLED_JOB_WORKER = join(REPO_ROOT, 'dist/bundle/api/worker.js');
export const BUILT_JOB_WORKER = existsSync(BUNDLED_JOB_WORKER) ? BUNDLED_JOB_WORKER : join(REPO_ROOT, 'dist/api/worker.js');
export const ADULT_QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];

export function tempDir(prefix = 'veil-api-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The Adult policy with the ARX hierarchy files named by their plain file names. */
export function adultPolicyYaml(name: string, k = 5, extra = ''): string {
  const qis = ADULT_QIS.map((column) => `    - { column: ${column},${column === 'age' ? ' type: numeric,' : ''} hierarchy: adult_hierarchy_${column}.csv }`);
  return [`name: ${name}`, 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive: [ { column: salary-class } ]', `  privacy: { k: ${k}, suppressionLimit: 0.02${extra} }`, ''].join('\n');
}

export function adultHierarchyFiles(): { name: string; path: string }[] {
  return ADULT_QIS.map((column) => ({ name: `adult_hierarchy_${column}.csv`, path: join(ADULT_DIR, `adult_hierarchy_${column}.csv`) }));
}

/** A small policy without hierarchy files (builders only), for route tests. */
export function smallPolicyYaml(name: string, k = 2): string {
  return [
    `name: ${name}`,
    'version: 3',
    'tabular:',
    '  identifiers: [ { column: name, action: remove } ]',
    '  quasiIdentifiers:',
    '    - { column: age, type: numeric }',
    '    - { column: sex, type: categorical }',
    '  sensitive: [ { column: diagnosis } ]',
    `  privacy: { k: ${k}, suppressionLimit: 0 }`,
    '',
  ].join('\n');
}

/** A CSV that satisfies k=2 on (age, sex) once ages are generalized. */
export function smallCsv(rows = 40): string {
  const lines = ['name,age,sex,diagnosis'];
  const diagnoses = ['flu', 'asthma', 'gout', 'migraine'];
  for (let i = 0; i < rows; i++) lines.push(`Person ${i},${20 + (i % 30)},${i % 2 === 0 ? 'F' : 'M'},${diagnoses[i % diagnoses.length]}`);
  return `${lines.join('\n')}\n`;
}

/** Collects pino lines written by the API. */
export class LogCapture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

export interface TestApi {
  api: Api;
  dir: string;
  keys: Record<'committee' | 'researcher' | 'researcher2' | 'auditor', string>;
  logs: LogCapture;
  close(): Promise<void>;
}

export async function startTestApi(options: Partial<ApiOptions> = {}): Promise<TestApi> {
  const { dir, cleanup } = tempDir();
  const logs = new LogCapture();
  // jobs run in the built job process (dist/, made current by test/globalSetup.ts), not worker.ts through tsx
  const runner = { workerFile: BUILT_JOB_WORKER, ...(options.runner ?? { concurrency: 1 }) };
  // loaded here, not at the top: the files that use only REPO_ROOT, sleep or tempDir (the
  // console, zip and process tests) then skip importing the whole server (Express and all)
  const { createApi } = await import('../../src/api/server.js');
  const api = await createApi({ dataDir: dir, logLevel: 'info', logDestination: logs, ...options, runner });
  const make = (role: Role, name: string) => createApiKey(api.ctx.db, role, name).key;
  const keys = {
    committee: make('committee', 'committee-1'),
    researcher: make('researcher', 'researcher-1'),
    researcher2: make('researcher', 'researcher-2'),
    auditor: make('auditor', 'auditor-1'),
  };
  return {
    api,
    dir,
    keys,
    logs,
    async close() {
      await api.close();
      cleanup();
    },
  };
}

export function readAdultCsv(): string {
  return readFileSync(join(ADULT_DIR, 'adult.csv'), 'utf8');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
