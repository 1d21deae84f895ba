import { Worker } from 'node:worker_threads';
import type { PolicyResult } from './load.js';
import { POLICY_LIMITS } from './screen.js';

/** The longest a policy parse may take before it is refused, and the parse threads at once. */
// one parse at a time: the main thread keeps a core of a small machine
export const OFF_THREAD_LIMITS = { timeoutMs: 10_000, concurrent: 1, heapMb: 256 } as const;

let running = 0;
const waiting: (() => void)[] = [];

/**
 * parsePolicy in a worker thread, for servers: the limits of screenPolicyText bound a parse,
 * yet a 256 KiB text of tiny nodes still takes a second or two of YAML parsing, which must
 * not stall every other request. A parse that runs out of time or memory is refused like
 * any invalid policy; at most OFF_THREAD_LIMITS.concurrent parses run at once, others wait.
 */
export async function parsePolicyOffThread(text: string, where: { file: string; baseDir: string }): Promise<PolicyResult> {
  // the size limit is checked here too, so an oversize text is never copied to a thread
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_LIMITS.maxBytes) {
    return refused(where.file, `the policy is ${Math.ceil(bytes / 1024)} KiB; at most ${POLICY_LIMITS.maxBytes / 1024} KiB are accepted`);
  }
  if (running >= OFF_THREAD_LIMITS.concurrent) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await parseInWorker(text, where);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function parseInWorker(text: string, where: { file: string; baseDir: string }): Promise<PolicyResult> {
  return new Promise<PolicyResult>((resolve, reject) => {
    const worker = startWorker({ text, where });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => resolve(refused(where.file, `the policy took more than ${OFF_THREAD_LIMITS.timeoutMs / 1000} s to check; write it with fewer, larger values`))),
      OFF_THREAD_LIMITS.timeoutMs,
    );
    worker.once('message', (result: PolicyResult) => settle(() => resolve(result)));
    worker.once('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') settle(() => resolve(refused(where.file, 'the policy needs too much memory to check')));
      else settle(() => reject(error));
    });
    worker.once('exit', () => settle(() => reject(new Error('the policy parse thread exited without an answer'))));
  });
}

function refused(file: string, message: string): PolicyResult {
  return { success: false, issues: [{ file, field: '', message }] };
}

/**
 * From compiled JS the worker is parseWorker.js; from TS sources (tests, tsx) worker threads
 * do not inherit tsx's loader on Node 20, so a one-line bootstrap registers it first.
 */
function startWorker(input: { text: string; where: { file: string; baseDir: string } }): Worker {
  const options = { workerData: input, resourceLimits: { maxOldGenerationSizeMb: OFF_THREAD_LIMITS.heapMb } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parseWorker.js', import.meta.url), options);
  const href = new URL('./parseWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
