import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VeilError, type ErrorCode, type ErrorLocation } from '../errors.js';
import type { FileResult, FileSettings, FileTask } from './file.js';

/**
 * Worker threads for DICOM runs, opened once and lent to any number of runs (`veil dicom
 * listen` de-identifies study after study: starting a pool per study cost more than a small
 * study). Open with `openDicomWorkers`, pass as `workers` to `deidentifyDicomDirectory`, close
 * when done. Idle workers do not keep the process alive.
 */
export interface DicomWorkers {
  /** Threads that process files: the worker threads, plus this one when it takes a share. */
  readonly jobs: number;
  /** Waits for the batches in flight, closes each worker's pixel cleaners and stops the threads. */
  close(): Promise<void>;
}

/** Module and export that build a pixel cleaner inside a worker (functions cannot cross threads). */
export interface CleanerModule {
  url: string;
  exportName: string;
}

/** Messages to a worker, answered in order (one batch at a time per worker). */
export type ToWorker =
  | { kind: 'run'; run: number; settings: FileSettings; cleaner?: CleanerModule }
  | { kind: 'batch'; id: number; run: number; tasks: FileTask[] }
  | { kind: 'end'; run: number }
  | { kind: 'close' };

/** A VeilError crosses threads as its parts (its message names no data value); anything else by name only. */
export interface WorkerFailure {
  name: string;
  code?: ErrorCode;
  message?: string;
  location?: ErrorLocation;
}

export type FromWorker = { kind: 'done'; id: number; results: FileResult[] } | { kind: 'failed'; id: number; failure: WorkerFailure } | { kind: 'closed' };

/** One run's view of the pool: its batches share the workers with other runs'. */
export interface PoolRun {
  run(batch: FileTask[]): Promise<FileResult[]>;
  /** Forgets the run's settings in every worker (the batches already sent still finish). */
  end(): void;
}

interface Job {
  id: number;
  run: number;
  tasks: FileTask[];
  resolve: (results: FileResult[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Job>;
  /** Runs whose settings this worker holds. */
  runs: Set<number>;
  closed?: () => void;
  /** The thread stopped; a new one replaces it when there is work for it. */
  dead?: boolean;
}

/**
 * Batches per worker sent ahead: the worker starts the next batch while the main thread
 * handles the previous one's results, and a batch never waits behind more than one other.
 */
const AHEAD_PER_WORKER = 2;

/**
 * This thread as one more lane of the pool (`thisThread`): it processes batches of runs without
 * a pixel cleaner module between its other work, one batch at a time. A process that does
 * nothing else while a run goes on (the CLI) then starts one worker thread fewer: the thread
 * itself costs ≈ 0.15 CPU s to start and load its modules, which this thread has loaded already,
 * and half the results no longer cross threads. One lane per thread, whatever the number of
 * pools: batches here read each file into one reused buffer (src/dicom/file.ts).
 */
let localBusy = false;
const localWaiting: (() => void)[] = [];

function workerEntry(): { entry: string | URL; eval: boolean } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { entry: new URL('./worker.js', self), eval: false };
  // from TypeScript sources (tests, tsx): Node 20 worker threads load TypeScript only through
  // tsx's require hook, so a tiny CommonJS bootstrap registers it and requires the worker
  const path = fileURLToPath(new URL('./worker.ts', self));
  return { entry: `const r = require('node:module').createRequire(${JSON.stringify(path)}); r('tsx/cjs'); r(${JSON.stringify(path)});`, eval: true };
}

export function failureOf(error: unknown): WorkerFailure {
  if (error instanceof VeilError) return { name: error.name, code: error.code, message: error.message, location: error.location };
  return { name: error instanceof Error ? error.name : 'error' };
}

function errorOf(failure: WorkerFailure): Error {
  if (failure.code) return new VeilError(failure.code, failure.message ?? '', failure.location);
  const error = new Error(`a DICOM worker failed (${failure.name})`);
  error.name = failure.name;
  return error;
}

export class DicomWorkerPool implements DicomWorkers {
  readonly jobs: number;
  /** Whether this thread takes batches too (see `localBusy`). */
  private readonly thisThread: boolean;
  /** Batches this thread holds (at most one at a time). */
  private localInFlight = 0;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly settings = new Map<number, { settings: FileSettings; cleaner?: CleanerModule }>();
  private nextJob = 0;
  private nextRun = 0;
  private closing: Promise<void> | undefined;

  /** `jobs` threads process files: `jobs` worker threads, or this thread and `jobs` − 1 workers with `thisThread`. */
  constructor(jobs: number, thisThread = false) {
    this.jobs = jobs;
    this.thisThread = thisThread;
    for (let i = thisThread ? 1 : 0; i < jobs; i++) this.slots.push(this.spawn());
  }

