import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';

interface ChartLibraries {
  vega: typeof import('vega');
  compile: typeof import('vega-lite').compile;
}

let libraries: Promise<ChartLibraries> | undefined;

/**
 * Vega and Vega-Lite's compiler, loaded with the first chart (a run writing no HTML report never
 * pays for them): from the build's one-file bundle (dist/vendor/charts.js, made by
 * scripts/bundle-charts.ts) when there is one — ≈ 300 small modules cost ≈ 0.25–0.35 s of CPU to
 * load, the bundle ≈ 0.1 s — or from the packages (sources run through tsx, a build without it).
 */
function chartLibraries(): Promise<ChartLibraries> {
  libraries ??= (async () => {
    const bundle = new URL('../../vendor/charts.js', import.meta.url);
    if (bundle.protocol === 'file:' && import.meta.url.endsWith('.js') && existsSync(fileURLToPath(bundle))) return (await import(bundle.href)) as ChartLibraries;
    const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
    return { vega, compile };
  })();
  return libraries;
}

/**
 * Renders a Vega-Lite spec to a standalone SVG string, headless (no browser, no canvas):
 * the plots in Veil's HTML reports are real Vega-Lite charts, not hand-drawn shapes.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, compile } = await chartLibraries();
  const runtime = vega.parse(compile(spec).spec);
  const view = new vega.View(runtime, { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = 'system-ui, -apple-system, Segoe UI, sans-serif';

export const chartConfig = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 280 },
  view: { stroke: 'transparent' },
} as const;

export function barChart(options: {
  title: string;
  values: Record<string, string | number>[];
  x: string;
  y: string;
  xTitle: string;
  yTitle: string;
  color?: string;
  xType?: 'nominal' | 'ordinal';
  sortX?: boolean;
  width?: number;
}): TopLevelSpec {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: options.width ?? 520,
    height: 220,
    data: { values: options.values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: options.x, type: options.xType ?? 'nominal', title: options.xTitle, sort: options.sortX === false ? null : undefined, axis: { labelAngle: -30 } },
      y: { field: options.y, type: 'quantitative', title: options.yTitle },
      ...(options.color ? { color: { field: options.color, type: 'nominal', title: null, sort: null }, xOffset: { field: options.color, sort: null } } : {}),
    },
    config: chartConfig,
  };
  return spec;
}

/**
 * Bars over numeric bins [from, to] on a quantitative log-scaled x axis: the axis carries a
 * few round ticks whatever the number of bins, where one category per value smeared its labels.
 */
export function binnedBarChart(options: {
  title: string;
  values: { from: number; to: number; count: number; records: number }[];
  xTitle: string;
  yTitle: string;
  width?: number;
}): TopLevelSpec {
  const edges = [...new Set(options.values.flatMap((v) => [v.from, v.to + 1]))].sort((a, b) => a - b);
  if (edges.length === 0) edges.push(1, 2);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: options.width ?? 520,
    height: 220,
    // a bar spans its bin: [from, to + 1) so that a one-size bin has a width
    data: { values: options.values.map((v) => ({ ...v, end: v.to + 1, bin: v.from === v.to ? String(v.from) : `${v.from}–${v.to}` })) },
    mark: { type: 'bar', tooltip: true, stroke: '#fff', strokeWidth: 1 },
    encoding: {
      // ticks on the bin edges, so each bar sits between two labelled sizes
      x: { field: 'from', type: 'quantitative', title: options.xTitle, scale: { type: 'log', base: 2, nice: false, domain: [edges[0], edges[edges.length - 1]] }, axis: { values: edges, format: 'd', labelFlush: true } },
      x2: { field: 'end' },
      y: { field: 'count', type: 'quantitative', title: options.yTitle },
      // bars stand on zero (with x2 alone Vega-Lite would draw them as thin horizontal bands)
      y2: { datum: 0 },
      tooltip: [{ field: 'bin', title: 'size' }, { field: 'count', title: options.yTitle }, { field: 'records', title: 'records' }],
    },
    config: chartConfig,
  };
}
