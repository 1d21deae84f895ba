/**
 * Child-process entry of one job. The runner forks this file, sends one `run` message and
 * waits for `done` or `failed`; progress flows back as `progress` messages. The child dies
 * with its parent (IPC disconnect), so a killed server leaves no job writing behind it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join, relative, isAbsolute } from 'node:path';
import { isVeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/load.js';
import type { PrivacySpec } from '../policy/sections/tabular.js';
import { loadSecret } from '../secret/key.js';
import { DISK_FULL_FAILURE, isDiskFull } from './disk.js';
import { OUTPUT_FILES } from './layout.js';
import type { JobError, JobKind } from './jobStore.js';
import { zipDirectory } from './zip.js';

export interface WorkerSpec {
  jobId: string;
  kind: JobKind;
  policyFile: string;
  /** Where the policy's hierarchy paths resolve (the version's hierarchy folder). */
  policyDir: string;
  policyVersion: number;
  /** sha256 recorded for the approved version: the bytes run must have it. */
  policySha256: string;
  /** Hierarchy files of the version with their recorded sha256 (paths relative to policyDir). */
  hierarchies: { path: string; sha256: string }[];
  /** The tightened privacy model, when the job had overrides. */
  privacy?: PrivacySpec;
  /** A CSV file (tabular) or a directory of uploaded files. */
  input: string;
  workDir: string;
  /** Largest CSV cell of a tabular job (RunnerOptions.maxCellBytes). */
  maxCellBytes?: number;
  /**
   * The policy as the parent parsed it (runnerPolicy.ts), so that this process need not load
   * the parser: taken only once the stored bytes passed the check, and only if parsed from bytes
   * of the approved sha256 at these paths.
   */
  parsedPolicy?: Policy;
}

export type WorkerMessage =
  | { type: 'progress'; fraction: number }
  /** A DICOMweb source job pulled its input: studies selected, instances retrieved. */
  | { type: 'source'; studies: number; instances: number }
  | { type: 'done' }
  | { type: 'failed'; error: JobError };

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

