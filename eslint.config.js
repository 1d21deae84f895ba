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
  {
    // The CLI starts at once: a command loads its work in its action (`await import(…)`), never
    // at the top of a file, so that `veil --help` does not load every engine (README, Start-up).
    files: ['src/cli/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/policy/index.js', '**/policy/load.js', '**/tabular/index.js', '**/tabular/file.js', '**/dicom/index.js', '**/image/index.js', '**/image/dicomCleaner.js', '**/api/index.js', '**/api/server.js'],
          allowTypeImports: true,
          message: 'load engines in the command\'s action with await import(…), so that other commands start at once',
        }],
        paths: ['zod', 'yaml', 'vega', 'vega-lite', 'sharp', 'onnxruntime-node', 'express', 'dcmjs', 'dcmjs-codecs', 'piscina', 'better-sqlite3', 'cli-progress'].map((name) => ({
          name,
          allowTypeImports: true,
          message: 'load heavy packages where they are used, with await import(…)',
        })),
      }],
    },
  },
);
