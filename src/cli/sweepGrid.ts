/**
 * Multi-run commands (`ufm sweep`, `nn depth-sweep`) as grids: with --workers or --queue, each
 * (depth, width, seed) becomes a cell running the same command for that one setting, so the runs
 * spread over processes or machines and a rerun resumes. Their other flags pass through unchanged.
 */
import type { Command } from 'commander';
import type { FlagValue, GridSpec } from '../sweep/grid.js';
import { collectFromQueue, runGridLocally, submitGridToQueue } from './sweep.js';

export interface GridRunOptions {
  workers?: string;
  queue?: string;
  out?: string;
}

/** Flags that become grid axes or belong to the runner rather than to each cell. */
const AXIS_FLAGS = new Set(['depths', 'widths', 'seeds', 'seed']);
const RUNNER_FLAGS = new Set(['out', 'workers', 'queue']);

export function addGridOptions(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'run each depth x seed as its own cell, N at a time in separate processes; a rerun skips finished cells (writes cells.json, cells.csv, plots/)')
    .option('--queue <url>', 'redis://HOST:PORT[/NAME]: put the cells on a queue for `ncgpu worker`s, wait for them, then collect into --out');
}

const asValue = (v: string): FlagValue => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

function listAxis(name: string, v: unknown): FlagValue[] {
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`--${name} must be a comma-separated list, got '${v}'`);
  return v.split(',').map((s) => asValue(s.trim()));
}

function count(name: string, v: unknown, min: number): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

/** The grid a multi-run command's options describe: one seed per cell (`--seeds 1 --seed s`). */
export function gridFromOptions(command: string, cmd: Command, opts: Record<string, unknown>): GridSpec {
  const args: Record<string, FlagValue> = {};
  for (const option of cmd.options) {
    const flag = (option.long ?? '').replace(/^--/, '');
    const value = opts[option.attributeName()];
    if (!flag || AXIS_FLAGS.has(flag) || RUNNER_FLAGS.has(flag) || value === undefined) continue;
    args[flag] = typeof value === 'string' ? asValue(value) : (value as FlagValue);
  }
  args.seeds = 1;
  const seeds = count('seeds', opts.seeds, 1);
  const first = count('seed', opts.seed ?? '0', 0);
  const grid: Record<string, FlagValue[]> = {};
  if (opts.widths !== undefined) grid.widths = listAxis('widths', opts.widths);
  grid.depths = listAxis('depths', opts.depths);
  grid.seed = Array.from({ length: seeds }, (_, i) => first + i);
  return { command, args, grid };
}

/** Runs the command's grid locally (--workers) or through a queue (--queue), then collects into --out. */
export async function runCommandAsGrid(command: string, cmd: Command, opts: GridRunOptions & Record<string, unknown>): Promise<void> {
  if (!opts.out) throw new Error('--out DIR is required');
  if (opts.workers !== undefined && opts.queue !== undefined) throw new Error('--workers and --queue exclude each other: workers on a queue are started with `ncgpu worker --queue URL --concurrency N`');
  const spec = gridFromOptions(command, cmd, opts);
  if (opts.queue === undefined) return runGridLocally(spec, { out: opts.out, workers: opts.workers });
  await submitGridToQueue(spec, { queue: opts.queue });
  console.log(`waiting for workers (\`ncgpu worker --queue ${opts.queue}\` on any machine) to run the cells`);
  await collectFromQueue({ queue: opts.queue, out: opts.out, wait: true });
}

/**
 * The action of a multi-run command that also runs as a grid: with --workers or --queue its runs
 * become cells, without them `inProcess` runs them in this process as before.
 */
export function inProcessOrGrid<O extends object>(command: string, inProcess: (opts: O) => Promise<void>, fail: (e: unknown) => never) {
  return (opts: O & GridRunOptions, cmd: Command): Promise<void> =>
    (opts.workers !== undefined || opts.queue !== undefined ? runCommandAsGrid(command, cmd, { ...opts } as GridRunOptions & Record<string, unknown>) : inProcess(opts)).catch(fail);
}
