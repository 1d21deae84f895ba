/**
 * The DICOM pipeline cut into independent pieces, so that several processes (or machines)
 * can share one directory: list the files in chunks, extract cohort attributes per chunk,
 * de-identify one chunk, and assemble the report of all chunks. UIDs and pseudonyms are keyed,
 * so a file's output depends only on the file, the policy, the key and (with a cohort
 * section) the cohort decisions, which are made once over all patients before any chunk runs.
 * Run in walk order and merged in chunk order, the outputs and the report's file list equal
 * those of `deidentifyDicomDirectory` on the whole folder.
 */
import { resolve, sep, join } from 'node:path';
import { VeilError } from '../errors.js';
import type { Policy } from '../policy/load.js';
import { addFileResult, emptyPixelTotals, emptyTotals, type CohortSummary, type DicomRunReport } from '../report/dicomReport.js';
import type { CohortWrite } from './cohort/writeBack.js';
import { rejectedByError, type FileResult, type FileSettings, type FileTask } from './file.js';
import { loadPatientMap } from './patientMap.js';
import { wantsPixelScan, type PixelCleanerFactory } from './pixelStep.js';
import { PROFILE_EDITION } from './profile/table.js';
import { DicomWorkerPool } from './pool.js';
import { cohortKeywordsOf, createExecutor, HEADER_BATCH, modelFailureOf, noUsableDicomFile, pixelCleanerFor, pixelsMayBeExamined, type Executor } from './run.js';
import { walkFiles } from './walk.js';

export type { CohortWrite } from './cohort/writeBack.js';

