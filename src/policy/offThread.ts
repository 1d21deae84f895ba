import { Worker } from 'node:worker_threads';
import type { PolicyResult } from './load.js';
import { POLICY_LIMITS } from './screen.js';

/** The longest a policy parse may take before it is refused, and the parse thread's heap. */
export const OFF_THREAD_LIMITS = { timeoutMs: 10_000, heapMb: 256 } as const;

type Where = { file: string; baseDir: string };

/** One parse thread, one parse at a time: the main thread keeps a core of a small machine. */
let thread: Worker | undefined;
let busy = false;
const waiting: (() => void)[] = [];

/**
 * parsePolicy in a worker thread, for servers: the limits of screenPolicyText bound a parse,
 * yet 40,000 tiny values still take a second of YAML parsing, which must not stall every
 * other request. A parse that runs out of time or memory is refused like any invalid policy
 * (and its thread replaced); parses wait their turn.
 */
export async function parsePolicyOffThread(text: string, where: Where): Promise<PolicyResult> {
  // the size limit is checked here too, so an oversize text is never copied to the thread
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_LIMITS.maxBytes) {
    return refused(where.file, `the policy is ${Math.ceil(bytes / 1024)} KiB; at most ${POLICY_LIMITS.maxBytes / 1024} KiB are accepted`);
  }
  while (busy) await new Promise<void>((resolve) => waiting.push(resolve));
  busy = true;
  try {
    return await parseInThread(text, where);
  } finally {
    busy = false;
    waiting.shift()?.();
  }
}

function parseInThread(text: string, where: Where): Promise<PolicyResult> {
  const worker = parseThread();
  return new Promise<PolicyResult>((resolve, reject) => {
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
    const onMessage = (result: PolicyResult): void => {
      done();
      resolve(result);
    };
    const onError = (error: Error & { code?: string }): void => {
      done();
      discard();
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve(refused(where.file, 'the policy needs too much memory to check'));
      else reject(error);
    };
    const onExit = (): void => {
      done();
      discard();
      reject(new Error('the policy parse thread exited without an answer'));
    };
    const timer = setTimeout(() => {
      done();
      discard();
      resolve(refused(where.file, `the policy took more than ${OFF_THREAD_LIMITS.timeoutMs / 1000} s to check; write it with fewer, larger values`));
    }, OFF_THREAD_LIMITS.timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ text, where });
  });
}

function refused(file: string, message: string): PolicyResult {
  return { success: false, issues: [{ file, field: '', message }] };
}

/** The parse thread, started on first use; it does not keep the process alive. */
function parseThread(): Worker {
  if (thread) return thread;
  const worker = startWorker();
  worker.unref();
  // an idle thread that fails is simply replaced on the next parse
  worker.on('error', () => undefined);
  worker.on('exit', () => {
    if (thread === worker) thread = undefined;
  });
  thread = worker;
  return worker;
}

/**
 * From compiled JS the worker is parseWorker.js; from TS sources (tests, tsx) worker threads
 * do not inherit tsx's loader on Node 20, so a one-line bootstrap registers it first.
 */
function startWorker(): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: OFF_THREAD_LIMITS.heapMb } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parseWorker.js', import.meta.url), options);
  const href = new URL('./parseWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
