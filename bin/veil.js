#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node ≥ 22.1 can keep compiled code between runs (a shorter start-up); Node 20 has no such cache.
module.enableCompileCache?.();

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('veil: the CLI is not built yet; run `npm run build` in the Veil folder\n');
  process.exit(2);
}
await import(entry.href);
