import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'models/**/*.onnx', 'coverage/**', 'veil-data/**', 'demo-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // One-way layers (ARCHITECTURE.md): cli → api → dicom → image, tabular → report → policy →
  // io, secret, errors. A folder may import (values) only from the layers below it; report may
  // import engine *types* to describe their results. `await import()` is checked by
  // test/architecture.test.ts, which reads the same table.
  ...Object.entries(layerRules()).map(([folder, forbidden]) => ({
    files: [folder === '(root)' ? 'src/*.ts' : `src/${folder}/**`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          regex: `^(\\.\\./)+(${forbidden.join('|')})(/|\\.js$)`,
          allowTypeImports: folder === 'report',
          message: `${folder} may not import from ${forbidden.join(', ')}: layers import one way (ARCHITECTURE.md)`,
        }],
      }],
    },
  })),
  {
    // The console (console/) is a browser app that talks to the server over HTTP only: it never
    // imports Veil's sources (its API types are generated: npm run console:types).
    files: ['console/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: '^(\\.\\./)+(src|test|scripts|bench)/', message: 'the console talks to the API over HTTP; it imports nothing of the server (ARCHITECTURE.md)' }],
      }],
    },
  },
  {
    // The CLI starts at once: a command loads its work in its action (`await import(…)`), never
    // at the top of a file, so that `veil --help` does not load every engine (README, Start-up).
    files: ['src/cli/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/policy/index.js', '**/policy/load.js', '**/tabular/index.js', '**/tabular/file.js', '**/dicom/index.js', '**/image/index.js', '**/dicom/pixels/cleaner.js', '**/api/index.js', '**/api/server.js'],
          allowTypeImports: true,
          message: 'load engines in the command\'s action with await import(…), so that other commands start at once',
        }],
        paths: ['zod', 'yaml', 'vega', 'vega-lite', 'sharp', 'onnxruntime-node', 'express', 'dcmjs', 'dcmjs-codecs', 'better-sqlite3', 'cli-progress'].map((name) => ({
          name,
          allowTypeImports: true,
          message: 'load heavy packages where they are used, with await import(…)',
        })),
      }],
    },
  },
);

/** For each folder of src/, the folders it may not import from (see ARCHITECTURE.md). */
export function layerRules() {
  const entries = ['cli', 'api'];
  const engines = ['dicom', 'image', 'tabular', 'demo'];
  const base = ['report', 'policy'];
  return {
    api: ['cli'],
    dicom: [...entries, 'demo'],
    image: [...entries, 'dicom', 'tabular', 'demo'],
    tabular: [...entries, 'dicom', 'image', 'demo'],
    demo: [...entries, 'dicom', 'image'],
    report: [...entries, ...engines],
    policy: [...entries, ...engines, 'report'],
    io: [...entries, ...engines, ...base],
    secret: [...entries, ...engines, ...base, 'io'],
    standard: [...entries, ...engines, ...base, 'io', 'secret'],
    '(root)': [...entries, ...engines, ...base, 'io', 'secret', 'standard'],
  };
}
