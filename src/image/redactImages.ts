import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/load.js';
import { renderImageHtml } from '../report/html/imageHtml.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';
import { isImagePath } from './imageFile.js';
import { summarize, type ImageFileReport, type ImageRunReport } from '../report/imageReport.js';
import type { WorkerInit, WorkerTask } from './imageWorker.js';
import { readManifest } from './models.js';
import { reviewThumbnails } from './reviewThumbnails.js';
import { createImageProcessor } from './redactFile.js';

export interface RedactImagesOptions {
  policy: Policy;
  /** A PNG/JPEG/TIFF file or a folder (walked recursively). */
  input: string;
  /** A file (for a file input) or a folder (same relative paths and names). */
  output: string;
  reportJson?: string;
  /** Review page (HTML): each written output with the regions found drawn over it. */
  reportHtml?: string;
  /** Worker threads; default: one per core, at most one per file. */
  jobs?: number;
  onProgress?: (done: number, total: number) => void;
}

interface Job {
  input: string;
  output: string;
  relative: string;
}

/**
 * Redacts burned-in text (and faces when the policy asks) in every image under `input`,
 * writing one output per input with the same name and size. Files whose verification
 * still finds PHI are flagged in the report and not written.
 */
export async function redactImages(options: RedactImagesOptions): Promise<ImageRunReport> {
  const started = performance.now();
  // the schema (zod) loads only for a policy without a pixels section, for its defaults: a job or
  // step process handed its parsed policy need not import it
  const pixels: PixelsPolicy = options.policy.pixels ?? (await import('../policy/sections/pixels.js')).pixelsSchema.parse({});
  const jobs = await planJobs(resolve(options.input), resolve(options.output));
  const workers = Math.max(1, Math.min(options.jobs ?? availableParallelism(), jobs.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / workers));
  const files = workers === 1 ? await runInProcess(jobs, pixels, threads, options.onProgress) : await runInWorkers(jobs, pixels, workers, options.onProgress);
  const report: ImageRunReport = {
    kind: 'veil-image',
    policy: { name: options.policy.name, version: options.policy.version, sha256: options.policy.source.sha256 },
    settings: { ...pixels.burnedInText, faces: { ...pixels.faces } },
    models: await modelDigests(),
    files,
    totals: summarize(files),
    jobs: workers,
    timingMs: Math.round(performance.now() - started),
  };
  if (options.reportJson) await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
  if (options.reportHtml) {
    const thumbnails = await reviewThumbnails(files.map((file, n) => ({ report: file, output: jobs[n].output })));
    await writeFileAtomic(options.reportHtml, renderImageHtml(report, thumbnails));
  }
  // written first: the report is the only place that says, file by file, why nothing could be used
  const unusable = noUsableImage(report);
  if (unusable) throw unusable;
  return report;
}

/**
 * The run fails when no image could be read (or there was none): the same rule for the CLI
 * (exit 2) and the API (job failed). Some unreadable files among readable ones are not fatal;
 * they are listed in the report with their reason.
 */
export function noUsableImage(report: ImageRunReport): VeilError | undefined {
  const { files, errors } = report.totals;
  if (files === 0) return new VeilError('NO_USABLE_INPUT', 'the input holds no PNG, JPEG or TIFF image');
  if (errors < files) return undefined;
  const first = report.files.find((f) => f.status === 'error');
  return new VeilError('NO_USABLE_INPUT', `none of the ${files} image(s) could be read (first: ${first?.error?.message ?? 'unknown'}); the report lists each file's reason`, { file: first?.file });
}

async function modelDigests(): Promise<{ id: string; sha256: string }[]> {
  const ids = ['ocr-det-ppocrv4', 'ocr-rec-ppocrv4'];
  return Promise.all(ids.map(async (id) => ({ id, sha256: (await readManifest(id)).sha256 })));
}

/** Input → output pairs. A folder input needs a folder output; inputs are never overwritten. */
export async function planJobs(input: string, output: string): Promise<Job[]> {
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new VeilError('FILE_NOT_FOUND', 'the input does not exist', { field: '--in' });
  if (input === output) throw new VeilError('USAGE', 'the output must differ from the input (inputs are never modified)', { field: '--out' });
  if (info.isFile()) {
    if (!isImagePath(input)) throw new VeilError('IMAGE_INVALID', 'expected a .png, .jpg, .jpeg, .tif or .tiff file', { file: input });
    const outInfo = await stat(output).catch(() => undefined);
    const target = outInfo?.isDirectory() ? join(output, basename(input)) : output;
    return [{ input, output: target, relative: basename(input) }];
  }
  const outInfo = await stat(output).catch(() => undefined);
  if (outInfo && !outInfo.isDirectory()) throw new VeilError('USAGE', 'the input is a folder, so the output must be a folder too', { field: '--out' });
  const files = (await walk(input)).filter(isImagePath).sort();
  const inside = relative(input, output);
  return files
    .filter((file) => inside === '' || inside.startsWith('..') || !file.startsWith(output))
    .map((file) => ({ input: file, output: join(output, relative(input, file)), relative: relative(input, file) }));
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.isFile() && !entry.name.startsWith('.') ? [path] : [];
    }),
  );
  return nested.flat();
}

async function runInProcess(jobs: Job[], pixels: PixelsPolicy, threads: number, onProgress?: (done: number, total: number) => void): Promise<ImageFileReport[]> {
  const processor = await createImageProcessor(pixels, threads);
  const reports: ImageFileReport[] = [];
  try {
    for (const job of jobs) {
      reports.push(await processor.process(job.input, job.output, job.relative));
      onProgress?.(reports.length, jobs.length);
    }
  } finally {
    await processor.close();
  }
  return reports;
}

/**
 * A worker may start from TS sources (tests, tsx) or compiled JS (the CLI). On Node 20,
 * `execArgv: ['--import', 'tsx']` does not reach worker threads, so a TS worker is started
 * by a one-line bootstrap that registers tsx's loader inside the worker first.
 */
function startWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./imageWorker.js', import.meta.url), { workerData: init });
  const href = new URL('./imageWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

interface WorkerReply {
  ready?: boolean;
  id?: number;
  report?: ImageFileReport;
  error?: { code?: string; message: string };
}

async function runInWorkers(jobs: Job[], pixels: PixelsPolicy, count: number, onProgress?: (done: number, total: number) => void): Promise<ImageFileReport[]> {
  const reports = new Array<ImageFileReport>(jobs.length);
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  const runOne = (worker: Worker): Promise<void> =>
    new Promise<void>((resolvePromise, reject) => {
      const send = (): void => {
        if (next >= jobs.length) {
          worker.off('message', onMessage);
          resolvePromise();
          return;
        }
        const id = next++;
        const task: WorkerTask = { id, ...jobs[id] };
        worker.postMessage(task);
      };
      const onMessage = (reply: WorkerReply): void => {
        if (reply.ready === false) return reject(toError(reply.error));
        if (reply.ready === true) return send();
        if (reply.id === undefined) return;
        if (reply.error || !reply.report) return reject(toError(reply.error));
        reports[reply.id] = reply.report;
        onProgress?.(++done, jobs.length);
        send();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  try {
    for (let i = 0; i < count; i++) workers.push(startWorker({ pixels, threads: 1 }));
    await Promise.all(workers.map(runOne));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return reports;
}

function toError(error: { code?: string; message: string } | undefined): Error {
  if (error?.code) return new VeilError(error.code as VeilError['code'], error.message);
  return new Error(error?.message ?? 'an image worker stopped');
}
