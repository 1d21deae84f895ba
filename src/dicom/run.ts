import { availableParallelism } from 'node:os';
import { chmod, lstat, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/load.js';
import { processBatch, rejectedByError, type FileResult, type FileSettings, type FileTask } from './file.js';
import { loadPatientMap } from './patientMap.js';
import { wantsPixelScan, type PixelCleanerFactory } from './pixelStep.js';
import { PROFILE_EDITION } from './profile/table.js';
import { addFileResult, emptyPixelTotals, emptyTotals, type DicomRunReport } from '../report/dicomReport.js';
import { walkFilesSync } from './walk.js';
import { DicomWorkerPool, type DicomWorkers } from './pool.js';

export interface DeidentifyDirectoryOptions {
  policy: Policy;
  input: string;
  output: string;
  reportJson?: string;
  reportHtml?: string;
  secret: Buffer;
  /** Worker threads of a pool this run opens and closes (default: every core); ignored with `workers`. */
  jobs?: number;
  /**
   * A pool from `openDicomWorkers`, lent to this run (and to others, one after the other or at
   * once); the run never closes it. Without it the run opens its own pool and closes it.
   */
  workers?: DicomWorkers;
  /** Replaces the pixel cleaner dicom builds itself when the policy has a pixels section (tests). */
  pixelCleaner?: PixelCleanerFactory;
  onProgress?: (done: number, total: number) => void;
  /** Writes original PatientID → pseudonym to this CSV (it holds PHI: keep it apart). */
  mapOut?: string;
  /** Called with the report once it is complete, also when the run then fails for want of a usable file. */
  onReport?: (report: DicomRunReport) => void;
}

/** Runs batches of file tasks on worker threads (or in this thread when a pixel cleaner cannot move). */
export interface Executor {
  run(batch: FileTask[]): Promise<FileResult[]>;
  close(): Promise<void>;
}

/**
 * An executor for one pass of a run: on `workers` when given (left open), else on a pool of
 * `jobs` threads of its own (closed with the executor); in this thread when the pixel cleaner
 * is a plain function (it cannot move to a worker).
 */
export async function createExecutor(settings: FileSettings, jobs: number, factory: PixelCleanerFactory | undefined, useCleaner: boolean, workers?: DicomWorkers): Promise<Executor> {
  if (useCleaner && factory && !factory.moduleUrl) {
    // the factory is a plain function: one cleaner, in this thread, one file at a time
    // (a cleaner need not be re-entrant); a factory with moduleUrl runs one per worker instead
    const cleaner = await factory();
    let queue: Promise<unknown> = Promise.resolve();
    const run = (batch: FileTask[]): Promise<FileResult[]> => {
      const next = queue.then(() => processBatch(batch, settings, cleaner));
      queue = next.catch(() => undefined);
      return next;
    };
    return { run, close: () => cleaner.close() };
  }
  const pool = poolOf(workers) ?? new DicomWorkerPool(jobs);
  const poolRun = pool.openRun(settings, useCleaner && factory?.moduleUrl ? { url: factory.moduleUrl, exportName: factory.exportName ?? 'default' } : undefined);
  return {
    run: poolRun.run,
    close: async () => {
      poolRun.end();
      if (pool !== workers) await pool.close();
    },
  };
}

function poolOf(workers: DicomWorkers | undefined): DicomWorkerPool | undefined {
  if (workers === undefined) return undefined;
  if (!(workers instanceof DicomWorkerPool)) throw new VeilError('USAGE', 'workers must come from openDicomWorkers', { field: 'workers' });
  return workers;
}

/**
 * Feeds every input file through the executor in batches, with a bounded number of batches in
 * flight. A header-only file takes well under a millisecond, so one message per file cost the
 * main thread and the workers about as much as the files; `batchSize` files share a message
 * (1 when each file's pixels may be examined: seconds per file, spread file by file).
 */
async function runAll(
  input: string,
  output: string | undefined,
  executor: Executor,
  jobs: number,
  batchSize: number,
  onResult: (result: FileResult, index: number) => void,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const limit = batchSize > 1 ? jobs * 2 : jobs * 4;
  let index = 0;
  const exclude = output && isInside(output, input) ? output : undefined;
  let batch: FileTask[] = [];
  const dispatch = async (tasks: FileTask[]): Promise<void> => {
    const first = index;
    index += tasks.length;
    const promise = executor
      .run(tasks)
      .catch((error: unknown): FileResult[] => tasks.map((task) => rejectedByError(task, error, 'in the worker')))
      .then((results) => {
        results.forEach((result, k) => onResult(result, first + k));
      });
    const tracked = promise.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  };
  for (const file of walkFilesSync(input, exclude)) {
    batch.push({ inputPath: file.path, relativePath: file.relative.split(sep).join('/'), outputPath: output ? join(output, file.relative) : undefined });
    if (batch.length >= batchSize) {
      const full = batch;
      batch = [];
      await dispatch(full);
    }
  }
  if (batch.length > 0) await dispatch(batch);
  await Promise.all(inFlight);
}

/** Files per worker message when no file's pixels are examined. */
export const HEADER_BATCH = 16;

/**
 * The models' cleaner when pixels may be examined, once the model files it needs are found
 * (else MODEL_INVALID before any file is written); else one that only says why not (loads nothing).
 */
export async function pixelCleanerFor(pixels: Policy['pixels']): Promise<PixelCleanerFactory> {
  if (pixelsMayBeExamined(pixels)) {
    await requirePixelModels(pixels);
    return (await import('./pixels/cleaner.js')).dicomPixelCleanerFactory;
  }
  return (await import('./pixels/unexamined.js')).unexaminedPixelCleanerFactory;
}

/**
 * Throws MODEL_INVALID, naming the manifest or file, when a model the policy may load is
 * missing: a set-up error of the whole run (or listener), not of each file. Manifests and
 * file presence only (no hashing: the sha256 is checked when a worker loads the model).
 */
async function requirePixelModels(pixels: Policy['pixels']): Promise<void> {
  if (!pixels || !pixelsMayBeExamined(pixels)) return;
  const { pixelModelIds, requireModelFiles } = await import('../image/models.js');
  await requireModelFiles(pixelModelIds(pixels));
}

/**
 * A model that failed to load in a worker after the check above (an altered file: sha256) is
 * still the run's failure, not a reason per file: the first such error, to throw.
 */
export function modelFailureOf(results: Iterable<FileResult | undefined>): VeilError | undefined {
  for (const result of results) {
    if (result?.error?.code === 'MODEL_INVALID') return new VeilError('MODEL_INVALID', result.error.message, result.error.location);
  }
  return undefined;
}

/** Whether the pixel step may decode and examine pixels (seconds per file) rather than only report why not. */
export function pixelsMayBeExamined(pixels: Policy['pixels']): boolean {
  return pixels !== undefined && (pixels.burnedInText.scan !== 'never' || pixels.faces.detect);
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== child);
}

