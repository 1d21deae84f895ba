import { workerData } from 'node:worker_threads';
import { processFile, type FileResult, type FileSettings, type FileTask } from './file.js';
import type { PixelCleaner } from './pixelCleaner.js';

/** What the pool hands each worker once (workerData). */
export interface WorkerSetup {
  settings: FileSettings;
  /** Module and export that build a pixel cleaner in this thread. */
  pixelCleanerModule?: { url: string; exportName: string };
}

const setup = workerData as WorkerSetup;
let cleaner: Promise<PixelCleaner | undefined> | undefined;

function cleanerOf(): Promise<PixelCleaner | undefined> {
  if (!cleaner) {
    const spec = setup.pixelCleanerModule;
    cleaner = spec
      ? import(spec.url).then((mod: Record<string, unknown>) => {
          const factory = mod[spec.exportName];
          if (typeof factory !== 'function') throw new Error(`pixel cleaner module has no function ${spec.exportName}`);
          return (factory as () => Promise<PixelCleaner>)();
        })
      : Promise.resolve(undefined);
  }
  return cleaner;
}

/** One file per call. */
export default async function run(task: FileTask): Promise<FileResult> {
  return processFile(task, setup.settings, await cleanerOf());
}
