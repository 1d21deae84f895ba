#!/usr/bin/env node
// Thin launcher: the CLI is built into dist/ by `npm install` (prepare) or `npm run build`.
import { statSync } from 'node:fs';
import module from 'node:module';

// Node ≥ 22.1 can keep compiled code between runs (a shorter start-up); Node 20 has no such cache.
module.enableCompileCache?.();

// The bundle (scripts/bundle-entries.ts) starts in less CPU than tsc's one module per source
// file; it runs unless tsc has written dist/ since it was made (a `tsc` without the bundle step).
const modified = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
const bundled = modified('../dist/bundle/cli/main.js');
const compiled = modified('../dist/cli/main.js');
if (bundled === undefined && compiled === undefined) {
  process.stderr.write('veil: the CLI is not built yet; run `npm run build` in the Veil folder\n');
  process.exit(2);
}
await import(bundled !== undefined && (compiled === undefined || bundled >= compiled) ? '../dist/bundle/cli/main.js' : '../dist/cli/main.js');
