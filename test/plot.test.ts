import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { renderEigenfunctionView, renderLineChart, type NystromView } from '../src/index.js';
import { spansDecades } from '../src/report/plot.js';

/** pixels that are not (near) white */
function inkedPixels(png: Buffer): { width: number; height: number; inked: number } {
  const img = PNG.sync.read(png);
  let inked = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i]! < 240 || img.data[i + 1]! < 240 || img.data[i + 2]! < 240) inked++;
  }
  return { width: img.width, height: img.height, inked };
}

describe('plots', () => {
  it('renders a metric-vs-layer chart to SVG and to a PNG of the requested size', async () => {
    const chart = await renderLineChart({
      title: 'NC1 by layer',
      xLabel: 'layer',
      yLabel: 'NC1',
      width: 500,
      height: 320,
      logY: 'auto',
      series: [
        { name: 'X~ (after sqrt AGOP)', points: [[1, 2], [2, 0.3], [3, 0.02], [4, 0.001]] },
        { name: 'phi(X~)', points: [[1, 3], [2, 0.5], [3, 0.05], [4, NaN]] },
      ],
    });
    expect(chart.svg).toMatch(/^<svg/);
    expect(chart.svg).toContain('X~ (after sqrt AGOP)');
    expect(chart.svg).toContain('phi(X~)');
    expect(chart.svg).toContain('NC1 by layer');
    const { width, height, inked } = inkedPixels(chart.png);
    expect([width, height]).toEqual([500, 320]);
    expect([chart.width, chart.height]).toEqual([500, 320]);
    expect(inked).toBeGreaterThan(500);
  });

  it("chooses a log axis for 'auto' only when positive values span more than two decades", async () => {
    expect(spansDecades([1, 0.001])).toBe(true);
    expect(spansDecades([1, 0.5, 0.02])).toBe(false);
    expect(spansDecades([1, 0, 1e-6])).toBe(false);
    expect(spansDecades([NaN, 5, 0.01])).toBe(true);
    await expect(
      renderLineChart({ xLabel: 'step', yLabel: 'margin', logY: true, series: [{ name: 'm', points: [[0, 1], [1, -1]] }] }),
    ).rejects.toThrow('a log y axis needs positive values');
    await expect(renderLineChart({ xLabel: 'a', yLabel: 'b', series: [] })).rejects.toThrow('at least one series');
  });

  it('renders the three-panel eigenfunction view of one or several runs', async () => {
    const view = (decay: number): NystromView => {
      const m = 20;
      const ratios = Float64Array.from({ length: m }, (_, k) => Math.exp(-decay * k));
      return {
        variant: 'plain',
        dropped: 1,
        droppedEigenvalue: 10,
        droppedConstantOverlap: 0.99,
        eigenvalues: ratios.map((r) => 4 * r),
        ratios,
        quality: Float64Array.from({ length: m }, (_, k) => Math.min(1, (k + 1) / (5 * decay))),
        utilization: Float64Array.from({ length: m }, (_, k) => Math.min(1, (k + 1) / (3 * decay))),
        targetDim: 9,
        outputDim: 9,
        nTrain: 100,
        nTest: 100,
      };
    };
    const one = await renderEigenfunctionView(view(1));
    expect(inkedPixels(one.png).inked).toBeGreaterThan(500);
    const both = await renderEigenfunctionView(
      [
        { name: 'rich', view: view(2) },
        { name: 'lazy', view: view(0.3) },
      ],
      { title: 'eigenfunctions', panelWidth: 220, panelHeight: 180 },
    );
    for (const text of ['rich', 'lazy', 'quality', 'utilization', 'rho_k / rho_1']) expect(both.svg).toContain(text);
    const img = inkedPixels(both.png);
    expect(img.width).toBeGreaterThan(3 * 220);
    expect(img.height).toBeGreaterThan(180);
    expect(img.inked).toBeGreaterThan(1000);
  });
});

describe('line styles', () => {
  it('draws series of one colour solid and dashed by their style, one colour per shared key', async () => {
    const pts = (f: (x: number) => number) => Array.from({ length: 6 }, (_, i) => [i + 1, f(i + 1)] as const);
    const r = await renderLineChart({
      xLabel: 't', yLabel: 'sigma', series: [
        { name: 'GD sigma_1', color: 'sigma_1', style: 'gradient descent (solid)', points: pts((x) => x) },
        { name: 'ODE sigma_1', color: 'sigma_1', style: 'ODE (dashed)', points: pts((x) => x + 1) },
        { name: 'GD sigma_2', color: 'sigma_2', style: 'gradient descent (solid)', points: pts((x) => 2 * x) },
        { name: 'ODE sigma_2', color: 'sigma_2', style: 'ODE (dashed)', points: pts((x) => 2 * x + 1) },
      ],
    });
    const lines = [...r.svg.matchAll(/aria-label="[^"]*series: ([^"]+)"[^>]*stroke="([^"]+)"[^>]*stroke-dasharray="([^"]+)"/g)];
    const byName = new Map(lines.map((m) => [m[1]!, { stroke: m[2]!, dash: m[3]! }]));
    expect(byName.size).toBe(4);
    expect(byName.get('GD sigma_1')!.stroke).toBe(byName.get('ODE sigma_1')!.stroke);
    expect(byName.get('GD sigma_1')!.stroke).not.toBe(byName.get('GD sigma_2')!.stroke);
    expect(byName.get('GD sigma_1')!.dash).toBe('1,0');
    expect(byName.get('ODE sigma_1')!.dash).not.toBe('1,0');
    for (const label of ['sigma_1', 'sigma_2', 'gradient descent (solid)', 'ODE (dashed)']) expect(r.svg).toContain(label);
  });
});
