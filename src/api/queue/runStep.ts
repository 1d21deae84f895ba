/**
 * One step of a queued job, as it runs inside a step process (stepProcess.ts). Every step
 * reads the approved policy bytes and checks their sha256 first (POLICY_TAMPERED), reads and
 * writes only under the shared data dir, and writes each output atomically under a name
 * derived from the job and the part, so that a step BullMQ runs twice replaces its own output.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import { loadSecret } from '../../secret/key.js';
import { dataLayout, OUTPUT_FILES, type DataLayout } from '../layout.js';
import { prepared, runJob, tabularSecret, type WorkerSpec } from '../worker.js';
import { concatZipSegments, readZipSegmentIndex, writeZipSegment, zipSourcesUnder, type ZipEntryRecord, type ZipPart } from '../zip.js';
import { stepsDir, type StepData, type StepName, type StepResult } from './steps.js';

/** What the worker hands a step process: the step, its data, and where this machine mounts the data dir. */
export interface StepSpec {
  name: StepName;
  data: StepData;
  dataDir: string;
  /** Worker threads this step may use (the worker's --threads). */
  threads: number;
  /** The policy as the worker parsed it (WorkerSpec.parsedPolicy: used only for the bytes the step checks). */
  parsedPolicy?: Policy;
}

type Progress = (fraction: number) => void;

/** The embedded runner's job spec, resolved under this worker's data dir. */
export function workerSpecOf(spec: StepSpec, layout: DataLayout): WorkerSpec {
  const { data } = spec;
  const inputDir = layout.jobInput(data.jobId);
  return {
    jobId: data.jobId,
    kind: data.kind,
    policyFile: layout.policyText(data.policy.dir),
    policyDir: layout.policyHierarchies(data.policy.dir, data.policy.storage),
    policyVersion: data.policy.version,
    policySha256: data.policy.sha256,
    hierarchies: data.policy.hierarchies,
    privacy: data.privacy,
    input: data.kind === 'tabular' ? join(inputDir, 'input.csv') : inputDir,
    workDir: layout.jobWork(data.jobId),
    maxCellBytes: data.maxCellBytes,
    parsedPolicy: spec.parsedPolicy,
  };
}

/** The chunks of a DICOM job: their sizes here, each chunk's file list in lists/<n>.json (a chunk reads only its own). */
interface DicomPlan {
  startedAt: number;
  counts: number[];
}

/** Each chunk's share of the job's progress (an empty upload is one empty chunk). */
function chunkWeights(plan: DicomPlan): number[] {
  const total = plan.counts.reduce((sum, n) => sum + n, 0);
  return plan.counts.length === 0 ? [1] : plan.counts.map((n) => (total > 0 ? n / total : 1));
}

const listFile = (ctx: StepContext, index: number): string => join(ctx.steps, 'lists', `${index}.json`);

interface StepContext {
  spec: StepSpec;
  layout: DataLayout;
  worker: WorkerSpec;
  steps: string;
  onProgress: Progress;
}

export async function runStep(spec: StepSpec, onProgress: Progress): Promise<StepResult> {
  const layout = dataLayout(spec.dataDir);
  const ctx: StepContext = { spec, layout, worker: workerSpecOf(spec, layout), steps: stepsDir(layout, spec.data.jobId), onProgress };
  switch (spec.name) {
    case 'run':
      return runWhole(ctx);
    case 'dicom-plan':
      return dicomPlan(ctx);
    case 'dicom-headers':
      return dicomHeaders(ctx);
    case 'dicom-cohort':
      return dicomCohort(ctx);
    case 'dicom-chunk':
      return dicomChunk(ctx);
    case 'dicom-merge':
      return dicomMerge(ctx);
    case 'image-plan':
      return imagePlan(ctx);
    case 'image-chunk':
      return imageChunk(ctx);
    case 'image-merge':
      return imageMerge(ctx);
    case 'tabular-plan':
      return tabularPlan(ctx);
    case 'tabular-partition':
      return tabularPartition(ctx);
    case 'tabular-merge':
      return tabularMerge(ctx);
  }
}

