import { parentPort, workerData } from 'node:worker_threads';
import { isVeilError } from '../../errors.js';
import { anonymizePartition, type PartitionOptions } from './partition.js';

/**
 * A worker thread of anonymizeCsvDistributed: runs anonymizePartition for each index it is
 * sent and answers with the outcome, or with the error (code, message and location only).
 */
export interface PartitionWorkerInit {
  workDir: string;
  policy: PartitionOptions['policy'];
  policyDir?: string;
  secret?: Uint8Array;
  maxCellBytes?: number;
}

export type PartitionWorkerReply =
  | { index: number; outcome: Awaited<ReturnType<typeof anonymizePartition>> }
  | { index: number; error: { code?: string; message: string; location?: object } };

const init = workerData as PartitionWorkerInit;
const port = parentPort;
if (port) {
  port.on('message', (index: number) => {
    anonymizePartition({ ...init, secret: init.secret ? Buffer.from(init.secret) : undefined, index }).then(
      (outcome) => port.postMessage({ index, outcome } satisfies PartitionWorkerReply),
      (error: unknown) => {
        const reply: PartitionWorkerReply = isVeilError(error)
          ? { index, error: { code: error.code, message: error.message, location: error.location } }
          : { index, error: { message: error instanceof Error ? error.message : String(error) } };
        port.postMessage(reply);
      },
    );
  });
}
