import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PrivacySpec } from '../policy/sections/tabular.js';
import { appendAudit } from './audit.js';
import type { Db } from './db.js';
import { DISK_FULL_FAILURE, isDiskFull } from './disk.js';
import { getJob, jobsWithStatus, markDone, markFailed, markRunning, requeue, setProgress, setSourcePulled, type JobError, type JobRecord } from './jobStore.js';
import { OUTPUT_FILES, type DataLayout } from './layout.js';
import type { Logger } from './logger.js';
import { getPolicyVersionById, policyRef } from './policyStore.js';
import { policyForChild } from './runnerPolicy.js';
import type { WorkerMessage, WorkerSpec } from './worker.js';

export interface RunnerOptions {
  /** Jobs running at once (each in its own process). */
  concurrency: number;
  /** A job still running after this long is killed and marked failed. */
  jobTimeoutMs: number;
  /** Runs per job, counting re-runs after a server crash. */
  maxAttempts: number;
  /** Largest CSV cell of a tabular job, in bytes (default: the library's 1 MiB). */
  maxCellBytes?: number;
  /**
   * The compiled job process to fork (a worker.js) instead of the one beside this module. Tests
   * that run the server from the TS sources pass dist/api/worker.js, so that each job process
   * starts without tsx (≈ 0.5–0.8 s less CPU per job).
   */
  workerFile?: string;
}

interface ActiveJob {
  child: ChildProcess;
  outcome?: { type: 'done' } | { type: 'failed'; error: JobError } | { type: 'cancelled' };
  timer: NodeJS.Timeout;
  lastProgressWrite: number;
}

const SYSTEM_ACTOR = { actor: 'veil', role: 'system' };

/**
 * Runs queued jobs in child processes, at most `concurrency` at a time. The database is the
 * queue: a job is `queued` until a slot takes it, `running` while its process lives, then
 * `done` (outputs moved into out/ first) or `failed` (with a reason). On start, `recover()`
 * re-queues jobs a crash left `running`, or fails them once they ran `maxAttempts` times.
 */
