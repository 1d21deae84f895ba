import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { processBatch, type FileSettings } from './file.js';
import type { PixelCleaner } from './pixelCleaner.js';
import { failureOf, type CleanerModule, type FromWorker, type ToWorker } from './pool.js';

/**
 * One thread of the DICOM worker pool (src/dicom/pool.ts). It holds the settings of each run
 * it has batches of, and one pixel cleaner per cleaner module for its whole life (a model is
 * loaded once per thread, not once per run); messages are handled one at a time, in order.
 */
const runs = new Map<number, { settings: FileSettings; cleaner?: CleanerModule }>();
const cleaners = new Map<string, Promise<PixelCleaner>>();

function cleanerOf(spec: CleanerModule | undefined): Promise<PixelCleaner | undefined> {
  if (!spec) return Promise.resolve(undefined);
  const key = `${spec.url}#${spec.exportName}`;
  let cleaner = cleaners.get(key);
  if (!cleaner) {
    cleaner = loadModule(spec.url).then((mod: Record<string, unknown>) => {
      const factory = mod[spec.exportName];
      if (typeof factory !== 'function') throw new Error(`pixel cleaner module has no function ${spec.exportName}`);
      return (factory as () => Promise<PixelCleaner>)();
    });
    // a cleaner that failed to load is tried again by the next run, not kept as a failure
    cleaner.catch(() => cleaners.delete(key));
    cleaners.set(key, cleaner);
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

/**
 * Settings arrive as a new copy with every run, but a long-lived pool (the listener's: one run
 * per batch) gets the same ones again and again: a run whose settings equal an earlier run's
 * gets that run's object, so what file.ts keeps per settings object (the compiled profile, the
 * per-run memos) is reused instead of built again, and V8 does not throw away the optimized
 * code that depends on those objects once per run. Bounded: forgotten when many differ.
 */
const settingsSeen = new Map<string, FileSettings>();
const SETTINGS_KEPT = 16;

function sameSettings(settings: FileSettings): FileSettings {
  const key = JSON.stringify(settings, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value));
  const known = settingsSeen.get(key);
  if (known) return known;
  if (settingsSeen.size >= SETTINGS_KEPT) settingsSeen.clear();
  settingsSeen.set(key, settings);
  return settings;
}

async function handle(message: ToWorker): Promise<FromWorker | undefined> {
  switch (message.kind) {
    case 'run':
      runs.set(message.run, { settings: sameSettings(message.settings), cleaner: message.cleaner });
      return undefined;
    case 'end':
      runs.delete(message.run);
      return undefined;
    case 'batch': {
      const run = runs.get(message.run);
      if (!run) return { kind: 'failed', id: message.id, failure: { name: 'UnknownRun' } };
      try {
        return { kind: 'done', id: message.id, results: await processBatch(message.tasks, run.settings, await cleanerOf(run.cleaner)) };
      } catch (error) {
        return { kind: 'failed', id: message.id, failure: failureOf(error) };
      }
    }
    case 'close': {
      const open = [...cleaners.values()];
      cleaners.clear();
      await Promise.allSettled(open.map(async (cleaner) => (await cleaner).close()));
      return { kind: 'closed' };
    }
  }
}

const port = parentPort;
if (port) {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    queue = queue
      .then(async () => {
        const answer = await handle(message);
        if (answer) port.postMessage(answer);
      })
      .catch(() => undefined);
  });
}
