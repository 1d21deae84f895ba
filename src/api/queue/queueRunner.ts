import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { PrivacySpec } from '../../policy/sections/tabular.js';
import { appendAudit } from '../audit.js';
import type { Db } from '../db.js';
import { DISK_FULL_FAILURE, isDiskFull } from '../disk.js';
import { getJob, isFinished, jobsWithStatus, markDone, markFailed, markRunning, setProgress, type JobError, type JobRecord } from '../jobStore.js';
import { OUTPUT_FILES, type DataLayout } from '../layout.js';
import type { Logger } from '../logger.js';
import { getPolicyVersionById, policyRef } from '../policyStore.js';
import { QUEUE_NAME, type QueueConnection } from './connection.js';
import { stepJobOptions } from './queueWorker.js';
import { decodeFailure, firstStep, PARENT_STEPS, stepJobId, stepsDir, TERMINAL_STEPS, veilJobIdOf, type StepData, type StepProgress, type StepResult } from './steps.js';

export interface QueueRunnerOptions {
  connection: QueueConnection;
  /** A job running longer than this (all its steps together) is failed with JOB_TIMEOUT. */
  jobTimeoutMs: number;
  /** Runs of one step, counting re-runs after a worker crashed. */
  maxAttempts: number;
  maxCellBytes?: number;
  /** Files per DICOM chunk (default 500). */
  chunkFiles?: number;
  /** Tabular jobs with more rows than this are split (default 1,000,000). */
  distributedRows?: number;
  /** How often the server compares the jobs table with the queue (a missed event is caught here). */
  reconcileMs?: number;
}

const SYSTEM_ACTOR = { actor: 'veil', role: 'system' };

/**
 * The server's side of `veil serve --queue`: the same surface as JobRunner (recover, kick,
 * close), but a job's steps go to BullMQ and `veil worker` processes run them. SQLite stays
 * the record: a job's status and progress are mirrored from the queue's events, and only
 * this process writes them, so one job gets exactly one `job.done` or `job.failed` entry in
 * the audit log however many times BullMQ ran its steps.
 */
