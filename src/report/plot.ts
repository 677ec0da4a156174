/**
 * Plots: Vega-Lite specs compiled to Vega, rendered headless to SVG, rasterized to PNG by resvg.
 * Metric-vs-step and metric-vs-layer series go through `renderLineChart`; anything else through
 * `renderVegaLite`.
 *
 * Text needs a system font (on Debian the fonts-dejavu-core package). Without one the PNG is
 * still produced, only without its text.
 */
import type { TopLevelSpec } from 'vega-lite';

/** One line of a line chart. */
export interface Series {
  name: string;
  /** [x, y] pairs; points with a non-finite y are left out (a gap) */
  points: readonly (readonly [number, number])[];
  /** legend entry for the colour: series with the same `color` share one (default: the name) */
  color?: string;
  /**
   * legend entry for the line style: the first style given is drawn solid, later ones dashed, so
   * two families of the same colours stay apart. The legend shows the label next to a point
   * symbol, so say the style in it, e.g. 'gradient descent (solid)' and 'ODE (dashed)'.
   */
  style?: string;
}

/** Options of renderLineChart: labels, log axes and size. */
export interface LineChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** log y axis: true, false (default), or 'auto' = when all values are positive and span more than two decades */
  logY?: boolean | 'auto';
  logX?: boolean;
  /** total size in pixels, axes and legend included (default 640 x 400) */
  width?: number;
  height?: number;
}

/** A rendered chart: the SVG, the PNG and the size. */
export interface RenderedChart {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

/** Fonts tried in order; the first one installed is used. */
const FONT = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';

export const CHART_CONFIG = {
  font: FONT,
  axis: { labelFont: FONT, titleFont: FONT },
  // series names are the reader's key to a chart: room for ~50 characters (Vega-Lite's default
  // 160 px cuts at ~25) before a name would squeeze the plot itself
  legend: { labelFont: FONT, titleFont: FONT, labelLimit: 320 },
  title: { font: FONT },
} as const;

/** Whether 'auto' picks a log axis for these values: all positive, max/min above 100. */
export function spansDecades(values: Iterable<number>): boolean {
  let min = Infinity;
  let max = -Infinity;
  let any = false;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v <= 0) return false;
    any = true;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return any && max / min > 100;
}

/** SVG -> PNG on a white background. */
export async function svgToPng(svg: string): Promise<Buffer> {
  // imported on first use: the renderers are heavy and most users of the library never plot
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'original' },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return Buffer.from(resvg.render().asPng());
}

/** Renders any Vega-Lite spec to SVG and PNG. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<RenderedChart> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec: vgSpec } = compile(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const size = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
    return { svg, png: await svgToPng(svg), width: size ? Number(size[1]) : NaN, height: size ? Number(size[2]) : NaN };
  } finally {
    view.finalize();
  }
}

function checkSize(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 50 || v > 10000) throw new RangeError(`renderLineChart: '${name}' must be an integer number of pixels in 50..10000, got ${v}`);
  return v;
}

/** A line chart of one or more series (e.g. NC1 against training step, or against layer). */
export async function renderLineChart(options: LineChartOptions): Promise<RenderedChart> {
  const { title, xLabel, yLabel, series, logX = false } = options;
  const width = checkSize('width', options.width ?? 640);
  const height = checkSize('height', options.height ?? 400);
  if (!Array.isArray(series) || series.length === 0) throw new RangeError('renderLineChart: give at least one series');
  const names = new Set<string>();
  for (const s of series) {
    if (typeof s.name !== 'string') throw new TypeError('renderLineChart: every series needs a name');
    if (names.has(s.name)) throw new RangeError(`renderLineChart: two series are named '${s.name}'`);
    names.add(s.name);
  }
  const values: { series: string; color: string; style: string; x: number; y: number }[] = [];
  for (const s of series as readonly Series[]) {
    const color = s.color ?? s.name;
    const style = s.style ?? '';
    for (const [x, y] of s.points) if (Number.isFinite(x) && Number.isFinite(y)) values.push({ series: s.name, color, style, x, y });
  }
  const colors = [...new Set(series.map((s) => s.color ?? s.name))];
  const styles = [...new Set(series.map((s) => s.style).filter((s): s is string => s !== undefined))];
  if (values.length === 0) throw new RangeError('renderLineChart: no finite points to plot');
  const ys = values.map((v) => v.y);
  const mode = options.logY ?? false;
  const logY = mode === 'auto' ? spansDecades(ys) : mode;
  if (logY && ys.some((y) => y <= 0)) {
    throw new RangeError(`renderLineChart: a log y axis needs positive values; '${yLabel}' has values <= 0 (use logY: 'auto' or false)`);
  }
  if (logX && values.some((v) => v.x <= 0)) throw new RangeError(`renderLineChart: a log x axis needs positive x values`);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title ? { title } : {}),
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    config: CHART_CONFIG,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xLabel, scale: logX ? { type: 'log' } : { type: 'linear', zero: false } },
      y: { field: 'y', type: 'quantitative', title: yLabel, scale: logY ? { type: 'log' } : { type: 'linear', zero: false } },
      color: { field: 'color', type: 'nominal', title: null, sort: colors },
      // one line per series even where series share a colour
      detail: { field: 'series', type: 'nominal' },
      ...(styles.length > 0
        ? {
            strokeDash: {
              field: 'style', type: 'nominal' as const, sort: styles, title: null,
              scale: { domain: styles, range: styles.map((_, i) => (i === 0 ? [1, 0] : [6 - i, 3])) },
            },
          }
        : {}),
    },
  };
  return renderVegaLite(spec);
}
