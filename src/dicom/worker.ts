import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';
import { processBatch, type FileResult, type FileSettings, type FileTask } from './file.js';
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
      ? loadModule(spec.url).then((mod: Record<string, unknown>) => {
          const factory = mod[spec.exportName];
          if (typeof factory !== 'function') throw new Error(`pixel cleaner module has no function ${spec.exportName}`);
          return (factory as () => Promise<PixelCleaner>)();
        })
      : Promise.resolve(undefined);
  }
  return cleaner;
}

/**
 * Imports the cleaner's module. Under tsx (tests), Node 20 worker threads load TypeScript only
 * through tsx's require hook, so a .ts module is required; compiled .js is imported.
 */
async function loadModule(url: string): Promise<Record<string, unknown>> {
  if (url.endsWith('.ts')) return createRequire(import.meta.url)(fileURLToPath(url)) as Record<string, unknown>;
  return (await import(url)) as Record<string, unknown>;
}

/** A batch of files per call (one message for several small files). */
export default async function run(batch: FileTask[]): Promise<FileResult[]> {
  return processBatch(batch, setup.settings, await cleanerOf());
}
