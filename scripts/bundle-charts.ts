/**
 * Bundles the chart libraries (Vega, and Vega-Lite's compiler) into one ESM file,
 * dist/vendor/charts.js, at build time (`npm run build`, `npm install`). Node 20 loads the
 * packages as ≈ 300 small ES modules (vega, its vega-* parts, d3): ≈ 0.25–0.35 s of CPU in every
 * process that renders a chart; the one bundled file ≈ 0.1 s. src/report/html/charts.ts loads it
 * when it is there, and the packages otherwise. The SVG is the same (same code, same versions).
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const CHARTS_BUNDLE = 'dist/vendor/charts.js';

export async function bundleCharts(repoRoot: string): Promise<void> {
  await build({
    stdin: { contents: "export * as vega from 'vega';\nexport { compile } from 'vega-lite';\n", resolveDir: repoRoot, sourcefile: 'charts-entry.js', loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: `${repoRoot}/${CHARTS_BUNDLE}`,
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  await bundleCharts(root);
  process.stdout.write(`wrote ${CHARTS_BUNDLE}\n`);
}
