/**
 * Worker thread of `redactImages`: loads the models once, then processes the files the
 * main thread sends, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isVeilError } from '../errors.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';
import { createImageProcessor } from './redactFile.js';

export interface WorkerInit {
  pixels: PixelsPolicy;
  threads: number;
}

export interface WorkerTask {
  id: number;
  input: string;
  output: string;
  relative: string;
}

const port = parentPort;
if (!port) throw new Error('imageWorker must run in a worker thread');
const init = workerData as WorkerInit;

try {
  const processor = await createImageProcessor(init.pixels, init.threads);
  port.on('message', (message: WorkerTask | 'close') => {
    if (message === 'close') {
      void processor.close().then(() => port.close());
      return;
    }
    processor.process(message.input, message.output, message.relative).then(
      (report) => port.postMessage({ id: message.id, report }),
      (error: unknown) => port.postMessage({ id: message.id, error: describe(error) }),
    );
  });
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: describe(error) });
}

function describe(error: unknown): { code?: string; message: string } {
  if (isVeilError(error)) return { code: error.code, message: error.toLine() };
  return { message: error instanceof Error ? error.message : String(error) };
}
