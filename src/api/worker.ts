/**
 * Child-process entry of one job. The runner forks this file, sends one `run` message and
 * waits for `done` or `failed`; progress flows back as `progress` messages. The child dies
 * with its parent (IPC disconnect), so a killed server leaves no job writing behind it.
 *
 * Engines are imported when a job needs them, so the server answers even while an engine
 * (DICOM, images) is not part of the build: such a job fails with ENGINE_UNAVAILABLE.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { isVeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadPolicy, type Policy } from '../policy/load.js';
import type { PrivacySpec } from '../policy/sections/tabular.js';
import { loadSecret } from '../secret/key.js';
import { OUTPUT_FILES } from './layout.js';
import type { JobError, JobKind } from './jobStore.js';
import { zipDirectory } from './zip.js';

export interface WorkerSpec {
  jobId: string;
  kind: JobKind;
  policyFile: string;
  policyDir: string;
  policyVersion: number;
  /** The tightened privacy model, when the job had overrides. */
  privacy?: PrivacySpec;
  /** A CSV file (tabular) or a directory of uploaded files. */
  input: string;
  workDir: string;
}

export type WorkerMessage = { type: 'progress'; fraction: number } | { type: 'done' } | { type: 'failed'; error: JobError };

type EngineFunction = (options: Record<string, unknown>) => Promise<unknown>;

const ENGINES: Record<JobKind, { module: string; fn: string; label: string }> = {
  tabular: { module: '../tabular/index.js', fn: 'anonymizeCsvFile', label: 'tabular anonymization' },
  dicom: { module: '../dicom/index.js', fn: 'deidentifyDicomDirectory', label: 'DICOM de-identification' },
  image: { module: '../image/index.js', fn: 'redactImages', label: 'image redaction' },
};

class EngineUnavailable extends Error {}

async function loadEngine(kind: JobKind): Promise<EngineFunction> {
  const engine = ENGINES[kind];
  let mod: Record<string, unknown>;
  try {
    const specifier: string = engine.module;
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND') throw new EngineUnavailable(engine.label);
    throw error;
  }
  const fn = mod[engine.fn];
  if (typeof fn !== 'function') throw new EngineUnavailable(engine.label);
  return fn as EngineFunction;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function progressReporter(): (fraction: number) => void {
  let lastSent = 0;
  let lastFraction = -1;
  return (fraction: number) => {
    const now = Date.now();
    if (!Number.isFinite(fraction)) return;
    const clamped = Math.min(1, Math.max(0, fraction));
    if (clamped - lastFraction < 0.001 && clamped < 1) return;
    if (now - lastSent < 200 && clamped < 1) return;
    lastSent = now;
    lastFraction = clamped;
    void send({ type: 'progress', fraction: clamped });
  };
}

async function prepared(spec: WorkerSpec): Promise<Policy> {
  const loaded = await loadPolicy(spec.policyFile);
  // the stored version number is authoritative, so reports and the audit log agree
  const policy: Policy = { ...loaded, version: spec.policyVersion };
  if (spec.privacy && policy.tabular) policy.tabular = { ...policy.tabular, privacy: spec.privacy };
  return policy;
}

function optionalSecret(): Buffer | undefined {
  try {
    return loadSecret();
  } catch (error) {
    if (isVeilError(error) && error.code === 'SECRET_MISSING') return undefined;
    throw error;
  }
}

export async function runJob(spec: WorkerSpec): Promise<void> {
  const policy = await prepared(spec);
  const run = await loadEngine(spec.kind);
  const onProgress = progressReporter();
  const secret = optionalSecret();
  const reportJson = join(spec.workDir, OUTPUT_FILES.reportJson);
  const reportHtml = join(spec.workDir, OUTPUT_FILES.reportHtml);
  let report: unknown;
  if (spec.kind === 'tabular') {
    report = await run({ policy, input: spec.input, output: join(spec.workDir, OUTPUT_FILES.tabularResult), reportJson, reportHtml, secret, onProgress });
  } else {
    const filesDir = join(spec.workDir, 'files');
    await mkdir(filesDir, { recursive: true });
    const options: Record<string, unknown> = { policy, input: spec.input, output: filesDir, reportJson, onProgress };
    if (spec.kind === 'dicom') Object.assign(options, { reportHtml, secret });
    report = await run(options);
    await zipDirectory(filesDir, join(spec.workDir, OUTPUT_FILES.archiveResult));
    await rm(filesDir, { recursive: true, force: true });
  }
  if (!existsSync(reportJson)) {
    if (typeof report !== 'object' || report === null) throw new Error('the engine returned no report');
    await writeFileAtomic(reportJson, `${JSON.stringify(report, null, 2)}\n`);
  }
}

/** A client-safe description: paths inside the data dir become relative names. */
export function describeFailure(error: unknown, spec: Pick<WorkerSpec, 'policyDir' | 'input'>): JobError {
  if (error instanceof EngineUnavailable) {
    return { code: 'ENGINE_UNAVAILABLE', message: `${error.message} is not available in this build of Veil` };
  }
  if (isVeilError(error)) {
    const file = error.location.file ? clientPath(error.location.file, spec) : undefined;
    const line = error.location.line;
    let where = '';
    if (file) where = line ? `${file}:${line}` : file;
    else if (line) where = `line ${line}`;
    const failure: JobError = { code: error.code, message: where ? `${where}: ${error.message}` : error.message };
    if (error.location.field) failure.field = error.location.field;
    return failure;
  }
  return { code: 'INTERNAL', message: 'the job failed with an internal error' };
}

function clientPath(file: string, spec: Pick<WorkerSpec, 'policyDir' | 'input'>): string {
  if (!isAbsolute(file)) return file;
  const inPolicy = relative(spec.policyDir, file);
  if (!inPolicy.startsWith('..') && !isAbsolute(inPolicy)) return inPolicy;
  const inInput = relative(spec.input, file);
  if (inInput === '') return 'upload';
  if (!inInput.startsWith('..') && !isAbsolute(inInput)) return `upload/${inInput}`;
  return 'input';
}

function isSpec(value: unknown): value is WorkerSpec {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.jobId === 'string' && typeof v.kind === 'string' && typeof v.policyFile === 'string' && typeof v.input === 'string' && typeof v.workDir === 'string';
}

function main(): void {
  process.on('disconnect', () => process.exit(1));
  process.once('message', (message: unknown) => {
    const spec = typeof message === 'object' && message !== null ? (message as { spec?: unknown }).spec : undefined;
    if (!isSpec(spec)) {
      void send({ type: 'failed', error: { code: 'INTERNAL', message: 'the job process received no valid job' } }).then(() => process.exit(1));
      return;
    }
    runJob(spec).then(
      () => send({ type: 'done' }).then(() => process.exit(0)),
      (error: unknown) => {
        if (process.env.VEIL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? error.message}\n`);
        return send({ type: 'failed', error: describeFailure(error, spec) }).then(() => process.exit(0));
      },
    );
  });
}

if (process.send && process.argv.includes('--veil-job-worker')) main();