/** A fresh work/ (and no out/ an earlier attempt may have left). */
async function freshWork(ctx: StepContext): Promise<void> {
  await rm(ctx.worker.workDir, { recursive: true, force: true });
  await rm(ctx.layout.jobOut(ctx.spec.data.jobId), { recursive: true, force: true });
  await mkdir(ctx.worker.workDir, { recursive: true });
}

/** The whole job in this one process, exactly as the embedded runner runs it. */
async function runWhole(ctx: StepContext): Promise<StepResult> {
  await freshWork(ctx);
  await runJob(ctx.worker);
  // runJob reports progress through the IPC channel of its own process: this is that process
  ctx.onProgress(1);
  return { final: true };
}

function partIndex(ctx: StepContext): number {
  const index = ctx.spec.data.index;
  if (index === undefined || !Number.isInteger(index) || index < 0) throw new Error(`step ${ctx.spec.name} has no part number`);
  return index;
}

const planFile = (ctx: StepContext): string => join(ctx.steps, 'plan.json');

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

async function dicomPolicy(ctx: StepContext): Promise<Policy> {
  return prepared(ctx.worker);
}

/**
 * The plan of a chunked job: the one already written, or a fresh one from `listChunks` (each
 * chunk's relative paths in lists/<n>.json, plan.json last, so once it exists every list does).
 * Kept when it exists: a plan step BullMQ runs again after its flow was added must not change
 * the chunks under it.
 */
async function readOrMakePlan(ctx: StepContext, listChunks: () => Promise<string[][]>): Promise<DicomPlan> {
  if (existsSync(planFile(ctx))) return readJson<DicomPlan>(planFile(ctx));
  await rm(ctx.steps, { recursive: true, force: true });
  await freshWork(ctx);
  const startedAt = Date.now();
  const chunks = await listChunks();
  for (const [index, files] of chunks.entries()) await writeFileAtomic(listFile(ctx, index), JSON.stringify(files));
  const plan: DicomPlan = { startedAt, counts: chunks.map((files) => files.length) };
  await writeFileAtomic(planFile(ctx), JSON.stringify(plan));
  return plan;
}

/**
 * Lists the upload in chunks (plan.json). A plan already written is kept: a plan step that
 * BullMQ runs again after its flow was added must not change the chunks under it.
 */
async function dicomPlan(ctx: StepContext): Promise<StepResult> {
  const policy = await dicomPolicy(ctx);
  // a job that pulls its input from a DICOMweb source (and may store its result back) runs whole
  const { readSourceRequest } = await import('../dicomSourceJob.js');
  if (readSourceRequest(ctx.worker.input)) return runWhole(ctx);
  const plan = await readOrMakePlan(ctx, async () => {
    const { listDicomChunks } = await import('../../dicom/chunk.js');
    return listDicomChunks(ctx.worker.input, ctx.spec.data.chunkFiles);
  });
  const weights = chunkWeights(plan);
  const parts = weights.length;
  if (policy.dicom?.cohort) return { final: false, next: { parent: 'dicom-cohort', child: 'dicom-headers', parts, weights: weights.map(() => 0) } };
  return { final: false, next: { parent: 'dicom-merge', child: 'dicom-chunk', parts, weights } };
}

/** The chunk's files (an empty chunk 0 when the upload held no file: the merge then says so). */
async function chunkFiles(ctx: StepContext): Promise<string[]> {
  const index = partIndex(ctx);
  return existsSync(listFile(ctx, index)) ? readJson<string[]>(listFile(ctx, index)) : [];
}

async function dicomHeaders(ctx: StepContext): Promise<StepResult> {
  const policy = await dicomPolicy(ctx);
  const index = partIndex(ctx);
  const { extractCohortAttributes } = await import('../../dicom/chunk.js');
  const patients = await extractCohortAttributes({ policy, input: ctx.worker.input, files: await chunkFiles(ctx), secret: loadSecret(), jobs: ctx.spec.threads, thisThread: true });
  await writeFileAtomic(join(ctx.steps, 'headers', `${index}.json`), JSON.stringify(patients));
  return { final: false };
}

const cohortDir = (ctx: StepContext): string => join(ctx.steps, 'cohort');