export class JobRunner {
  private readonly active = new Map<string, ActiveJob>();
  /** Jobs taken from the queue whose process is not up yet (they hold a slot too). */
  private readonly starting = new Set<string>();
  /** Starts and finishes in flight; close() waits for them before the database closes. */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly layout: DataLayout,
    private readonly logger: Logger,
    private readonly options: RunnerOptions,
  ) {}

  /** Call once at start, before serving. */
  recover(): void {
    // a server stopped between recording a cancel and removing the job's files
    for (const job of jobsWithStatus(this.db, 'cancelled')) {
      if (existsSync(this.layout.jobInput(job.id)) || existsSync(this.layout.jobWork(job.id)) || existsSync(this.layout.jobOut(job.id))) this.track(this.removeJobFiles(job.id));
    }
    for (const job of jobsWithStatus(this.db, 'running')) {
      const policy = getPolicyVersionById(this.db, job.policyVersionId);
      const ref = policy ? policyRef(policy) : null;
      if (job.attempts >= this.options.maxAttempts || !existsSync(this.layout.jobInput(job.id))) {
        const error = { code: 'INTERRUPTED', message: `the server stopped while this job ran (${job.attempts} attempt(s)); it was not run again` };
        this.db.transaction(() => {
          if (markFailed(this.db, job.id, error)) appendAudit(this.db, { ...SYSTEM_ACTOR, action: 'job.failed', target: `job:${job.id}`, policy: ref });
        }).immediate();
        rmSync(this.layout.jobWork(job.id), { recursive: true, force: true });
        rmSync(this.layout.jobInput(job.id), { recursive: true, force: true });
        this.logger.warn({ jobId: job.id, code: error.code }, 'job failed after restart');
      } else {
        this.db.transaction(() => {
          requeue(this.db, job.id);
          appendAudit(this.db, { ...SYSTEM_ACTOR, action: 'job.requeued', target: `job:${job.id}`, policy: ref });
        }).immediate();
        this.logger.warn({ jobId: job.id, attempts: job.attempts }, 'job re-queued after restart');
      }
    }
  }

  /** Starts queued jobs while slots are free. */
  kick(): void {
    if (this.closed) return;
    const busy = (): number => this.active.size + this.starting.size;
    if (busy() >= this.options.concurrency) return;
    for (const job of jobsWithStatus(this.db, 'queued')) {
      if (busy() >= this.options.concurrency) break;
      if (this.active.has(job.id) || this.starting.has(job.id)) continue;
      if (!markRunning(this.db, job.id)) continue;
      this.starting.add(job.id);
      this.track(
        this.start(job)
          .catch((error: unknown) => {
            this.logger.error({ jobId: job.id, err: { name: error instanceof Error ? error.name : 'unknown' } }, 'job start failed');
            markFailed(this.db, job.id, isDiskFull(error) ? DISK_FULL_FAILURE : { code: 'INTERNAL', message: 'the job could not be started' });
          })
          .finally(() => this.starting.delete(job.id)),
      );
    }
  }

  get running(): number {
    return this.active.size + this.starting.size;
  }

  /**
   * Stops a job the API has just recorded `cancelled`: its process is killed if it runs, and
   * its input and any partial output are removed. A queued job is never started (kick takes
   * only `queued` jobs); one whose process is still starting is stopped before it forks.
   */
  async cancel(jobId: string): Promise<void> {
    const active = this.active.get(jobId);
    if (active) {
      // finish() sees the outcome, removes the partial work and records nothing
      active.outcome = { type: 'cancelled' };
      active.child.kill('SIGKILL');
      return;
    }
    if (this.starting.has(jobId)) return; // start() checks the status before it forks
    await this.removeJobFiles(jobId);
  }

  private async removeJobFiles(jobId: string): Promise<void> {
    await rm(this.layout.jobWork(jobId), { recursive: true, force: true });
    await rm(this.layout.jobOut(jobId), { recursive: true, force: true });
    await rm(this.layout.jobInput(jobId), { recursive: true, force: true });
  }

  /**
   * Stops accepting work and stops running job processes. An orderly stop is not the job's
   * fault: its jobs go back to the queue without using up an attempt.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.inFlight]);
    const exits = [...this.active.entries()].map(
      ([jobId, { child, timer }]) =>
        new Promise<void>((resolve) => {
          clearTimeout(timer);
          const done = () => {
            requeue(this.db, jobId, { refundAttempt: true });
            resolve();
          };
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', done);
          child.kill('SIGKILL');
        }),
    );
    await Promise.all(exits);
    await Promise.all([...this.inFlight]);
    this.active.clear();
  }

  private track(task: Promise<void>): void {
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async start(job: JobRecord): Promise<void> {
    const policy = getPolicyVersionById(this.db, job.policyVersionId);
    if (!policy) throw new Error('policy version missing');
    const workDir = this.layout.jobWork(job.id);
    // a previous attempt may have left partial work (or an out/ the crash never recorded)
    await rm(workDir, { recursive: true, force: true });
    await rm(this.layout.jobOut(job.id), { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const policyFile = this.layout.policyText(policy.dir);
    const policyDir = this.layout.policyHierarchies(policy.dir, policy.storage);
    // parsed here once per policy version, so that the job process need not load the parser
    const parsedPolicy = await policyForChild({ policyFile, policyDir, policySha256: policy.sha256 });
    if (this.closed) {
      requeue(this.db, job.id, { refundAttempt: true });
      return;
    }
    // cancelled while its folders were prepared: never fork (nothing async from here to the fork)
    if (getJob(this.db, job.id)?.status === 'cancelled') {
      await this.removeJobFiles(job.id);
      return;
    }
    const inputDir = this.layout.jobInput(job.id);
    const spec: WorkerSpec = {
      jobId: job.id,
      kind: job.kind,
      policyFile,
      policyDir,
      policyVersion: policy.version,
      policySha256: policy.sha256,
      hierarchies: policy.hierarchies,
      privacy: (job.overrides ?? undefined) as PrivacySpec | undefined,
      input: job.kind === 'tabular' ? join(inputDir, 'input.csv') : inputDir,
      workDir,
      maxCellBytes: this.options.maxCellBytes,
      parsedPolicy,
    };
    const entry = this.options.workerFile ? { file: this.options.workerFile, execArgv: [] } : workerEntry();
    const child = fork(entry.file, ['--veil-job-worker'], {
      execArgv: entry.execArgv,
      // structured clone: the parsed policy arrives exactly as parsed (undefined fields too)
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', process.env.VEIL_DEBUG ? 'inherit' : 'ignore', 'ipc'],
      env: process.env,
    });
    const active: ActiveJob = {
      child,
      timer: setTimeout(() => {
        active.outcome = { type: 'failed', error: { code: 'JOB_TIMEOUT', message: `the job ran longer than ${Math.round(this.options.jobTimeoutMs / 1000)} s and was stopped` } };
        child.kill('SIGKILL');
      }, this.options.jobTimeoutMs),
      lastProgressWrite: 0,
    };
    this.active.set(job.id, active);
    this.logger.info({ jobId: job.id, kind: job.kind, attempt: job.attempts + 1 }, 'job started');
    child.on('message', (message: unknown) => this.onMessage(job.id, active, message));
    child.once('exit', (code, signal) => {
      clearTimeout(active.timer);
      if (this.closed) return;
      this.track(
        this.finish(job.id, active, code, signal)
          .catch((error: unknown) => {
            this.logger.error({ jobId: job.id, err: { name: error instanceof Error ? error.name : 'unknown' } }, 'job finish failed');
          })
          .finally(() => {
            this.active.delete(job.id);
            this.kick();
          }),
      );
    });
    child.once('error', () => {
      active.outcome ??= { type: 'failed', error: { code: 'WORKER_CRASHED', message: 'the job process could not be started' } };
    });
    child.send({ type: 'run', spec });
  }

  private onMessage(jobId: string, active: ActiveJob, raw: unknown): void {
    const message = asWorkerMessage(raw);
    if (!message || active.outcome) return;
    if (message.type === 'progress') {
      const now = Date.now();
      if (now - active.lastProgressWrite >= 250 || message.fraction >= 1) {
        active.lastProgressWrite = now;
        setProgress(this.db, jobId, Math.min(0.999, message.fraction));
      }
      return;
    }
    if (message.type === 'source') {
      setSourcePulled(this.db, jobId, message);
      return;
    }
    active.outcome = message;
  }

  private async finish(jobId: string, active: ActiveJob, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const job = getJob(this.db, jobId);
    if (!job) return;
    const policy = getPolicyVersionById(this.db, job.policyVersionId);
    const ref = policy ? policyRef(policy) : null;
    let outcome = active.outcome;
    if (outcome?.type === 'cancelled' || job.status === 'cancelled') {
      await this.removeJobFiles(jobId);
      this.logger.info({ jobId, kind: job.kind }, 'job cancelled');
      return;
    }
    if (!outcome) {
      outcome = { type: 'failed', error: { code: 'WORKER_CRASHED', message: `the job process stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${String(code)}`})` } };
    }
    const workDir = this.layout.jobWork(jobId);
    if (outcome.type === 'done') {
      try {
        const resultName = job.kind === 'tabular' ? OUTPUT_FILES.tabularResult : OUTPUT_FILES.archiveResult;
        if (!existsSync(join(workDir, resultName))) throw new Error('result missing');
        const reportText = await readFile(join(workDir, OUTPUT_FILES.reportJson), 'utf8');
        JSON.parse(reportText);
        const hasHtml = existsSync(join(workDir, OUTPUT_FILES.reportHtml));
        // the whole output directory appears at once; only then does the job become done
        await rename(workDir, this.layout.jobOut(jobId));
        const recorded = this.db.transaction(() => {
          if (!markDone(this.db, jobId, reportText, hasHtml)) return false;
          appendAudit(this.db, { ...SYSTEM_ACTOR, action: 'job.done', target: `job:${jobId}`, policy: ref });
          return true;
        }).immediate();
        if (!recorded) {
          // cancelled while its outputs were moved into place
          await this.removeJobFiles(jobId);
          return;
        }
        await rm(this.layout.jobInput(jobId), { recursive: true, force: true });
        this.logger.info({ jobId, kind: job.kind }, 'job done');
        return;
      } catch (error) {
        outcome = { type: 'failed', error: isDiskFull(error) ? DISK_FULL_FAILURE : { code: 'INTERNAL', message: 'the job finished without complete outputs' } };
      }
    }
    await rm(workDir, { recursive: true, force: true });
    const error = outcome.error;
    // the bytes on disk were not the approved ones: an auditor must see this apart from ordinary failures
    const action = error.code === 'POLICY_TAMPERED' ? 'job.policy_mismatch' : 'job.failed';
    this.db.transaction(() => {
      if (markFailed(this.db, jobId, error)) appendAudit(this.db, { ...SYSTEM_ACTOR, action, target: `job:${jobId}`, policy: ref });
    }).immediate();
    await rm(this.layout.jobInput(jobId), { recursive: true, force: true });
    this.logger.info({ jobId, kind: job.kind, code: outcome.error.code }, 'job failed');
  }
}

function asWorkerMessage(raw: unknown): WorkerMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.type === 'progress' && typeof m.fraction === 'number') return { type: 'progress', fraction: m.fraction };
  if (m.type === 'source' && typeof m.studies === 'number' && typeof m.instances === 'number') return { type: 'source', studies: m.studies, instances: m.instances };
  if (m.type === 'done') return { type: 'done' };
  if (m.type === 'failed' && typeof m.error === 'object' && m.error !== null) {
    const e = m.error as Record<string, unknown>;
    const error: JobError = { code: typeof e.code === 'string' ? e.code : 'INTERNAL', message: typeof e.message === 'string' ? e.message : 'the job failed' };
    if (typeof e.field === 'string') error.field = e.field;
    return { type: 'failed', error };
  }
  return undefined;
}

/** The worker as compiled JS (dist) or, when running from sources, as TS through tsx. */
function workerEntry(): { file: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = createRequire(here).resolve('tsx');
    return { file: fileURLToPath(new URL('./worker.ts', here)), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { file: fileURLToPath(new URL('./worker.js', here)), execArgv: [] };
}