/** Every file under `input` (relative paths, '/'-separated, walk order), cut into chunks of at most `chunkFiles`. */
export async function listDicomChunks(input: string, chunkFiles: number): Promise<string[][]> {
  if (!Number.isInteger(chunkFiles) || chunkFiles < 1) throw new VeilError('USAGE', 'chunk size must be a whole number of files, at least 1', { field: '--chunk-files' });
  const chunks: string[][] = [];
  let current: string[] = [];
  for await (const file of walkFiles(resolve(input))) {
    current.push(file.relative.split(sep).join('/'));
    if (current.length >= chunkFiles) {
      chunks.push(current);
      current = [];
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

interface ChunkBase {
  policy: Policy;
  /** The folder the relative paths of `files` start from. */
  input: string;
  /** This chunk's files, relative to `input` (as listed by listDicomChunks). */
  files: string[];
  secret: Buffer;
  /** Worker threads for this chunk (default 1: chunks are the unit of parallelism). */
  jobs?: number;
  /**
   * Whether this thread is one of the `jobs` (`jobs` − 1 worker threads), for a process that
   * does nothing else meanwhile, such as a queue's step process: with one job, no worker thread
   * starts (≈ 0.2–0.3 CPU-s to start one and load its modules again, per step). See pool.ts.
   */
  thisThread?: boolean;
}

/** createExecutor's executor, on a pool of its own that this thread takes part in with `thisThread`. */
async function chunkExecutor(settings: FileSettings, jobs: number, thisThread: boolean | undefined, factory: PixelCleanerFactory | undefined, useCleaner: boolean): Promise<Executor> {
  if (!thisThread) return createExecutor(settings, jobs, factory, useCleaner);
  const pool = new DicomWorkerPool(jobs, true);
  const executor = await createExecutor(settings, jobs, factory, useCleaner, pool);
  return {
    run: executor.run,
    close: async () => {
      try {
        await executor.close();
      } finally {
        await pool.close();
      }
    },
  };
}

function dicomSection(policy: Policy): NonNullable<Policy['dicom']> {
  if (!policy.dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: policy.source.file, field: 'dicom' });
  return policy.dicom;
}

async function baseSettings(policy: Policy, secret: Buffer): Promise<FileSettings> {
  const dicom = dicomSection(policy);
  const patientMap = dicom.patientIdMap ? await loadPatientMap(policy.source.baseDir, dicom.patientIdMap) : undefined;
  return { dicom, pixels: policy.pixels, secret: new Uint8Array(secret), patientMap, returnOriginalIds: false };
}

/** Runs tasks through the executor in batches, at most `limit` batches in flight; results in task order. */
async function runTasks(tasks: FileTask[], executor: Executor, batchSize: number, limit: number, onDone?: (done: number) => void): Promise<FileResult[]> {
  const results: FileResult[] = new Array<FileResult>(tasks.length);
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  for (let start = 0; start < tasks.length; start += batchSize) {
    const batch = tasks.slice(start, start + batchSize);
    const promise = executor
      .run(batch)
      .catch((error: unknown): FileResult[] => batch.map((task) => rejectedByError(task, error, 'in the worker')))
      .then((batchResults) => {
        batchResults.forEach((result, k) => (results[start + k] = result));
        done += batch.length;
        onDone?.(done);
      });
    const tracked = promise.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return results;
}

function tasksOf(input: string, files: string[], output: string | undefined): FileTask[] {
  const root = resolve(input);
  return files.map((relativePath) => {
    const parts = relativePath.split('/');
    return { inputPath: join(root, ...parts), relativePath, outputPath: output ? join(output, ...parts) : undefined };
  });
}

/**
 * The cohort attributes of each patient of one chunk (pseudonym → attributes, first file
 * wins), read from the original headers as the whole-folder run does before its cohort step.
 */
export async function extractCohortAttributes(options: ChunkBase): Promise<[string, Record<string, string>][]> {
  const dicom = dicomSection(options.policy);
  const jobs = Math.max(1, options.jobs ?? 1);
  const settings = { ...(await baseSettings(options.policy, options.secret)), cohortKeywords: cohortKeywordsOf(dicom.cohort) };
  const executor = await chunkExecutor(settings, jobs, options.thisThread, undefined, false);
  let results: FileResult[];
  try {
    results = await runTasks(tasksOf(options.input, options.files, undefined), executor, HEADER_BATCH, jobs * 2);
  } finally {
    await executor.close();
  }
  const patients = new Map<string, Record<string, string>>();
  for (const result of results) {
    if (result.status === 'ok' && result.patient?.attributes && !patients.has(result.patient.pseudonym)) patients.set(result.patient.pseudonym, result.patient.attributes);
  }
  return [...patients];
}

/** Cohort k-anonymity over all patients of all chunks (once), as the whole-folder run does; writes cohort.csv. */
export async function decideDicomCohort(
  patients: Iterable<[string, Record<string, string>]>,
  policy: Policy,
  csvPath: string,
): Promise<{ writes: Record<string, CohortWrite>; summary: CohortSummary }> {
  const cohort = dicomSection(policy).cohort;
  if (!cohort) throw new VeilError('POLICY_INVALID', 'the policy has no dicom.cohort section', { file: policy.source.file, field: 'dicom.cohort' });
  const merged = new Map<string, Record<string, string>>();
  for (const [pseudonym, attributes] of patients) if (!merged.has(pseudonym)) merged.set(pseudonym, attributes);
  // the cohort step runs the tabular engine (and zod): loaded here only, as in run.ts, so that a
  // chunk, header or merge step does not pay ≈ 0.18 s of CPU to import it
  const { runCohort } = await import('./cohort/run.js');
  return runCohort(merged, cohort, policy, csvPath);
}

export interface DicomChunkOptions extends ChunkBase {
  /** Where this chunk's de-identified files go (same relative paths as under `input`). */
  output: string;
  /** The cohort step's decisions, when the policy has a cohort section. */
  cohortWrites?: Record<string, CohortWrite>;
  onProgress?: (done: number, total: number) => void;
}

/** De-identifies one chunk of files; returns their results in the chunk's order. */
export async function deidentifyDicomChunk(options: DicomChunkOptions): Promise<FileResult[]> {
  const { policy } = options;
  const dicom = dicomSection(policy);
  if (dicom.cohort && !options.cohortWrites) throw new Error('a cohort policy needs the cohort decisions before its chunks run');
  const jobs = Math.max(1, options.jobs ?? 1);
  const settings: FileSettings = { ...(await baseSettings(policy, options.secret)), cohortWrites: options.cohortWrites };
  const pixelCleaner = wantsPixelScan(policy.pixels) ? await pixelCleanerFor(policy.pixels) : undefined;
  const examined = pixelCleaner !== undefined && pixelsMayBeExamined(policy.pixels);
  const executor = await chunkExecutor(settings, jobs, options.thisThread, pixelCleaner, pixelCleaner !== undefined);
  const total = options.files.length;
  let results: FileResult[];
  try {
    results = await runTasks(tasksOf(options.input, options.files, resolve(options.output)), executor, examined ? 1 : HEADER_BATCH, examined ? jobs * 4 : jobs * 2, (done) =>
      options.onProgress?.(done, total),
    );
  } finally {
    await executor.close();
  }
  // a model that could not load fails the chunk (and so the job), as it fails a folder run
  const modelFailure = modelFailureOf(results);
  if (modelFailure) throw modelFailure;
  return results;
}

/**
 * The report of a chunked run: the results of every chunk, in chunk order, assembled as
 * `deidentifyDicomDirectory` assembles its own. Throws NO_USABLE_INPUT (after building the
 * report, which the caller may still write) when no file could be used.
 */
export function assembleDicomReport(policy: Policy, results: FileResult[], cohort: CohortSummary | undefined, timingMs: number): { report: DicomRunReport; unusable?: VeilError } {
  const dicom = dicomSection(policy);
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
  if (cohort) report.cohort = cohort;
  const patients = new Set<string>();
  const studies = new Map<string, Set<string>>();
  for (const result of results) {
    addFileResult(report, result, result.output ? result.input : undefined, policy.pixels !== undefined);
    if (result.patient && result.status !== 'skipped') patients.add(result.patient.pseudonym);
    if (result.study && result.patient) {
      const set = studies.get(result.study) ?? new Set<string>();
      set.add(result.patient.pseudonym);
      studies.set(result.study, set);
    }
  }
  report.studiesWithSeveralPatients = [...studies].filter(([, set]) => set.size > 1).map(([study]) => study).sort();
  report.totals.patients = patients.size;
  report.timingMs = Math.round(timingMs);
  return { report, unusable: noUsableDicomFile(report) };
}