/** Decides the cohort once over every chunk's patients, then lets the chunks run. */
async function dicomCohort(ctx: StepContext): Promise<StepResult> {
  const policy = await dicomPolicy(ctx);
  const plan = await readJson<DicomPlan>(planFile(ctx));
  const weights = chunkWeights(plan);
  const parts = weights.length;
  const patients: [string, Record<string, string>][] = [];
  for (let index = 0; index < parts; index++) patients.push(...(await readJson<[string, Record<string, string>][]>(join(ctx.steps, 'headers', `${index}.json`))));
  const { decideDicomCohort } = await import('../../dicom/chunk.js');
  await mkdir(cohortDir(ctx), { recursive: true });
  const decision = await decideDicomCohort(patients, policy, join(cohortDir(ctx), 'cohort.csv'));
  await writeFileAtomic(join(cohortDir(ctx), 'decision.json'), JSON.stringify(decision));
  return { final: false, next: { parent: 'dicom-merge', child: 'dicom-chunk', parts, weights } };
}

const chunkDir = (ctx: StepContext, index: number): string => join(ctx.steps, 'chunks', String(index));

/**
 * De-identifies one chunk into a temp folder, then replaces chunks/<n>/ with it: a chunk run
 * twice (a worker killed mid-chunk) leaves exactly one complete output.
 */
