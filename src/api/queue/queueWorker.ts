/**
 * `veil worker`: takes steps from the BullMQ queue and runs each in a child process (the
 * step process, which runs the embedded runner's job code), so a crash or a timeout of one
 * step never takes the worker down, and a killed worker takes its steps' processes with it.
 * A plan step's result names the flow to add next (parent = merge, children = parts); the
 * worker adds it with ids derived from the job, so a plan step run twice adds it once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FlowProducer, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { JobError } from '../jobStore.js';
import { dataLayout } from '../layout.js';
import { policyForChild } from '../runnerPolicy.js';
import type { Logger } from '../logger.js';
import { QUEUE_NAME, type QueueConnection } from './connection.js';
import type { StepSpec } from './runStep.js';
import type { StepMessage } from './stepProcess.js';
import { encodeFailure, isStepData, isStepName, stepJobId, stepsDir, type StepData, type StepName, type StepResult } from './steps.js';

export interface QueueWorkerOptions {
  connection: QueueConnection;
  /** This machine's mount of the shared data dir. */
  dataDir: string;
  /** Steps run at once by this worker (each in its own process). */
  concurrency: number;
  /** Worker threads per step (DICOM files are processed on threads). */
  threads: number;
  logger: Logger;
  /** How long a step's lock lasts without renewal: a killed worker's steps run again after about this long. */
  lockMs?: number;
}

export interface RunningQueueWorker {
  /** Steps finished by this worker (done or failed), for tests and benches. */
  readonly finished: number;
  close(): Promise<void>;
}

/** How often a worker looks whether the jobs of its running steps have ended (cancelled). */
const CANCEL_POLL_MS = 1000;

