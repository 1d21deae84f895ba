// Loaded with `node --import` by the start-up tests (test/cli/startup.test.ts, test/index.test.ts):
// appends the URL of every module the process imports (Veil's files and packages' entry points)
// to the file VEIL_IMPORT_TRACE names.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// Module hooks run in a thread of their own, which loads this file again: register only once.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.VEIL_IMPORT_TRACE) appendFileSync(process.env.VEIL_IMPORT_TRACE, `${resolved.url}\n`);
  return resolved;
}
