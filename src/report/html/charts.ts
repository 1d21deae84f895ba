import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite spec to a standalone SVG string, headless (no browser, no canvas):
 * the plots in Veil's HTML reports are real Vega-Lite charts, not hand-drawn shapes.
 * Vega is loaded with the first chart, so that a run writing no HTML report never pays for it.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
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
  legend: { labelFontSize: 11, titleFontSize: 12 },
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