/** Options of every step job: retried after a crash, kept a while for the server to read. */
export function stepJobOptions(data: Pick<StepData, 'maxAttempts'>): JobsOptions {
  return {
    attempts: Math.max(1, data.maxAttempts),
    backoff: { type: 'fixed', delay: 500 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Failures worth another attempt: the process died, or something unexpected (a file system hiccup). */
function retryable(error: JobError): boolean {
  return error.code === 'WORKER_CRASHED' || error.code === 'INTERNAL';
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<RunningQueueWorker> {
  const layout = dataLayout(options.dataDir);
  const children = new Set<ChildProcess>();
  const flows = new FlowProducer({ connection: options.connection });
  let finished = 0;
  let closing = false;
  /** Steps this worker runs now: BullMQ id → Veil job id (for the cancel watch). */
  const running = new Map<string, string>();

  const addNextFlow = async (data: StepData, next: NonNullable<StepResult['next']>): Promise<void> => {
    const base: StepData = { ...data, index: undefined, weight: 0 };
    await flows.add({
      name: next.parent,
      queueName: QUEUE_NAME,
      data: base,
      opts: { ...stepJobOptions(data), jobId: stepJobId(data.jobId, next.parent) },
      children: Array.from({ length: next.parts }, (_, index) => ({
        name: next.child,
        queueName: QUEUE_NAME,
        data: { ...base, index, weight: next.weights[index] ?? 0 },
        opts: { ...stepJobOptions(data), jobId: stepJobId(data.jobId, next.child, index), failParentOnFailure: true },
      })),
    });
  };

  /** What a step of an ended job may have written after the server cleaned the job up. */
  const removeLeftovers = async (jobId: string): Promise<void> => {
    await rm(stepsDir(layout, jobId), { recursive: true, force: true });
    await rm(layout.jobWork(jobId), { recursive: true, force: true });
  };

  const processor = async (job: Job<StepData, StepResult, StepName>, _token?: string, signal?: AbortSignal): Promise<StepResult> => {
    const name = job.name;
    const data = job.data;
    if (!isStepName(name) || !isStepData(data)) throw new UnrecoverableError(encodeFailure({ code: 'INTERNAL', message: 'the queue held a step this worker does not know' }));
    // the server removes a job's input when the job ends (done, failed, timed out): its last steps have nothing to do
    if (!existsSync(layout.jobInput(data.jobId))) return { final: false, skipped: true };
    const started = performance.now();
    let redisMs = 0;
    const timed = async (call: () => Promise<unknown>): Promise<void> => {
      const t0 = performance.now();
      try {
        await call();
      } finally {
        redisMs += performance.now() - t0;
      }
    };
    let lastProgress = 0;
    const onProgress = (fraction: number): void => {
      const now = Date.now();
      if (now - lastProgress < 250 && fraction < 1) return;
      lastProgress = now;
      void timed(() => job.updateProgress({ weight: data.weight ?? 1, fraction })).catch(() => undefined);
    };
    options.logger.info({ jobId: data.jobId, step: name, index: data.index, attempt: job.attemptsMade + 1 }, 'step started');
    // parsed here once per policy version, so that the step process need not load the parser
    const parsedPolicy = await policyForChild({ policyFile: layout.policyText(data.policy.dir), policyDir: layout.policyHierarchies(data.policy.dir, data.policy.storage), policySha256: data.policy.sha256 });
    const spec: StepSpec = { name, data, dataDir: layout.root, threads: options.threads, parsedPolicy };
    const stepId = job.id ?? stepJobId(data.jobId, name, data.index);
    running.set(stepId, data.jobId);
    let outcome: Awaited<ReturnType<typeof runInChild>>;
    try {
      outcome = await runInChild(spec, onProgress, data.jobTimeoutMs, children, signal);
    } finally {
      running.delete(stepId);
    }
    // the job ended (cancelled) while the step ran: killed by the watch, or failed or finished
    // before the watch saw it (its input vanished under it); what it wrote after the server
    // cleaned the job up goes, and nothing follows it
    if (outcome.type === 'cancelled' || !existsSync(layout.jobInput(data.jobId))) {
      finished++;
      await removeLeftovers(data.jobId);
      options.logger.info({ jobId: data.jobId, step: name, index: data.index }, 'step stopped: the job ended');
      throw new UnrecoverableError(encodeFailure({ code: 'JOB_CANCELLED', message: 'the job was cancelled' }));
    }
    if (outcome.type === 'failed') {
      finished++;
      options.logger.info({ jobId: data.jobId, step: name, index: data.index, code: outcome.error.code }, 'step failed');
      if (closing) throw new Error(encodeFailure({ code: 'WORKER_CRASHED', message: 'the worker stopped while this step ran' }));
      throw retryable(outcome.error) ? new Error(encodeFailure(outcome.error)) : new UnrecoverableError(encodeFailure(outcome.error));
    }
    const result = outcome.result;
    if (result.next) {
      const next = result.next;
      await timed(() => addNextFlow(data, next));
    }
    finished++;
    options.logger.info({ jobId: data.jobId, step: name, index: data.index, ms: Math.round(performance.now() - started), redisMs: Math.round(redisMs * 10) / 10 }, 'step done');
    return result;
  };

  const lockDuration = options.lockMs ?? 10_000;
  const worker = new Worker<StepData, StepResult, StepName>(QUEUE_NAME, processor, {
    connection: options.connection,
    concurrency: options.concurrency,
    // steps run in child processes, so this event loop stays free to renew locks often
    lockDuration,
    stalledInterval: Math.max(1000, Math.round(lockDuration / 2)),
    maxStalledCount: 2,
  });
  worker.on('error', (error) => options.logger.warn({ err: { name: error.name } }, 'queue connection error'));
  // the server removes a job's input when the job ends, cancelled included: a step of an ended
  // job is aborted through BullMQ (the processor's AbortSignal), which kills its step process
  const cancelWatch = setInterval(() => {
    for (const [stepId, jobId] of running) {
      if (!existsSync(layout.jobInput(jobId))) worker.cancelJob(stepId, 'the job ended');
    }
  }, CANCEL_POLL_MS);
  await worker.waitUntilReady();
  options.logger.info({ concurrency: options.concurrency, threads: options.threads }, 'worker ready');

  return {
    get finished() {
      return finished;
    },
    async close() {
      closing = true;
      clearInterval(cancelWatch);
      // steps in hand stay active in Redis: after their lock lapses another worker runs them again
      await worker.close(true);
      for (const child of children) child.kill('SIGKILL');
      await flows.close();
    },
  };
}

type StepOutcome = Extract<StepMessage, { type: 'done' | 'failed' }> | { type: 'cancelled' };

/**
 * Forks the step process, sends the step, and resolves with its outcome (a crash or a timeout
 * is a failure; an abort kills the process and is `cancelled`).
 */
function runInChild(spec: StepSpec, onProgress: (fraction: number) => void, timeoutMs: number, children: Set<ChildProcess>, abortSignal?: AbortSignal): Promise<StepOutcome> {
  return new Promise((resolve) => {
    const entry = stepEntry();
    const child = fork(entry.file, ['--veil-step-worker'], {
      execArgv: entry.execArgv,
      // structured clone: the parsed policy arrives exactly as parsed (undefined fields too)
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', process.env.VEIL_DEBUG ? 'inherit' : 'ignore', 'ipc'],
      env: process.env,
    });
    children.add(child);
    let outcome: StepOutcome | undefined;
    const abort = (): void => {
      outcome ??= { type: 'cancelled' };
      child.kill('SIGKILL');
    };
    if (abortSignal?.aborted) abort();
    else abortSignal?.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(() => {
      outcome ??= { type: 'failed', error: { code: 'JOB_TIMEOUT', message: `a step of the job ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped` } };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (raw: unknown) => {
      const message = asStepMessage(raw);
      if (!message || outcome) return;
      if (message.type === 'progress') onProgress(message.fraction);
      else outcome = message;
    });
    child.once('error', () => {
      outcome ??= { type: 'failed', error: { code: 'WORKER_CRASHED', message: 'the step process could not be started' } };
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      abortSignal?.removeEventListener('abort', abort);
      children.delete(child);
      resolve(outcome ?? { type: 'failed', error: { code: 'WORKER_CRASHED', message: `the step process stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${String(code)}`})` } });
    });
    child.send({ type: 'run', spec });
  });
}

function asStepMessage(raw: unknown): StepMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.type === 'progress' && typeof m.fraction === 'number') return { type: 'progress', fraction: m.fraction };
  if (m.type === 'done' && typeof m.result === 'object' && m.result !== null) return { type: 'done', result: m.result as StepResult };
  if (m.type === 'failed' && typeof m.error === 'object' && m.error !== null) {
    const e = m.error as Record<string, unknown>;
    const error: JobError = { code: typeof e.code === 'string' ? e.code : 'INTERNAL', message: typeof e.message === 'string' ? e.message : 'the step failed' };
    if (typeof e.field === 'string') error.field = e.field;
    return { type: 'failed', error };
  }
  return undefined;
}

/** The step process as compiled JS (dist) or, from sources, as TS through tsx. */
function stepEntry(): { file: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = createRequire(here).resolve('tsx');
    return { file: fileURLToPath(new URL('./stepProcess.ts', here)), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { file: fileURLToPath(new URL('./stepProcess.js', here)), execArgv: [] };
}
