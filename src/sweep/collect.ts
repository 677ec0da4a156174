/**
 * collect's output, the same in both modes: DIR/cells.json (every cell's configuration, status
 * and scalar results, with provenance), DIR/cells.csv (one row per cell) and DIR/plots/: each
 * scalar against each numeric grid axis, mean and one standard deviation over the seed axis.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { meanStd } from '../report/meanStd.js';
import { renderLineChart, type Series } from '../report/plot.js';
import { VERSION } from '../version.js';
import { cellLabel, type FlagValue } from './grid.js';
import { scalarResults } from './scalars.js';

export interface CollectedCell {
  key: string;
  command: string;
  values: Record<string, FlagValue>;
  flags: Record<string, FlagValue>;
  status: 'done' | 'failed' | 'pending';
  error?: string;
  /** wall time of the successful run, and where it ran */
  seconds?: number;
  host?: string;
  results?: unknown;
}

export interface CollectSummary {
  cells: number;
  done: number;
  failed: number;
  pending: number;
  files: string[];
}

/** The axis averaged over in plots: repeated runs of one setting. */
const SEED_AXES = new Set(['seed', 'seeds']);

function csvField(v: unknown): string {
  const s = v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(cells: (CollectedCell & { scalars: Record<string, number> })[]): string {
  const flagNames = [...new Set(cells.flatMap((c) => Object.keys(c.flags)))];
  const scalarNames = [...new Set(cells.flatMap((c) => Object.keys(c.scalars)))];
  const head = ['key', 'status', ...flagNames, ...scalarNames, 'seconds', 'host', 'error'];
  const rows = cells.map((c) => [c.key, c.status, ...flagNames.map((f) => c.flags[f]), ...scalarNames.map((s) => c.scalars[s]), c.seconds, c.host, c.error]);
  return [head, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * Scalars worth a plot: finite somewhere, not the same in every cell, and not a copy of a grid
 * axis (a sweep command's results echo its depth and seed).
 */
function varyingScalars(cells: { values: Record<string, FlagValue>; scalars: Record<string, number> }[], axes: string[]): string[] {
  const names = [...new Set(cells.flatMap((c) => Object.keys(c.scalars)))];
  const mirrors = (n: string) => axes.some((a) => cells.every((c) => c.scalars[n] === Number(c.values[a])));
  return names.filter((n) => {
    const v = cells.map((c) => c.scalars[n]).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return v.length > 0 && v.some((x) => x !== v[0]) && !mirrors(n);
  });
}

/** One series group per setting of the other non-seed axes; mean +-1 std bands while they stay readable. */
function axisSeries(cells: { values: Record<string, FlagValue>; scalars: Record<string, number> }[], axis: string, scalar: string, others: string[]): Series[] {
  const groups = new Map<string, typeof cells>();
  for (const c of cells) {
    const g = cellLabel(Object.fromEntries(others.map((o) => [o, c.values[o]!])));
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  const bands = groups.size <= 4;
  return [...groups].flatMap(([g, members]) => {
    const xs = [...new Set(members.map((c) => Number(c.values[axis])))].sort((a, b) => a - b);
    const stats = xs.map((x) => ({ x, ...meanStd(members.filter((c) => Number(c.values[axis]) === x).map((c) => c.scalars[scalar] ?? NaN)) }));
    const prefix = g ? `${g} ` : '';
    const mean: Series = { name: `${prefix}mean`, points: stats.map((s) => [s.x, s.mean] as const) };
    if (!bands) return [mean];
    return [mean,
      { name: `${prefix}+1 std`, points: stats.map((s) => [s.x, s.mean + s.std] as const) },
      { name: `${prefix}-1 std`, points: stats.map((s) => [s.x, s.mean - s.std] as const) }];
  });
}

async function writePlots(out: string, cells: (CollectedCell & { scalars: Record<string, number> })[], axes: string[]): Promise<string[]> {
  const done = cells.filter((c) => c.status === 'done');
  const numericAxes = axes.filter((a) => !SEED_AXES.has(a) && done.every((c) => c.values[a] !== undefined && Number.isFinite(Number(c.values[a]))));
  const seedAxis = axes.find((a) => SEED_AXES.has(a));
  const files: string[] = [];
  if (done.length === 0 || numericAxes.length === 0) return files;
  await mkdir(join(out, 'plots'), { recursive: true });
  const commands = [...new Set(done.map((c) => c.command))].join(', ');
  for (const scalar of varyingScalars(done, axes)) {
    for (const axis of numericAxes) {
      const others = numericAxes.filter((a) => a !== axis).concat(axes.filter((a) => !SEED_AXES.has(a) && !numericAxes.includes(a)));
      const series = axisSeries(done, axis, scalar, others);
      if (!series.some((s) => s.points.some(([, y]) => Number.isFinite(y)))) continue;
      const path = join(out, 'plots', `${fileSafe(scalar)}-vs-${fileSafe(axis)}.png`);
      const { png } = await renderLineChart({
        title: `ncgpu ${commands}: ${scalar} vs ${axis}${seedAxis ? ` (mean +- std over ${seedAxis})` : ''}`,
        xLabel: axis, yLabel: scalar, series,
      });
      await writeFile(path, png);
      files.push(path);
    }
  }
  return files;
}

/** Writes cells.json, cells.csv and (unless `plots` is false) the plots; cells are sorted by key. */
export async function writeCollection(out: string, input: CollectedCell[], o: { source: string; axes: string[]; plots: boolean }): Promise<CollectSummary> {
  await mkdir(out, { recursive: true });
  const cells = [...input].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((c) => ({ ...c, scalars: c.results === undefined ? {} : scalarResults(c.results) }));
  const json = {
    command: 'ncgpu sweep collect',
    version: VERSION,
    createdAt: new Date().toISOString(),
    source: o.source,
    axes: o.axes,
    cells: cells.map(({ results: _results, scalars, ...c }) => ({ ...c, results: scalars })),
  };
  const jsonText = JSON.stringify(json, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  await writeFile(join(out, 'cells.json'), `${jsonText}\n`);
  await writeFile(join(out, 'cells.csv'), toCsv(cells));
  const files = [join(out, 'cells.json'), join(out, 'cells.csv'), ...(o.plots ? await writePlots(out, cells, o.axes) : [])];
  const count = (s: CollectedCell['status']) => cells.filter((c) => c.status === s).length;
  return { cells: cells.length, done: count('done'), failed: count('failed'), pending: count('pending'), files };
}
