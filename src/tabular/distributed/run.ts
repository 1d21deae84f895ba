import { Worker } from 'node:worker_threads';
import { VeilError, type ErrorCode, type ErrorLocation } from '../../errors.js';
import type { Policy } from '../../policy/load.js';
import type { TabularReport } from '../../report/tabularReport.js';
import type { PartitionOutcome } from './layout.js';
import { mergePartitions } from './merge.js';
import { anonymizePartition } from './partition.js';
import type { PartitionWorkerInit, PartitionWorkerReply } from './partitionWorker.js';
import { planPartitions } from './plan.js';

export interface DistributedCsvOptions {
  input: string;
  policy: Policy;
  policyDir?: string;
  /** The anonymized CSV. */
  out: string;
  reportJson?: string;
  maxPartitionRows: number;
  /** Where the plan, the partitions and their outputs go (it may be reused: every file is replaced). */
  workDir: string;
  secret?: Buffer;
  /** Partitions anonymized at once, each in a worker thread (default 1: in this thread). */
  concurrency?: number;
  maxCellBytes?: number;
}

/** The three steps of a distributed run in one process: plan, every partition, merge. */
export async function anonymizeCsvDistributed(options: DistributedCsvOptions): Promise<TabularReport> {
  const { policy, workDir, policyDir, secret, maxCellBytes } = options;
  const plan = await planPartitions({ input: options.input, policy, policyDir, maxPartitionRows: options.maxPartitionRows, workDir, maxCellBytes });
  const indices = plan.partitions.map((p) => p.index);
  const concurrency = Math.max(1, Math.min(Math.floor(options.concurrency ?? 1), indices.length));
  if (concurrency === 1) {
    for (const index of indices) await anonymizePartition({ workDir, index, policy, policyDir, secret, maxCellBytes });
  } else {
    await inWorkers(indices, concurrency, { workDir, policy, policyDir, secret, maxCellBytes });
  }
  return mergePartitions({ workDir, policy, policyDir, out: options.out, reportJson: options.reportJson, maxCellBytes });
}

/** Runs the partitions in `count` worker threads, each taking the next index when it is done. */
async function inWorkers(indices: number[], count: number, init: PartitionWorkerInit): Promise<PartitionOutcome[]> {
  const queue = [...indices];
  const outcomes: PartitionOutcome[] = [];
  const workers = Array.from({ length: count }, () => startWorker(init));
  try {
    await Promise.all(workers.map((worker) => drain(worker, queue, outcomes)));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return outcomes.sort((a, b) => a.index - b.index);
}

function drain(worker: Worker, queue: number[], outcomes: PartitionOutcome[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // A thread that stops without answering (out of memory, killed) fails the run.
    const exited = (code: number) => reject(new Error(`a partition worker thread stopped (exit code ${code})`));
    const next = () => {
      const index = queue.shift();
      if (index === undefined) {
        worker.off('error', reject);
        worker.off('exit', exited);
        resolve();
        return;
      }
      worker.postMessage(index);
    };
    worker.on('error', reject);
    worker.on('exit', exited);
    worker.on('message', (reply: PartitionWorkerReply) => {
      if ('error' in reply) {
        queue.length = 0;
        const { code, message, location } = reply.error;
        reject(code ? new VeilError(code as ErrorCode, message, location as ErrorLocation) : new Error(`partition ${reply.index}: ${message}`));
        return;
      }
      outcomes.push(reply.outcome);
      next();
    });
    next();
  });
}

/**
 * From compiled JS the worker is partitionWorker.js; from TS sources (tests, tsx) worker
 * threads do not inherit tsx's loader on Node 20, so a one-line bootstrap registers it first.
 */
function startWorker(init: PartitionWorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./partitionWorker.js', import.meta.url), { workerData: init });
  const href = new URL('./partitionWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
