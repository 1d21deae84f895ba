/**
 * Child-process entry of one queued step, the queue's counterpart of src/api/worker.ts (whose
 * job code it runs): the worker forks this file per step, sends one `run` message and waits
 * for `done` (with the step's result) or `failed`; progress flows back as `progress`. The
 * child dies with its worker (IPC disconnect).
 */
import type { JobError } from '../jobStore.js';
import { describeFailure } from '../worker.js';
import { runStep, workerSpecOf, type StepSpec } from './runStep.js';
import { dataLayout } from '../layout.js';
import { isStepData, isStepName, type StepResult } from './steps.js';

export type StepMessage = { type: 'progress'; fraction: number } | { type: 'done'; result: StepResult } | { type: 'failed'; error: JobError };

function send(message: StepMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function isStepSpec(value: unknown): value is StepSpec {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isStepName(v.name) && isStepData(v.data) && typeof v.dataDir === 'string' && typeof v.threads === 'number';
}

/** Progress at most every 200 ms (and always the end). */
function progressSender(): (fraction: number) => void {
  let lastSent = 0;
  return (fraction) => {
    const now = Date.now();
    if (!Number.isFinite(fraction) || (now - lastSent < 200 && fraction < 1)) return;
    lastSent = now;
    void send({ type: 'progress', fraction: Math.min(1, Math.max(0, fraction)) });
  };
}

function main(): void {
  process.on('disconnect', () => process.exit(1));
  process.once('message', (message: unknown) => {
    const spec = typeof message === 'object' && message !== null ? (message as { spec?: unknown }).spec : undefined;
    if (!isStepSpec(spec)) {
      void send({ type: 'failed', error: { code: 'INTERNAL', message: 'the step process received no valid step' } }).then(() => process.exit(1));
      return;
    }
    const where = workerSpecOf(spec, dataLayout(spec.dataDir));
    process.once('uncaughtException', (error: unknown) => {
      void send({ type: 'failed', error: describeFailure(error, where) }).then(() => process.exit(1));
    });
    runStep(spec, progressSender()).then(
      (result) => send({ type: 'done', result }).then(() => process.exit(0)),
      (error: unknown) => {
        if (process.env.VEIL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? error.message}\n`);
        return send({ type: 'failed', error: describeFailure(error, where) }).then(() => process.exit(0));
      },
    );
  });
}

if (process.send && process.argv.includes('--veil-step-worker')) main();
