import { Worker } from 'node:worker_threads';
import type { TabularReport } from '../report/tabularReport.js';
import type { JobError } from './jobStore.js';

/** What the preview thread is sent: a stored version's files and a sample already in place. */
export interface PreviewJob {
  policyFile: string;
  /** Where the version's hierarchy paths resolve. */
  policyDir: string;
  policySha256: string;
  policyVersion: number;
  hierarchies: { path: string; sha256: string }[];
  /** The sample CSV (deleted by the caller when the preview ends). */
  input: string;
  /** Where the thread may write (the published sample, the HTML page); deleted by the caller. */
  workDir: string;
  maxCellBytes?: number;
}

export type PreviewOutcome = { ok: true; report: TabularReport; html: string } | { ok: false; error: JobError };

/** Sent to the thread to load the engine ahead of the first preview; answered with a {@link WarmReply}. */
export interface WarmRequest {
  warm: true;
  /** Where the warm-up may write its made-up table and report; removed when it ends. */
  workDir: string;
}
export interface WarmReply {
  warmed: boolean;
  /** Why warming failed (a module that would not load; no data is involved). */
  reason?: string;
}

function isWarmReply(message: unknown): message is WarmReply {
  return typeof message === 'object' && message !== null && 'warmed' in message;
}

/** A preview still running after this long is stopped (its thread replaced), and its heap. */
export const PREVIEW_LIMITS = { timeoutMs: 5 * 60_000, heapMb: 2048 } as const;

let thread: Worker | undefined;
let busy = false;
const waiting: (() => void)[] = [];

/**
 * Runs the tabular engine on a sample in a worker thread, one preview at a time, so the
 * event loop keeps serving while it runs. The thread stays warm for the next preview; one
 * that runs out of time or memory is refused like a failed job (and its thread replaced).
 */
export async function runPreview(job: PreviewJob): Promise<PreviewOutcome> {
  while (busy) await new Promise<void>((resolve) => waiting.push(resolve));
  busy = true;
  try {
    return await runInThread(job);
  } finally {
    busy = false;
    waiting.shift()?.();
  }
}

function runInThread(job: PreviewJob): Promise<PreviewOutcome> {
  const worker = previewThread();
  return new Promise<PreviewOutcome>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const discard = (): void => {
      if (thread === worker) thread = undefined;
      void worker.terminate();
    };
    const failed = (code: string, message: string): PreviewOutcome => ({ ok: false, error: { code, message } });
    const onMessage = (outcome: PreviewOutcome | WarmReply): void => {
      // the answer to warming may arrive while a preview runs: it is not this preview's
      if (isWarmReply(outcome)) return;
      done();
      resolve(outcome);
    };
    const onError = (error: Error & { code?: string }): void => {
      done();
      discard();
      resolve(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? failed('PREVIEW_TOO_LARGE', 'the sample needs more memory than a preview may use; preview a smaller sample') : failed('INTERNAL', 'the preview failed with an internal error'));
    };
    const onExit = (): void => {
      done();
      discard();
      resolve(failed('INTERNAL', 'the preview thread exited without an answer'));
    };
    const timer = setTimeout(() => {
      done();
      discard();
      resolve(failed('JOB_TIMEOUT', `the preview took more than ${PREVIEW_LIMITS.timeoutMs / 60_000} minutes; preview a smaller sample`));
    }, PREVIEW_LIMITS.timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}

/**
 * Starts the preview thread and has it run one preview of a small made-up table in `workDir`
 * now, so that the first real preview finds the engine loaded and compiled. Called once the server listens: the thread works beside the event loop
 * and does not keep the process alive. A failure is reported to `onFailure` (the server logs
 * it) and changes nothing else: the first preview then loads the engine itself. A preview that
 * arrives before warming ends waits in the thread's queue behind it.
 */
export function warmPreviewThread(workDir: string, onFailure: (reason: string) => void, onWarm?: (ms: number) => void): void {
  const started = performance.now();
  let worker: Worker;
  try {
    worker = previewThread();
  } catch (error) {
    onFailure(error instanceof Error ? error.message : String(error));
    return;
  }
  const onMessage = (message: unknown): void => {
    if (!isWarmReply(message)) return;
    worker.off('message', onMessage);
    if (message.warmed) onWarm?.(performance.now() - started);
    else onFailure(message.reason ?? 'the preview thread could not load the tabular engine');
  };
  worker.on('message', onMessage);
  worker.once('exit', () => worker.off('message', onMessage));
  const request: WarmRequest = { warm: true, workDir };
  worker.postMessage(request);
}

/** The preview thread, started on first use; it does not keep the process alive. */
function previewThread(): Worker {
  if (thread) return thread;
  const worker = startWorker();
  worker.unref();
  worker.on('error', () => undefined);
  worker.on('exit', () => {
    if (thread === worker) thread = undefined;
  });
  thread = worker;
  return worker;
}

/**
 * True when the server runs from the TS sources through tsx (tests, development) rather than
 * the compiled dist/ a user runs: there a warm-up would mostly compile TypeScript in the
 * thread (≈ 2.7 s of CPU on every start of every test server), so startServer skips it.
 */
export const RUNS_FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Whether startServer warms the preview thread: yes for the built server unless the operator
 * said `veil serve --no-preview-warmup` (`requested: false`), which saves ≈ 1.3 s of CPU per
 * start where no policy is previewed soon (tests, scripted one-shot servers).
 */
export function shouldWarmPreview(requested: boolean | undefined): boolean {
  return requested !== false && !RUNS_FROM_SOURCES;
}

/** previewWorker.js from compiled JS; from TS sources, a bootstrap registers tsx in the thread first (Node 20). */
function startWorker(): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: PREVIEW_LIMITS.heapMb } };
  if (!RUNS_FROM_SOURCES) return new Worker(new URL('./previewWorker.js', import.meta.url), options);
  const href = new URL('./previewWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
