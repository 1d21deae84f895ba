/**
 * Start-up: each `veil` command loads only the packages its own work needs, so that `--help`,
 * `--version` and `policy check` start at once. The CLI runs in a real process with a module
 * hook that records every import (test/importTrace.mjs); times are in bench/startup.bench.ts.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHARTS_BUNDLE } from '../../scripts/bundle-charts.js';
import { BUNDLE_DIR, BUNDLE_META } from '../../scripts/bundle-entries.js';
import { adultDir, repoRoot, sharedData, tempDir, veilArgs } from '../helpers.js';

const dir = tempDir('veil-startup-');
const traceHook = join(repoRoot, 'test/importTrace.mjs');

/** The heavy packages (each tens to hundreds of ms to load) that belong to one command's work only. */
const HEAVY = ['onnxruntime-node', 'sharp', 'vega', 'vega-lite', 'vega (bundled)', 'express', 'dcmjs', 'dcmjs-codecs', 'arquero', 'better-sqlite3', 'onnx-proto', 'pino', 'multer'];

/** A package's name from a path or URL inside its node_modules folder (the innermost one). */
const packageIn = (path: string): string | undefined => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(path)?.[1];

/**
 * What each file of the build's bundle holds (scripts/bundle-entries.ts writes esbuild's
 * metafile beside it): its output path under dist/bundle/ → the source files and package files
 * bundled into it. A bundled process imports one file where the tsc output imports many; the
 * trace of its files, read through this, names the same packages and command modules.
 */
let bundleInputs: Map<string, string[]> | undefined;
function bundledInto(outputPath: string): string[] {
  bundleInputs ??= new Map(
    Object.entries((JSON.parse(readFileSync(join(repoRoot, BUNDLE_META), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> }).outputs).map(([output, { inputs }]) => [
      output.slice(output.indexOf(`${BUNDLE_DIR}/`) + BUNDLE_DIR.length + 1),
      Object.keys(inputs),
    ]),
  );
  return bundleInputs.get(outputPath) ?? [];
}

/**
 * Runs the built CLI (bin/veil.js → dist/, made current by test/globalSetup.ts) and returns its
 * result and the npm packages it imported. The build, not the TS sources through tsx: the
 * bundle (or tsc's one .js per .ts) holds the same modules, type-only imports dropped as tsx
 * drops them, so the package graph is the one a user's `veil` loads, and tsx's own loader
 * stays out of the trace.
 */
function runTraced(args: string[], name: string): { status: number | null; stderr: string; packages: Set<string>; commandModules: string[] } {
  const trace = join(dir, `${name}.trace`);
  writeFileSync(trace, '');
  const run = spawnSync(process.execPath, ['--import', traceHook, ...veilArgs(args)], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', VEIL_IMPORT_TRACE: trace, VEIL_SECRET: 'a-test-secret-of-enough-length' },
  });
  const packages = new Set<string>();
  const commandModules = new Set<string>();
  const bundlePrefix = `${repoRoot.replace(/\/$/, '')}/${BUNDLE_DIR}/`;
  for (const url of readFileSync(trace, 'utf8').split('\n')) {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    // a file of the bundle stands for the sources and package files bundled into it
    const files = path.startsWith(bundlePrefix) ? bundledInto(path.slice(bundlePrefix.length)).map((input) => `/${input}`) : [path];
    for (const file of files) {
      const command = /\/(?:dist|src)\/cli\/commands\/([^/]+)\.[jt]s$/.exec(file);
      if (command) commandModules.add(`${command[1]}.js`);
      const name = packageIn(file);
      if (name) packages.add(name);
      // the build's one-file bundle of the chart packages (scripts/bundle-charts.ts) stands for them
      else if (file.endsWith(`/${CHARTS_BUNDLE}`)) packages.add('vega (bundled)');
    }
  }
  return { status: run.status, stderr: run.stderr, packages, commandModules: [...commandModules].sort() };
}