/** The stored policy (or a hierarchy file) is not what was approved: the job must not run. */
export class PolicyTamperedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyTamperedError';
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function bytesOrMissing(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

/**
 * Reads the exact policy bytes this job will run and checks them (and each hierarchy file
 * the version recorded) against the sha256 of the approved version, before any data is
 * read. The policy is parsed from these same bytes, so what was checked is what runs.
 */
export async function approvedPolicyText(spec: Pick<WorkerSpec, 'policyFile' | 'policyDir' | 'policySha256' | 'hierarchies'>): Promise<string> {
  const bytes = await bytesOrMissing(spec.policyFile);
  if (!bytes) throw new PolicyTamperedError('the stored policy text of the approved version is missing; the job was not run');
  if (sha256Hex(bytes) !== spec.policySha256) {
    throw new PolicyTamperedError(`the stored policy text does not have the sha256 of the approved version (${spec.policySha256}); the job was not run`);
  }
  for (const hierarchy of spec.hierarchies) {
    const stored = await bytesOrMissing(join(spec.policyDir, ...hierarchy.path.split('/')));
    if (!stored || sha256Hex(stored) !== hierarchy.sha256) {
      throw new PolicyTamperedError(`the stored hierarchy file ${hierarchy.path} is ${stored ? 'not the one approved' : 'missing'}; the job was not run`);
    }
  }
  return bytes.toString('utf8');
}

/** The parser (YAML and the schema) loads only when the parent sent no parse of these bytes. */
async function parseHere(text: string, spec: WorkerSpec): Promise<Policy> {
  const { parsePolicy, unwrap } = await import('../policy/load.js');
  return unwrap(parsePolicy(text, { file: spec.policyFile, baseDir: spec.policyDir }));
}

/** The parent's parse of the policy, if it is one of exactly the bytes checked here. */
function parsedByParent(spec: WorkerSpec): Policy | undefined {
  const source = spec.parsedPolicy?.source;
  return source && source.sha256 === spec.policySha256 && source.file === spec.policyFile && source.baseDir === spec.policyDir ? spec.parsedPolicy : undefined;
}

export async function prepared(spec: WorkerSpec): Promise<Policy> {
  const text = await approvedPolicyText(spec);
  const loaded = parsedByParent(spec) ?? (await parseHere(text, spec));
  // the stored version number is authoritative, so reports and the audit log agree
  const policy: Policy = { ...loaded, version: spec.policyVersion };
  if (spec.privacy && policy.tabular) policy.tabular = { ...policy.tabular, privacy: spec.privacy };
  return policy;
}

/** The key is read here, at the edge, and only when the policy pseudonymizes a column. */
export function tabularSecret(policy: Policy): Buffer | undefined {
  return policy.tabular?.identifiers.some((id) => id.action === 'pseudonymize') ? loadSecret() : undefined;
}

/** (done, total) progress of the DICOM and image engines as a fraction. */
function fractionOf(report: (fraction: number) => void): (done: number, total: number) => void {
  return (done, total) => report(total > 0 ? done / total : 0);
}

export async function runJob(spec: WorkerSpec): Promise<void> {
  const policy = await prepared(spec);
  const onProgress = progressReporter();
  const reportJson = join(spec.workDir, OUTPUT_FILES.reportJson);
  const reportHtml = join(spec.workDir, OUTPUT_FILES.reportHtml);
  let report: unknown;
  // engines load on demand: a tabular job never loads the image models
  if (spec.kind === 'tabular') {
    const { anonymizeCsvFile } = await import('../tabular/index.js');
    report = await anonymizeCsvFile({ policy, input: spec.input, output: join(spec.workDir, OUTPUT_FILES.tabularResult), reportJson, reportHtml, secret: tabularSecret(policy), maxCellBytes: spec.maxCellBytes, onProgress });
  } else {
    const filesDir = join(spec.workDir, 'files');
    await mkdir(filesDir, { recursive: true });
    if (spec.kind === 'dicom') {
      const { deidentifyDicomDirectory } = await import('../dicom/index.js');
      // a job that names a DICOMweb source pulls its input first (src/api/dicomSource.ts)
      const sourceJob = await import('./dicomSourceJob.js');
      const source = sourceJob.readSourceRequest(spec.input);
      const pulled = source && (await sourceJob.pullSource(source, spec.input, process.env, (counts) => send({ type: 'source', ...counts })));
      // dicom builds its own pixel cleaner, the same as for `veil dicom deidentify`
      report = await deidentifyDicomDirectory({
        policy,
        input: pulled ? pulled.input : spec.input,
        output: filesDir,
        reportJson,
        reportHtml,
        secret: loadSecret(),
        onProgress: fractionOf(onProgress),
      });
      if (source && pulled) await sourceJob.deliverSource(source, pulled, filesDir, reportJson, process.env);
    } else {
      const { redactImages } = await import('../image/index.js');
      // the review page `veil image redact --html` writes: each output with what was found outlined
      report = await redactImages({ policy, input: spec.input, output: filesDir, reportJson, reportHtml, onProgress: fractionOf(onProgress) });
    }
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
  if (error instanceof PolicyTamperedError) return { code: 'POLICY_TAMPERED', message: error.message };
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
  if (isDiskFull(error)) return DISK_FULL_FAILURE;
  return { code: 'INTERNAL', message: 'the job failed with an internal error' };
}

function clientPath(file: string, spec: Pick<WorkerSpec, 'policyDir' | 'input'>): string {
  if (!isAbsolute(file)) return file;
  const inPolicy = relative(spec.policyDir, file);
  if (!inPolicy.startsWith('..') && !isAbsolute(inPolicy)) return inPolicy;
  const inInput = relative(spec.input, file);
  if (inInput === '') return 'upload';
  if (!inInput.startsWith('..') && !isAbsolute(inInput)) return `upload/${inInput}`;
  return basename(file);
}

function isSpec(value: unknown): value is WorkerSpec {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.jobId === 'string' &&
    typeof v.kind === 'string' &&
    typeof v.policyFile === 'string' &&
    typeof v.policySha256 === 'string' &&
    Array.isArray(v.hierarchies) &&
    typeof v.input === 'string' &&
    typeof v.workDir === 'string'
  );
}

function main(): void {
  process.on('disconnect', () => process.exit(1));
  process.once('message', (message: unknown) => {
    const spec = typeof message === 'object' && message !== null ? (message as { spec?: unknown }).spec : undefined;
    if (!isSpec(spec)) {
      void send({ type: 'failed', error: { code: 'INTERNAL', message: 'the job process received no valid job' } }).then(() => process.exit(1));
      return;
    }
    // an error thrown outside the job's promise (a stream's 'error' on a full disk) still says why
    process.once('uncaughtException', (error: unknown) => {
      void send({ type: 'failed', error: describeFailure(error, spec) }).then(() => process.exit(1));
    });
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