/** A run's staging folder, and the first folder above `--out` the run created to hold it. */
interface Staging {
  folder: string;
  /** Removed again (with those below it) when `--out` is not published: a refused run leaves the file system as it was. */
  createdAbove?: string;
  /**
   * `--out` already held something: the staging folder is inside it, and publishing moves its
   * files into `--out` one by one (replacing files of the same name) instead of renaming it whole.
   */
  merge?: boolean;
}

/** Name prefix of staging folders: the walk of an input never enters them. */
const STAGING_PREFIX = '.veil-tmp-';

/**
 * Where a run writes its outputs until it has succeeded, so that a failed run (a model that
 * does not load, a closed pool, a full disk) leaves `--out` as it was. A missing or empty
 * `output`: a new folder beside it (same file system, so one rename publishes it). A folder that
 * already holds files (or a link to a folder): a new folder inside it (the same file system as
 * its files, even through a link), merged into it at the end.
 */
async function stagingFolderFor(output: string): Promise<Staging | undefined> {
  let mode: number | undefined;
  try {
    const info = await lstat(output);
    // a link is kept (renaming over it would replace it): staged inside the folder it points to
    const merge = info.isSymbolicLink() || (info.isDirectory() && (await readdir(output)).length > 0);
    if (merge) {
      if (!(await stat(output)).isDirectory()) return undefined;
      const folder = join(output, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
      await mkdir(folder);
      return { folder, merge: true };
    }
    if (!info.isDirectory()) return undefined;
    mode = info.mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  const staging = join(dirname(output), `${STAGING_PREFIX}${randomBytes(6).toString('hex')}-${basename(output)}`);
  // the first folder mkdir created, if any (e.g. /tmp/nu for --out /tmp/nu/dout)
  const createdAbove = await mkdir(dirname(output), { recursive: true });
  try {
    await mkdir(staging);
    // an existing empty --out keeps its permissions
    if (mode !== undefined) await chmod(staging, mode);
  } catch (error) {
    await discardStaging({ folder: staging, createdAbove }, output);
    throw error;
  }
  return { folder: staging, createdAbove };
}

/** Removes the staging folder and the folders above `output` the run created (only while empty: never one that holds anything else). */
async function discardStaging(staging: Staging, output: string): Promise<void> {
  await rm(staging.folder, { recursive: true, force: true });
  if (staging.createdAbove === undefined) return;
  for (let dir = dirname(output); ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === staging.createdAbove || dir === dirname(dir)) return;
  }
}

/** Renames the staging folder to `output` (removing the empty folder there); a run that wrote nothing leaves the file system as it was. */
async function publishStaging(staging: Staging, output: string): Promise<void> {
  if (staging.merge) {
    await mergeInto(staging.folder, output);
    await rm(staging.folder, { recursive: true, force: true });
    return;
  }
  if ((await readdir(staging.folder)).length === 0) {
    await discardStaging(staging, output);
    return;
  }
  try {
    await rmdir(output);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new VeilError('USAGE', 'the output folder received files from elsewhere during the run; nothing was written to it', { file: output, field: '--out' });
    if (code !== 'ENOENT') throw error;
  }
  await rename(staging.folder, output);
}

/** Moves every file of `from` to the same relative path under `to` (each rename replaces a file of that name whole). */
async function mergeInto(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target, { recursive: true });
      await mergeInto(source, target);
    } else {
      await rename(source, target);
    }
  }
}