async function dicomChunk(ctx: StepContext): Promise<StepResult> {
  const policy = await dicomPolicy(ctx);
  const index = partIndex(ctx);
  const files = await chunkFiles(ctx);
  const cohortWrites = policy.dicom?.cohort ? (await readJson<{ writes: Record<string, import('../../dicom/chunk.js').CohortWrite> }>(join(cohortDir(ctx), 'decision.json'))).writes : undefined;
  const temp = join(ctx.steps, 'chunks', `.tmp-${index}-${randomBytes(6).toString('hex')}`);
  await mkdir(temp, { recursive: true });
  try {
    const { deidentifyDicomChunk } = await import('../../dicom/chunk.js');
    const results = await deidentifyDicomChunk({
      policy,
      input: ctx.worker.input,
      files,
      output: join(temp, 'files'),
      secret: loadSecret(),
      cohortWrites,
      jobs: ctx.spec.threads,
      // the step process does nothing else while the chunk runs
      thisThread: true,
      onProgress: (done, total) => ctx.onProgress(total > 0 ? done / total : 1),
    });
    // the chunk deflates its own outputs (the merge only copies bytes); the files themselves are not kept
    await writeChunkSegment(temp);
    await rm(join(temp, 'files'), { recursive: true, force: true });
    await writeFile(join(temp, 'results.json'), JSON.stringify(results));
    await rm(chunkDir(ctx, index), { recursive: true, force: true });
    await rename(temp, chunkDir(ctx, index));
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { final: false };
}

/** A hard link where the file system allows one (no copy of the bytes); else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** A chunk's outputs as one zip segment: its local entries, and their records beside them. */
const SEGMENT = 'files.zipseg';
const SEGMENT_INDEX = 'files.zipseg.json';

/** Writes the segment of `<dir>/files` (its files sorted by path, as zipDirectory names them) into `dir`. */
async function writeChunkSegment(dir: string): Promise<void> {
  await writeZipSegment(await zipSourcesUnder(join(dir, 'files')), join(dir, SEGMENT), join(dir, SEGMENT_INDEX));
}

async function chunkSegmentIndex(ctx: StepContext, index: number): Promise<ZipEntryRecord[]> {
  const file = join(chunkDir(ctx, index), SEGMENT_INDEX);
  if (!existsSync(file)) throw new Error(`chunk ${index} has no zip segment`);
  return (await readZipSegmentIndex(file)).entries;
}

/**
 * The archive's parts: every chunk's segment in chunk order, each read once, with the merge's
 * own entries (cohort.csv) placed where they sort among the chunks' names, as zipDirectory
 * over one folder of all the files placed them (the queue's uploads are one folder of numbered
 * files, walked and cut in sorted order, so chunk order is name order).
 */
async function* archiveParts(ctx: StepContext, parts: number, own: ZipPart | undefined, onChunk: (index: number) => void): AsyncGenerator<ZipPart> {
  let extra = own;
  for (let index = 0; index < parts; index++) {
    const segment = join(chunkDir(ctx, index), SEGMENT);
    const entries = await chunkSegmentIndex(ctx, index);
    const first = extra?.entries[0];
    const before = extra && first ? entries.findIndex((entry) => entry.name > first.name) : -1;
    if (extra && before !== -1) {
      if (before > 0) yield { segment, entries: entries.slice(0, before) };
      yield extra;
      extra = undefined;
      yield { segment, entries: entries.slice(before) };
    } else {
      yield { segment, entries };
    }
    onChunk(index);
  }
  if (extra) yield extra;
}

/**
 * Writes the report of all chunks from their results (each read once), then the archive: the
 * chunks' segments copied in chunk order (deflated once, by the chunks) and one central
 * directory. Nothing under steps/ is changed, so a merge run twice finds the chunks intact.
 */
async function dicomMerge(ctx: StepContext): Promise<StepResult> {
  const policy = await dicomPolicy(ctx);
  const plan = await readJson<DicomPlan>(planFile(ctx));
  await freshWork(ctx);
  const { assembleDicomReport } = await import('../../dicom/chunk.js');
  const { renderDicomHtml } = await import('../../report/html/dicomHtml.js');
  type ChunkResult = Parameters<typeof assembleDicomReport>[1][number];
  const results: ChunkResult[] = [];
  const parts = chunkWeights(plan).length;
  for (let index = 0; index < parts; index++) {
    const dir = chunkDir(ctx, index);
    if (!existsSync(join(dir, 'results.json'))) throw new Error(`chunk ${index} has no results`);
    results.push(...(await readJson<ChunkResult[]>(join(dir, 'results.json'))));
  }
  let cohort: Parameters<typeof assembleDicomReport>[2];
  if (policy.dicom?.cohort) cohort = (await readJson<{ summary: NonNullable<typeof cohort> }>(join(cohortDir(ctx), 'decision.json'))).summary;
  const { report, unusable } = assembleDicomReport(policy, results, cohort, Date.now() - plan.startedAt);
  await writeFileAtomic(join(ctx.worker.workDir, OUTPUT_FILES.reportJson), `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(join(ctx.worker.workDir, OUTPUT_FILES.reportHtml), renderDicomHtml(report));
  if (unusable) throw unusable;
  // the cohort's decisions go in the archive beside the files, as in one process
  const own = join(ctx.worker.workDir, '.own');
  let cohortPart: ZipPart | undefined;
  if (policy.dicom?.cohort && existsSync(join(cohortDir(ctx), 'cohort.csv'))) {
    await mkdir(own, { recursive: true });
    const index = await writeZipSegment([{ path: join(cohortDir(ctx), 'cohort.csv'), name: 'cohort.csv' }], join(own, SEGMENT), join(own, SEGMENT_INDEX));
    cohortPart = { segment: join(own, SEGMENT), entries: index.entries };
  }
  await concatZipSegments(
    archiveParts(ctx, parts, cohortPart, (index) => ctx.onProgress((index + 1) / (parts + 1))),
    join(ctx.worker.workDir, OUTPUT_FILES.archiveResult),
  );
  await rm(own, { recursive: true, force: true });
  ctx.onProgress(1);
  return { final: true };
}

/**
 * Lists an image upload in chunks, in the order the single-process run walks it (the engine's
 * own planJobs: images only, sorted), each chunk's relative paths in lists/<n>.json, plan.json
 * last. A plan already written is kept, as for DICOM.
 */
async function imagePlan(ctx: StepContext): Promise<StepResult> {
  await prepared(ctx.worker);
  const plan = await readOrMakePlan(ctx, async () => {
    // image/plan.ts, not image/index.ts: listing the upload needs none of the engines
    const { planJobs } = await import('../../image/plan.js');
    const files = (await planJobs(ctx.worker.input, join(ctx.worker.workDir, 'files'))).map((job) => job.relative);
    const size = Math.max(1, ctx.spec.data.chunkFiles);
    const chunks: string[][] = [];
    for (let at = 0; at < files.length; at += size) chunks.push(files.slice(at, at + size));
    return chunks;
  });
  const weights = chunkWeights(plan);
  return { final: false, next: { parent: 'image-merge', child: 'image-chunk', parts: weights.length, weights } };
}

/**
 * Redacts one chunk with the single-process engine (redactImages) over a folder of hard links
 * to the chunk's files under their relative paths, so each file's report names it as the
 * single-process run does; the outputs and the chunk's report go to a temp folder renamed to
 * chunks/<n>/, replacing an earlier attempt's.
 */
async function imageChunk(ctx: StepContext): Promise<StepResult> {
  const policy = await prepared(ctx.worker);
  const index = partIndex(ctx);
  const files = await chunkFiles(ctx);
  const temp = join(ctx.steps, 'chunks', `.tmp-${index}-${randomBytes(6).toString('hex')}`);
  const linked = join(temp, 'input');
  await mkdir(join(temp, 'files'), { recursive: true });
  try {
    for (const file of files) await linkOrCopy(join(ctx.worker.input, file), join(linked, file));
    let report: import('../../image/index.js').ImageRunReport | undefined;
    if (files.length > 0) {
      const { redactImages } = await import('../../image/index.js');
      const reportJson = join(temp, 'report.json');
      try {
        report = await redactImages({ policy, input: linked, output: join(temp, 'files'), reportJson, jobs: ctx.spec.threads, onProgress: (done, total) => ctx.onProgress(total > 0 ? done / total : 1) });
      } catch (error) {
        // a chunk of unreadable files only: the merge decides over all chunks (the report was written first)
        if (!(error instanceof Error && 'code' in error && error.code === 'NO_USABLE_INPUT' && existsSync(reportJson))) throw error;
        report = await readJson<import('../../image/index.js').ImageRunReport>(reportJson);
      }
    }
    await rm(linked, { recursive: true, force: true });
    // the outputs stay beside their segment: the merge draws the review page's thumbnails from them
    await writeChunkSegment(temp);
    await writeFile(join(temp, 'results.json'), JSON.stringify(report ?? null));
    await rm(chunkDir(ctx, index), { recursive: true, force: true });
    await rename(temp, chunkDir(ctx, index));
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { final: false };
}

/**
 * Assembles the single-process report (the chunks' file records in chunk order, totals over
 * all of them; `jobs` is the sum of the chunks' worker threads), writes its review page from
 * the chunks' outputs, and writes the archive from the chunks' segments, as for DICOM.
 */
async function imageMerge(ctx: StepContext): Promise<StepResult> {
  await prepared(ctx.worker);
  const plan = await readJson<DicomPlan>(planFile(ctx));
  await freshWork(ctx);
  // the modules themselves, not image/index.ts: merging reports needs none of the engines
  const { noUsableImage } = await import('../../image/plan.js');
  const { reviewThumbnails } = await import('../../image/reviewThumbnails.js');
  const { renderImageHtml } = await import('../../report/html/imageHtml.js');
  const { summarize } = await import('../../report/imageReport.js');
  type ImageRunReport = import('../../image/index.js').ImageRunReport;
  const parts = chunkWeights(plan).length;
  const chunks: ImageRunReport[] = [];
  const outputs: { report: ImageRunReport['files'][number]; output: string }[] = [];
  for (let index = 0; index < parts; index++) {
    const dir = chunkDir(ctx, index);
    if (!existsSync(join(dir, 'results.json'))) throw new Error(`chunk ${index} has no results`);
    const chunk = await readJson<ImageRunReport | null>(join(dir, 'results.json'));
    if (!chunk) continue;
    chunks.push(chunk);
    for (const file of chunk.files) outputs.push({ report: file, output: join(dir, 'files', file.file) });
  }
  const first = chunks[0];
  if (!first) {
    const { VeilError } = await import('../../errors.js');
    throw new VeilError('NO_USABLE_INPUT', 'the input holds no PNG, JPEG or TIFF image');
  }
  const files = chunks.flatMap((chunk) => chunk.files);
  const report: ImageRunReport = {
    ...first,
    files,
    totals: summarize(files),
    jobs: chunks.reduce((sum, chunk) => sum + chunk.jobs, 0),
    timingMs: Date.now() - plan.startedAt,
  };
  await writeFileAtomic(join(ctx.worker.workDir, OUTPUT_FILES.reportJson), `${JSON.stringify(report, null, 2)}\n`);
  const thumbnails = await reviewThumbnails(outputs);
  await writeFileAtomic(join(ctx.worker.workDir, OUTPUT_FILES.reportHtml), renderImageHtml(report, thumbnails));
  const unusable = noUsableImage(report);
  if (unusable) throw unusable;
  await concatZipSegments(
    archiveParts(ctx, parts, undefined, (index) => ctx.onProgress((index + 1) / (parts + 1))),
    join(ctx.worker.workDir, OUTPUT_FILES.archiveResult),
  );
  ctx.onProgress(1);
  return { final: true };
}

/** Lines of the CSV, header included: an upper bound of its records (a quoted cell may hold a line break). */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines + 1;
}

/** Where the distributed Mondrian keeps its plan, partitions and partition outputs. */
const tabularDir = (ctx: StepContext): string => join(ctx.steps, 'tabular');

/** Share of a tabular job's progress the partitions stand for (the merge checks the whole table after them). */
const PARTITIONS_SHARE = 0.8;

/**
 * A table at or under --distributed-rows runs whole, exactly as the embedded runner runs it.
 * A larger one is planned here (the top Mondrian cuts, made on exact counts) and its
 * partitions go to the queue; a plan already written is kept (this step may run twice).
 */
async function tabularPlan(ctx: StepContext): Promise<StepResult> {
  const policy = await prepared(ctx.worker);
  const { planPartitions, readPlan, planPath } = await import('../../tabular/distributed/index.js');
  const workDir = tabularDir(ctx);
  let plan: Awaited<ReturnType<typeof readPlan>>;
  if (existsSync(planPath(workDir))) {
    plan = await readPlan(workDir);
  } else {
    // lines are an upper bound of rows: a table under the threshold by lines is under it by rows
    if ((await countLines(ctx.worker.input)) - 1 <= ctx.spec.data.distributedRows) return runWhole(ctx);
    await rm(ctx.steps, { recursive: true, force: true });
    await freshWork(ctx);
    plan = await planPartitions({
      input: ctx.worker.input,
      policy,
      policyDir: ctx.worker.policyDir,
      maxPartitionRows: ctx.spec.data.distributedRows,
      workDir,
      maxCellBytes: ctx.worker.maxCellBytes,
    });
  }
  const total = plan.partitions.reduce((sum, part) => sum + part.rows, 0);
  const weights = plan.partitions.map((part) => (total > 0 ? (PARTITIONS_SHARE * part.rows) / total : 0));
  return { final: false, next: { parent: 'tabular-merge', child: 'tabular-partition', parts: plan.partitions.length, weights } };
}

/** One partition under the same policy; its output replaces any earlier attempt's (same bytes). */
async function tabularPartition(ctx: StepContext): Promise<StepResult> {
  const policy = await prepared(ctx.worker);
  const { anonymizePartition } = await import('../../tabular/index.js');
  await anonymizePartition({
    workDir: tabularDir(ctx),
    index: partIndex(ctx),
    policy,
    policyDir: ctx.worker.policyDir,
    secret: tabularSecret(policy),
    maxCellBytes: ctx.worker.maxCellBytes,
  });
  ctx.onProgress(1);
  return { final: false };
}

/** Merges the partitions, checks k, l, t and suppression on the whole table, writes the report (JSON and HTML). */
async function tabularMerge(ctx: StepContext): Promise<StepResult> {
  const policy = await prepared(ctx.worker);
  await freshWork(ctx);
  const { mergePartitions } = await import('../../tabular/index.js');
  const { renderTabularCharts, tabularPage } = await import('../../report/html/tabularHtml.js');
  const report = await mergePartitions({
    workDir: tabularDir(ctx),
    policy,
    policyDir: ctx.worker.policyDir,
    out: join(ctx.worker.workDir, OUTPUT_FILES.tabularResult),
    reportJson: join(ctx.worker.workDir, OUTPUT_FILES.reportJson),
    maxCellBytes: ctx.worker.maxCellBytes,
  });
  await writeFileAtomic(join(ctx.worker.workDir, OUTPUT_FILES.reportHtml), tabularPage(report, await renderTabularCharts(report)));
  ctx.onProgress(1);
  return { final: true };
}