export class QueueRunner {
  private readonly queue: Queue<StepData, StepResult>;
  private readonly events: QueueEvents;
  /** Jobs whose first step this server added (Redis dedups by id anyway). */
  private readonly enqueued = new Set<string>();
  /** Per job: progress of each step (weight × fraction). */
  private readonly progress = new Map<string, Map<string, number>>();
  private readonly ending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly layout: DataLayout,
    private readonly logger: Logger,
    private readonly options: QueueRunnerOptions,
  ) {
    this.queue = new Queue<StepData, StepResult>(QUEUE_NAME, { connection: options.connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection: options.connection });
  }

  /** Connects to Redis (a clear error when it is not there) and starts following the queue. */
  static async open(db: Db, layout: DataLayout, logger: Logger, options: QueueRunnerOptions): Promise<QueueRunner> {
    const runner = new QueueRunner(db, layout, logger, options);
    runner.queue.on('error', (error) => logger.warn({ err: { name: error.name } }, 'queue connection error'));
    runner.events.on('error', (error) => logger.warn({ err: { name: error.name } }, 'queue events connection error'));
    try {
      await Promise.race([
        Promise.all([runner.queue.waitUntilReady(), runner.events.waitUntilReady()]),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10_000)),
      ]);
    } catch {
      await runner.disconnect();
      const { VeilError } = await import('../../errors.js');
      throw new VeilError('USAGE', `cannot reach the queue's Redis at ${options.connection.host}:${options.connection.port}`, { field: '--queue' });
    }
    runner.events.on('active', ({ jobId }) => runner.onActive(jobId));
    runner.events.on('progress', ({ jobId, data }) => runner.onProgress(jobId, data));
    runner.events.on('completed', ({ jobId, returnvalue }) => runner.onCompleted(jobId, returnvalue));
    runner.events.on('failed', ({ jobId }) => runner.track(runner.onFailed(jobId)));
    return runner;
  }

  /** Call once at start: catches up with what the queue did while no server listened. */
  recover(): void {
    // a server stopped between recording a cancel and removing the job's files
    for (const job of jobsWithStatus(this.db, 'cancelled')) {
      if (existsSync(this.layout.jobInput(job.id)) || existsSync(stepsDir(this.layout, job.id)) || existsSync(this.layout.jobWork(job.id))) this.track(this.cancel(job.id));
    }
    this.track(this.reconcile());
    this.timer = setInterval(() => this.track(this.reconcile()), this.options.reconcileMs ?? 5000);
  }

  /** Adds the first step of every queued job not yet on the queue. */
  kick(): void {
    if (this.closed) return;
    for (const job of jobsWithStatus(this.db, 'queued')) {
      if (this.enqueued.has(job.id)) continue;
      this.enqueued.add(job.id);
      this.track(
        this.enqueue(job).catch((error: unknown) => {
          this.enqueued.delete(job.id);
          this.logger.error({ jobId: job.id, err: { name: error instanceof Error ? error.name : 'unknown' } }, 'job could not be queued');
        }),
      );
    }
  }

  /** One round trip to the queue's Redis, at most 2 s: whether it answered, and the round trip. */
  async health(): Promise<{ reachable: boolean; latencyMs: number | null }> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const client = await this.queue.getBackend().client;
      // a GET of a key nobody writes: one round trip (BullMQ's client interface has no PING)
      await Promise.race([client.get('veil:healthz'), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 2000)))]);
      return { reachable: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { reachable: false, latencyMs: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Jobs the queue is running for this server (for logs and health). */
  get running(): number {
    return jobsWithStatus(this.db, 'running').length;
  }

  /**
   * Stops a job the API has just recorded `cancelled`. Its input goes first: a worker running
   * one of its steps sees that within a second, aborts the step (BullMQ's cancelJob) and kills
   * the step's process; a step taken later skips. Then its steps still waiting in Redis are
   * removed (BullMQ leaves active ones alone: their workers stop them), and its partial outputs.
   */
  async cancel(jobId: string): Promise<void> {
    this.progress.delete(jobId);
    await rm(this.layout.jobInput(jobId), { recursive: true, force: true });
    await this.removeOutputs(jobId);
    const kind = getJob(this.db, jobId)?.kind;
    if (kind) this.track(this.removeWaitingSteps(jobId, kind));
  }

  private async removeWaitingSteps(jobId: string, kind: JobRecord['kind']): Promise<void> {
    for (const name of [firstStep(kind), ...PARENT_STEPS]) {
      const step = await this.queue.getJob(stepJobId(jobId, name));
      if (!step) continue;
      const state = await step.getState();
      if (state === 'waiting-children') await step.removeUnprocessedChildren();
      if (state === 'active' || state === 'completed' || state === 'failed') continue;
      // a parent whose children still run cannot be removed yet; it fails with them (failParentOnFailure) or skips
      await step.remove({ removeChildren: true }).catch(() => undefined);
    }
    this.logger.info({ jobId }, 'job cancelled: its waiting steps were removed from the queue');
  }

  private async removeOutputs(jobId: string): Promise<void> {
    await rm(stepsDir(this.layout, jobId), { recursive: true, force: true });
    await rm(this.layout.jobWork(jobId), { recursive: true, force: true });
    await rm(this.layout.jobOut(jobId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }

  private track(task: Promise<void>): void {
    const tracked = task
      .catch((error: unknown) => this.logger.error({ err: { name: error instanceof Error ? error.name : 'unknown' } }, 'queue bookkeeping failed'))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private stepData(job: JobRecord): StepData | undefined {
    const policy = getPolicyVersionById(this.db, job.policyVersionId);
    if (!policy) return undefined;
    return {
      jobId: job.id,
      kind: job.kind,
      policy: { dir: policy.dir, storage: policy.storage, version: policy.version, sha256: policy.sha256, hierarchies: policy.hierarchies },
      privacy: (job.overrides ?? undefined) as PrivacySpec | undefined,
      maxCellBytes: this.options.maxCellBytes,
      chunkFiles: this.options.chunkFiles ?? 500,
      distributedRows: this.options.distributedRows ?? 1_000_000,
      jobTimeoutMs: this.options.jobTimeoutMs,
      maxAttempts: this.options.maxAttempts,
      // a plan step that cuts the job in chunks stands for none of its progress (a small table's runs whole)
      weight: job.kind === 'tabular' ? 1 : 0,
    };
  }

  private async enqueue(job: JobRecord): Promise<void> {
    const data = this.stepData(job);
    if (!data) {
      await this.fail(job.id, { code: 'INTERNAL', message: 'the job could not be started' });
      return;
    }
    const step = firstStep(job.kind);
    await this.queue.add(step, data, { ...stepJobOptions(data), jobId: stepJobId(job.id, step) });
    this.logger.info({ jobId: job.id, kind: job.kind, step }, 'job queued on redis');
  }

  private onActive(stepId: string): void {
    const jobId = veilJobIdOf(stepId);
    if (!jobId || this.closed) return;
    // queued → running on the first step a worker takes (attempts count from here)
    if (markRunning(this.db, jobId)) this.logger.info({ jobId }, 'job started');
  }

  private onProgress(stepId: string, data: unknown): void {
    const jobId = veilJobIdOf(stepId);
    if (!jobId || this.closed || typeof data !== 'object' || data === null) return;
    const { weight, fraction } = data as Partial<StepProgress>;
    if (typeof weight !== 'number' || typeof fraction !== 'number') return;
    const steps = this.progress.get(jobId) ?? new Map<string, number>();
    steps.set(stepId, weight * Math.min(1, Math.max(0, fraction)));
    this.progress.set(jobId, steps);
    let sum = 0;
    for (const value of steps.values()) sum += value;
    setProgress(this.db, jobId, Math.min(0.999, sum));
  }

  private onCompleted(stepId: string, returnvalue: unknown): void {
    const jobId = veilJobIdOf(stepId);
    const result = parseResult(returnvalue);
    if (!jobId || this.closed || !result?.final) return;
    this.track(this.finishDone(jobId));
  }

  /** A step failed for good (no attempt left, or a failure no retry can mend): the job fails. */
  private async onFailed(stepId: string): Promise<void> {
    const jobId = veilJobIdOf(stepId);
    if (!jobId || this.closed) return;
    const step = await this.queue.getJob(stepId);
    if (!step || (await step.getState()) !== 'failed') return;
    await this.fail(jobId, failureOf(step.failedReason));
  }

  /** Compares running and queued jobs with the queue: finishes, fails or times out what the events missed. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    this.kick();
    for (const job of jobsWithStatus(this.db, 'running')) {
      if (this.closed) return;
      if (job.startedAt && Date.now() - Date.parse(job.startedAt) > this.options.jobTimeoutMs) {
        await this.fail(job.id, { code: 'JOB_TIMEOUT', message: `the job ran longer than ${Math.round(this.options.jobTimeoutMs / 1000)} s and was stopped` });
        continue;
      }
      let alive = false;
      for (const step of TERMINAL_STEPS) {
        const found = await this.queue.getJob(stepJobId(job.id, step));
        if (!found) continue;
        alive = true;
        const state = await found.getState();
        if (state === 'completed' && parseResult(found.returnvalue)?.final) await this.finishDone(job.id);
        else if (state === 'failed') await this.fail(job.id, failureOf(found.failedReason));
      }
      // Redis lost the job (flushed, or a server without persistence restarted): run it again
      if (!alive && !(await this.queue.getJob(stepJobId(job.id, firstStep(job.kind))))) {
        const data = this.stepData(job);
        if (data) await this.queue.add(firstStep(job.kind), data, { ...stepJobOptions(data), jobId: stepJobId(job.id, firstStep(job.kind)) });
      }
    }
  }

  /** Moves work/ to out/ and records the job done, once. */
  private async finishDone(jobId: string): Promise<void> {
    if (this.ending.has(jobId)) return;
    const job = getJob(this.db, jobId);
    if (!job || isFinished(job.status)) return;
    this.ending.add(jobId);
    try {
      const workDir = this.layout.jobWork(jobId);
      const outDir = this.layout.jobOut(jobId);
      const resultName = job.kind === 'tabular' ? OUTPUT_FILES.tabularResult : OUTPUT_FILES.archiveResult;
      try {
        // a server stopped between the rename and the record finds out/ complete
        if (!existsSync(join(outDir, resultName)) || existsSync(workDir)) {
          if (!existsSync(join(workDir, resultName))) throw new Error('result missing');
          await rm(outDir, { recursive: true, force: true });
          await rename(workDir, outDir);
        }
        const reportText = await readFile(join(outDir, OUTPUT_FILES.reportJson), 'utf8');
        JSON.parse(reportText);
        const hasHtml = existsSync(join(outDir, OUTPUT_FILES.reportHtml));
        const ref = this.policyRefOf(job);
        const recorded = this.db.transaction(() => {
          if (!markDone(this.db, jobId, reportText, hasHtml)) return false;
          appendAudit(this.db, { ...SYSTEM_ACTOR, action: 'job.done', target: `job:${jobId}`, policy: ref });
          return true;
        }).immediate();
        if (recorded) this.logger.info({ jobId, kind: job.kind }, 'job done');
        // cancelled while its outputs were moved into place: they go
        else if (getJob(this.db, jobId)?.status === 'cancelled') await this.removeOutputs(jobId);
      } catch (error) {
        this.ending.delete(jobId);
        await this.fail(jobId, isDiskFull(error) ? DISK_FULL_FAILURE : { code: 'INTERNAL', message: 'the job finished without complete outputs' });
        return;
      }
      await this.cleanUp(jobId, false);
    } finally {
      this.ending.delete(jobId);
      this.progress.delete(jobId);
    }
  }

  /** Records the job failed, once, and removes its input (the remaining steps then skip) and its partial work. */
  private async fail(jobId: string, error: JobError): Promise<void> {
    const job = getJob(this.db, jobId);
    if (!job || isFinished(job.status)) return;
    // the bytes on disk were not the approved ones: an auditor must see this apart from ordinary failures
    const action = error.code === 'POLICY_TAMPERED' ? 'job.policy_mismatch' : 'job.failed';
    const ref = this.policyRefOf(job);
    const recorded = this.db.transaction(() => {
      if (!markFailed(this.db, jobId, error)) return false;
      appendAudit(this.db, { ...SYSTEM_ACTOR, action, target: `job:${jobId}`, policy: ref });
      return true;
    }).immediate();
    this.progress.delete(jobId);
    if (!recorded) return;
    this.logger.info({ jobId, kind: job.kind, code: error.code }, 'job failed');
    await this.cleanUp(jobId, true);
  }

  private async cleanUp(jobId: string, failed: boolean): Promise<void> {
    await rm(this.layout.jobInput(jobId), { recursive: true, force: true });
    await rm(stepsDir(this.layout, jobId), { recursive: true, force: true });
    if (failed) await rm(this.layout.jobWork(jobId), { recursive: true, force: true });
  }

  private policyRefOf(job: JobRecord): ReturnType<typeof policyRef> | null {
    const policy = getPolicyVersionById(this.db, job.policyVersionId);
    return policy ? policyRef(policy) : null;
  }
}

function parseResult(value: unknown): StepResult | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as StepResult).final !== 'boolean') return undefined;
  return parsed as StepResult;
}

function failureOf(reason: string | undefined): JobError {
  return decodeFailure(reason) ?? { code: 'WORKER_CRASHED', message: 'a step of the job failed in its worker and was not run again' };
}
