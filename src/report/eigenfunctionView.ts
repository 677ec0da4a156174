/**
 * The three-panel eigenfunction view of seed 002 (Nystrom, SPEC section 4): (i) cumulative
 * quality Pi*(k), (ii) cumulative utilization Pi^(k), (iii) eigenvalue ratios rho_k / rho_1 on
 * a log axis, all against k; several views (e.g. rich vs lazy training) share the panels.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { NystromView } from '../metrics/nystrom.js';
import { CHART_CONFIG, renderVegaLite, type RenderedChart } from './plot.js';

/** Options of renderEigenfunctionView. */
export interface EigenfunctionViewOptions {
  title?: string;
  /** plot k = 1..maxK (default: all) */
  maxK?: number;
  /** size of one panel in pixels (default 300 x 260) */
  panelWidth?: number;
  panelHeight?: number;
}

/** Renders one view, or several named views overlaid, as one SVG/PNG with three panels. */
export async function renderEigenfunctionView(
  views: NystromView | readonly { name: string; view: NystromView }[],
  options: EigenfunctionViewOptions = {},
): Promise<RenderedChart> {
  const list = Array.isArray(views) ? views : [{ name: (views as NystromView).variant, view: views as NystromView }];
  if (list.length === 0) throw new RangeError('renderEigenfunctionView: no views given');
  const maxK = options.maxK ?? Infinity;
  if (!(maxK >= 1)) throw new RangeError(`renderEigenfunctionView: 'maxK' must be >= 1, got ${options.maxK}`);
  const width = options.panelWidth ?? 300;
  const height = options.panelHeight ?? 260;
  const rows: { run: string; k: number; quality: number; utilization: number; ratio: number | null }[] = [];
  for (const { name, view } of list) {
    const m = Math.min(view.ratios.length, maxK);
    for (let k = 0; k < m; k++) {
      const ratio = view.ratios[k]!;
      rows.push({
        run: name,
        k: k + 1,
        quality: view.quality[k]!,
        utilization: view.utilization[k]!,
        // zero ratios cannot sit on a log axis; leave them out of that panel
        ratio: ratio > 0 ? ratio : null,
      });
    }
  }
  const names = list.map((v) => v.name);
  const panel = (field: string, title: string, log: boolean) => ({
    width,
    height,
    title,
    mark: { type: 'line' as const, point: true, strokeWidth: 2 },
    ...(log ? { transform: [{ filter: `datum.${field} != null` }] } : {}),
    encoding: {
      x: { field: 'k', type: 'quantitative' as const, title: 'k', scale: { zero: false } },
      y: log
        ? { field, type: 'quantitative' as const, title: null, scale: { type: 'log' as const } }
        : { field, type: 'quantitative' as const, title: null, scale: { domain: [0, 1] } },
      color: { field: 'run', type: 'nominal' as const, title: null, sort: names },
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    background: 'white',
    config: CHART_CONFIG,
    data: { values: rows },
    hconcat: [
      panel('quality', '(i) quality Pi*(k)', false),
      panel('utilization', '(ii) utilization Pi^(k)', false),
      panel('ratio', '(iii) rho_k / rho_1', true),
    ],
  };
  return renderVegaLite(spec);
}
