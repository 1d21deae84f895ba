import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/load.js';
import { renderImageHtml } from '../report/html/imageHtml.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';
import { summarize, type ImageFileReport, type ImageRunReport } from '../report/imageReport.js';
import type { WorkerInit, WorkerTask } from './imageWorker.js';
import { readManifest } from './models.js';
import { reviewThumbnails } from './reviewThumbnails.js';
import { createImageProcessor } from './redactFile.js';
import { noUsableImage, planJobs, type Job } from './plan.js';

export { noUsableImage, planJobs } from './plan.js';

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

async function modelDigests(): Promise<{ id: string; sha256: string }[]> {
  const ids = ['ocr-det-ppocrv4', 'ocr-rec-ppocrv4'];
  return Promise.all(ids.map(async (id) => ({ id, sha256: (await readManifest(id)).sha256 })));
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