function adultPolicy(k: number): string {
  const qis = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'].map(
    (q) => `    - { column: ${q}, type: ${q === 'age' ? 'numeric' : 'categorical'}, hierarchy: ${JSON.stringify(join(adultDir, `adult_hierarchy_${q}.csv`))} }`,
  );
  const file = join(dir, `adult-k${k}.yaml`);
  writeFileSync(file, ['name: adult', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive: [ { column: salary-class } ]', `  privacy: { k: ${k}, suppressionLimit: 0.02 }`, ''].join('\n'));
  return file;
}

describe('veil start-up', () => {
  it('--version and --help load no package but the argument parser', () => {
    for (const args of [['--version'], ['--help'], ['tabular', 'anonymize', '--help'], ['serve', '--help'], ['keys', 'create', '--help']]) {
      const run = runTraced(args, args.join('-'));
      expect(run.status).toBe(0);
      expect([...run.packages]).toEqual(['commander']);
      // `veil --help` lists every command: all their modules are loaded
      if (args[0] === '--help') expect(run.commandModules).toEqual(['audit.js', 'demo.js', 'dicom.js', 'image.js', 'policy.js', 'serve.js', 'tabular.js', 'worker.js']);
    }
  });

  it('policy check loads the YAML parser and the schema library, nothing heavy', () => {
    const run = runTraced(['policy', 'check', adultPolicy(10)], 'policy-check');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect([...run.packages].sort()).toEqual(['commander', 'yaml', 'zod']);
    // a command loads its own command module, not the others' (src/cli/main.ts)
    expect(run.commandModules).toEqual(['policy.js']);
  });

  it('keys create loads the key store (SQLite) but not the server: tests and operators run it often', () => {
    const run = runTraced(['keys', 'create', '--role', 'auditor', '--data-dir', join(dir, 'keys-data'), '--name', 'otto'], 'keys-create');
    expect(run.status, run.stderr).toBe(0);
    expect(run.packages.has('better-sqlite3')).toBe(true);
    expect(HEAVY.filter((p) => p !== 'better-sqlite3' && run.packages.has(p))).toEqual([]);
  });

  it('tabular anonymize loads no model, image, DICOM or server package; the chart library only for --html', () => {
    const policy = adultPolicy(10);
    // The first 200 records of UCI Adult, same columns and hierarchies: which modules a run
    // imports does not depend on the table's length (no import in src/tabular, src/io or
    // src/report is conditional on it). The whole file cost ≈ 1.3 CPU-s more, 2,000 records
    // ≈ 0.3 CPU-s more than 200 for the two runs (3 runs each: 0.57 → 0.49, with --html 1.33 → 1.12).
    const csv = join(dir, 'adult-head.csv');
    writeFileSync(csv, readFileSync(join(adultDir, 'adult.csv'), 'utf8').split('\n').slice(0, 201).join('\n') + '\n');
    const plain = runTraced(['tabular', 'anonymize', '--policy', policy, '--in', csv, '--out', join(dir, 'adult.csv'), '--quiet'], 'tabular');
    expect(plain.stderr).toBe('');
    expect(plain.status).toBe(0);
    expect(HEAVY.filter((p) => plain.packages.has(p))).toEqual([]);

    // the trace does see a heavy package when the command needs it
    const withHtml = runTraced(['tabular', 'anonymize', '--policy', policy, '--in', csv, '--out', join(dir, 'adult-html.csv'), '--html', join(dir, 'adult.html'), '--quiet'], 'tabular-html');
    expect(withHtml.status).toBe(0);
    // the charts come from the build's bundle (test/globalSetup.ts makes it if missing), not the ≈ 300 modules of the packages
    expect(HEAVY.filter((p) => withHtml.packages.has(p))).toEqual(['vega (bundled)']);
  });

  it('dicom deidentify without a pixels section loads neither the text and face models nor the image library', () => {
    const input = join(dir, 'dicom-in');
    mkdirSync(input, { recursive: true });
    copyFileSync(join(sharedData, 'dicom/CT_small.dcm'), join(input, 'CT_small.dcm'));
    const policy = join(dir, 'dicom.yaml');
    writeFileSync(policy, ['name: dicom-only', 'version: 1', 'dicom: { profile: basic }', ''].join('\n'));
    const run = runTraced(['dicom', 'deidentify', '--policy', policy, '--in', input, '--out', join(dir, 'dicom-out'), '--jobs', '1', '--quiet'], 'dicom');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const heavy of ['onnxruntime-node', 'sharp', 'onnx-proto', 'express', 'better-sqlite3']) expect(run.packages.has(heavy)).toBe(false);
  });

  it('dicom deidentify with scan: never loads no model or codec either, and still says why each file was not examined', () => {
    const input = join(dir, 'dicom-never-in');
    mkdirSync(input, { recursive: true });
    copyFileSync(join(sharedData, 'dicom/CT_small.dcm'), join(input, 'CT_small.dcm'));
    const policy = join(dir, 'dicom-never.yaml');
    writeFileSync(policy, ['name: dicom-never', 'version: 1', 'dicom: { profile: basic }', 'pixels: { burnedInText: { scan: never } }', ''].join('\n'));
    const report = join(dir, 'dicom-never.json');
    const run = runTraced(['dicom', 'deidentify', '--policy', policy, '--in', input, '--out', join(dir, 'dicom-never-out'), '--report', report, '--jobs', '1', '--quiet'], 'dicom-never');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const heavy of ['onnxruntime-node', 'sharp', 'onnx-proto', 'dcmjs-codecs', 'express', 'better-sqlite3']) expect(run.packages.has(heavy)).toBe(false);
    const files = (JSON.parse(readFileSync(report, 'utf8')) as { files: { pixelScan?: { status: string; reason: string } }[] }).files;
    expect(files).toHaveLength(1);
    expect(files[0].pixelScan).toMatchObject({ status: 'not-scanned', reason: expect.stringMatching(/^scan: never — pixels were not examined/) });
  });
});