  /** Registers a run's settings (sent to each worker before its first batch of the run). */
  openRun(settings: FileSettings, cleaner: CleanerModule | undefined): PoolRun {
    if (this.closing) throw new VeilError('USAGE', 'the DICOM worker pool is closed', { field: 'workers' });
    const run = this.nextRun++;
    this.settings.set(run, { settings, cleaner });
    return {
      run: (tasks) =>
        new Promise<FileResult[]>((resolve, reject) => {
          this.outstanding++;
          this.queue.push({ id: this.nextJob++, run, tasks, resolve, reject });
          this.pump();
        }),
      end: () => {
        this.settings.delete(run);
        for (const slot of this.slots) {
          if (slot.runs.delete(run)) this.post(slot, { kind: 'end', run });
        }
      },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // the batches already queued or in flight finish first (their runs await them)
    if (this.outstanding > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.dead) return;
        slot.worker.ref();
        const closed = new Promise<void>((resolve) => {
          slot.closed = resolve;
          slot.worker.once('exit', () => resolve());
        });
        this.post(slot, { kind: 'close' });
        await closed;
        await slot.worker.terminate();
      }),
    );
  }

  /** Batches queued or in flight, and who waits for none to be left. */
  private outstanding = 0;
  private readonly drained: (() => void)[] = [];

  private settle(): void {
    this.outstanding--;
    if (this.outstanding === 0) for (const resolve of this.drained.splice(0)) resolve();
  }

  private spawn(): Slot {
    const { entry, eval: isEval } = workerEntry();
    const worker = new Worker(entry, { eval: isEval });
    worker.unref();
    const slot: Slot = { worker, inFlight: new Map(), runs: new Set() };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    // an uncaught error ends the thread: 'exit' follows and fails what it held
    worker.on('error', () => undefined);
    worker.on('exit', () => this.onExit(slot));
    return slot;
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.kind === 'closed') {
      slot.closed?.();
      return;
    }
    const job = slot.inFlight.get(message.id);
    if (!job) return;
    slot.inFlight.delete(message.id);
    if (slot.inFlight.size === 0) slot.worker.unref();
    if (message.kind === 'done') job.resolve(message.results);
    else job.reject(errorOf(message.failure));
    this.settle();
    this.pump();
  }

  /** A worker that died (a crash, out of memory) fails the batches it held and is replaced. */
  private onExit(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    for (const job of slot.inFlight.values()) {
      job.reject(new Error('a DICOM worker thread stopped'));
      this.settle();
    }
    slot.inFlight.clear();
    slot.runs.clear();
    slot.dead = true;
    this.pump();
  }

  private post(slot: Slot, message: ToWorker): void {
    slot.worker.postMessage(message);
  }

  /**
   * Sends queued batches to the least busy workers, each at most AHEAD_PER_WORKER ahead; with
   * `thisThread`, a batch the workers have no room for is processed here (the workers are fed
   * first: while this thread processes a batch it sends nothing).
   */
  private pump(): void {
    while (this.queue.length > 0) {
      const run = this.settings.get(this.queue[0].run);
      if (!run) {
        (this.queue.shift() as Job).reject(new Error('the run of this batch has ended'));
        this.settle();
        continue;
      }
      // a run with a pixel cleaner module (seconds per file, the models loaded per thread) runs on
      // worker threads only, `jobs` of them: with `thisThread` the missing one starts now
      if (run.cleaner) while (this.slots.length < this.jobs) this.slots.push(this.spawn());
      let best: Slot | undefined;
      for (const [i, slot] of this.slots.entries()) {
        if (slot.closed || slot.inFlight.size >= AHEAD_PER_WORKER) continue;
        // replaced only now: a thread that cannot start fails the batches sent to it, never loops
        if (slot.dead) this.slots[i] = this.spawn();
        const live = this.slots[i];
        if (!best || live.inFlight.size < best.inFlight.size) best = live;
      }
      const local = !best && this.thisThread && this.localInFlight === 0 && !run.cleaner;
      if (!best && !local) return;
      const job = this.queue.shift() as Job;
      if (!best) {
        this.runHere(job, run.settings);
        continue;
      }
      if (!best.runs.has(job.run)) {
        this.post(best, { kind: 'run', run: job.run, settings: run.settings, cleaner: run.cleaner });
        best.runs.add(job.run);
      }
      if (best.inFlight.size === 0) best.worker.ref();
      best.inFlight.set(job.id, job);
      this.post(best, { kind: 'batch', id: job.id, run: job.run, tasks: job.tasks });
    }
  }

  /**
   * Processes a batch in this thread, after the current turn of the event loop (so that the
   * caller dispatches its other batches first) and after any other pool's batch here.
   */
  private runHere(job: Job, settings: FileSettings): void {
    this.localInFlight++;
    const start = async (): Promise<void> => {
      while (localBusy) await new Promise<void>((resolve) => localWaiting.push(resolve));
      localBusy = true;
      try {
        // loaded on first use: opening a pool loads nothing heavy, so its threads start at once
        const { processBatch } = await import('./file.js');
        job.resolve(await processBatch(job.tasks, settings));
      } catch (error) {
        job.reject(error instanceof Error ? error : new Error('a DICOM batch failed in this thread'));
      } finally {
        localBusy = false;
        localWaiting.shift()?.();
        this.localInFlight--;
        this.settle();
        this.pump();
      }
    };
    setImmediate(() => void start());
  }
}

/**
 * Opens `jobs` DICOM worker threads (default: every core) for one or more runs. The caller
 * closes them (`close()`); a run given the pool never closes it. With `thisThread`, this
 * thread is one of the `jobs` (`jobs` − 1 worker threads), for a process that does nothing
 * else during its runs, such as the CLI; a server keeps its thread free and leaves it out. A
 * run with a pixel cleaner module still gets `jobs` worker threads (the last one started on
 * its first batch).
 */
export async function openDicomWorkers(options: { jobs?: number; thisThread?: boolean } = {}): Promise<DicomWorkers> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? availableParallelism()));
  return new DicomWorkerPool(jobs, options.thisThread === true);
}