async function countFiles(input: string, exclude: string | undefined): Promise<number> {
  let n = 0;
  for (const _ of walkFilesSync(input, exclude)) n++;
  return n;
}

async function requireDirectory(path: string, field: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) return;
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'input directory not found', { file: path, field });
  }
  throw new VeilError('USAGE', 'expected a directory', { file: path, field });
}

/**
 * De-identifies every DICOM file under `input` into `output` (same relative paths) with the
 * policy's `dicom:` section: PS3.15 E.1-1 header profile and options, keyed UIDs and
 * pseudonyms, date shifting, optional pixel cleaning and cohort k-anonymity. Damaged files
 * are reported, not fatal. Returns the report (also written when `reportJson` is given).
 */
export async function deidentifyDicomDirectory(options: DeidentifyDirectoryOptions): Promise<DicomRunReport> {
  const started = performance.now();
  const { policy } = options;
  const dicom = policy.dicom;
  if (!dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: policy.source.file, field: 'dicom' });
  const input = resolve(options.input);
  const output = resolve(options.output);
  await requireDirectory(input, '--in');
  if (isInside(input, output)) throw new VeilError('USAGE', 'the output directory must not contain the input directory', { file: options.output, field: '--out' });
  const jobs = options.workers?.jobs ?? Math.max(1, options.jobs ?? availableParallelism());
  const patientMap = dicom.patientIdMap ? await loadPatientMap(policy.source.baseDir, dicom.patientIdMap) : undefined;
  // dicom builds its own pixel cleaner (text and face models), loaded only for a policy with a
  // pixels section, so that a headers-only run never loads onnxruntime or sharp; tests may inject one.
  // A policy that can never examine pixels needs no cleaner: each file gets the not-examined answer.
  const pixelsNeverExamined = wantsPixelScan(policy.pixels) && !options.pixelCleaner && !pixelsMayBeExamined(policy.pixels);
  const pixelCleaner = wantsPixelScan(policy.pixels) && !pixelsNeverExamined ? (options.pixelCleaner ?? (await pixelCleanerFor(policy.pixels))) : undefined;
  const useCleaner = pixelCleaner !== undefined;

  const settings: FileSettings = {
    dicom,
    pixels: policy.pixels,
    secret: new Uint8Array(options.secret),
    patientMap,
    returnOriginalIds: options.mapOut !== undefined,
    pixelsNeverExamined,
  };
  const exclude = isInside(output, input) ? output : undefined;
  const total = options.onProgress ? await countFiles(input, exclude) : 0;

  const report: DicomRunReport = {
    kind: 'veil-dicom',
    policy: { name: policy.name, version: policy.version, sha256: policy.source.sha256 },
    profile: { name: 'basic', edition: PROFILE_EDITION, options: [...dicom.options], unlistedElements: dicom.unlistedElements },
    totals: emptyTotals(),
    files: [],
    actions: {},
    origins: {},
    residualPhi: { filesChecked: 0, valuesChecked: 0, filesFailed: 0 },
    pixels: emptyPixelTotals(),
    dateShift: dicom.options.includes('retainLongitudinalModifiedDates') ? { ...dicom.dateShift } : undefined,
    studiesWithSeveralPatients: [],
    timingMs: 0,
  };

  // A run writes its files into a staging folder (beside a missing or empty --out, renamed into
  // place once at the end; inside one that holds files, merged into it at the end): one directory
  // entry per file instead of a temp file and a rename, and the run is all or nothing (on
  // failure the staging folder goes and --out is as it was).
  const staging = await stagingFolderFor(output);
  const target = staging?.folder ?? output;
  settings.outputInPlace = staging !== undefined;
  const results: (FileResult | undefined)[] = [];
  try {
    if (dicom.cohort) {
      const headerPass = await createExecutor({ ...settings, cohortKeywords: cohortKeywordsOf(dicom.cohort) }, jobs, undefined, false, options.workers);
      const patients = new Map<string, Record<string, string>>();
      try {
        await runAll(input, undefined, headerPass, jobs, HEADER_BATCH, (result) => {
          if (result.status === 'ok' && result.patient?.attributes && !patients.has(result.patient.pseudonym)) patients.set(result.patient.pseudonym, result.patient.attributes);
        });
      } finally {
        await headerPass.close();
      }
      // the cohort step runs the tabular engine: loaded only for a policy that asks for it
      const { runCohort } = await import('./cohort/run.js');
      const cohort = await runCohort(patients, dicom.cohort, policy, join(target, 'cohort.csv'));
      settings.cohortWrites = cohort.writes;
      report.cohort = cohort.summary;
    }

    const executor = await createExecutor(settings, jobs, pixelCleaner, useCleaner, options.workers);
    let done = 0;
    try {
      await runAll(input, target, executor, jobs, useCleaner && pixelsMayBeExamined(policy.pixels) ? 1 : HEADER_BATCH, (result, index) => {
        results[index] = result;
        options.onProgress?.(++done, total);
      });
    } finally {
      await executor.close();
    }
    // a model that could not load fails the run: the staging folder (what was written) goes
    const modelFailure = modelFailureOf(results);
    if (modelFailure) throw modelFailure;

    if (staging) await publishStaging(staging, output);
  } catch (error) {
    if (staging) await discardStaging(staging, output);
    throw error;
  }

  const patients = new Map<string, string>();
  const studies = new Map<string, Set<string>>();
  for (const result of results) {
    if (!result) continue;
    // an output's path below --out is its input's path below --in (no path arithmetic per file)
    addFileResult(report, result, result.output ? result.input : undefined, policy.pixels !== undefined);
    if (result.patient && result.status !== 'skipped') patients.set(result.patient.pseudonym, result.patient.originalId ?? '');
    if (result.study && result.patient) {
      const set = studies.get(result.study) ?? new Set<string>();
      set.add(result.patient.pseudonym);
      studies.set(result.study, set);
    }
  }
  report.studiesWithSeveralPatients = [...studies].filter(([, set]) => set.size > 1).map(([study]) => study).sort();
  report.totals.patients = patients.size;
  const unusable = noUsableDicomFile(report);
  if (options.mapOut && !unusable) {
    const lines = ['original_patient_id,pseudonym', ...[...patients].map(([pseudonym, original]) => `${csvCell(original)},${csvCell(pseudonym)}`).sort()];
    await writeFileAtomic(options.mapOut, `${lines.join('\n')}\n`);
    report.mappingFile = options.mapOut;
  }
  report.timingMs = Math.round(performance.now() - started);
  options.onReport?.(report);
  if (options.reportJson) await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
  if (options.reportHtml) await writeFileAtomic(options.reportHtml, (await import('../report/html/dicomHtml.js')).renderDicomHtml(report));
  // after the report, the only place that says file by file why nothing could be used
  if (unusable) throw unusable;
  return report;
}

/**
 * The run fails when no file could be de-identified: every file rejected or not DICOM, or none
 * at all (the same rule as images; CLI exit 2, API job failed). Patients the cohort step
 * suppressed are the policy's doing, not unusable input.
 */
export function noUsableDicomFile(report: DicomRunReport): VeilError | undefined {
  if (report.totals.ok > 0 || (report.cohort?.suppressedPatients.length ?? 0) > 0) return undefined;
  if (report.totals.files === 0) return new VeilError('NO_USABLE_INPUT', 'the input folder holds no file');
  const first = report.files.find((f) => f.status !== 'ok');
  return new VeilError('NO_USABLE_INPUT', `none of the ${report.totals.files} file(s) could be de-identified (first: ${first?.reason ?? 'unknown'}); the report lists each file's reason`, {
    file: first?.input,
  });
}

export function cohortKeywordsOf(cohort: NonNullable<Policy['dicom']>['cohort']): string[] {
  if (!cohort) return [];
  return [...new Set([...cohort.quasiIdentifiers, ...cohort.sensitive])];
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
