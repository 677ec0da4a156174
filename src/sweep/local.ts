/**
 * Local mode: the grid's cells in a pool of N child processes on this machine, no server.
 * Finished cells (a cell.json in DIR/cells/KEY) are skipped, so a rerun after Ctrl-C or a crash
 * resumes; a failed cell is retried after a growing pause, then recorded with its error.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectedCell } from './collect.js';
import { cellLabel, parseGrid, type Cell, type GridSpec } from './grid.js';
import { CellError, readFinishedCell, runCell, type CellOutcome } from './runCell.js';

export interface RetryPolicy {
  /** runs per cell before it is reported failed (1 = no retry) */
  attempts: number;
  /** pause before the second run; doubles before each further run */
  backoffMs: number;
}

export interface LocalRunOptions extends RetryPolicy {
  workers: number;
  signal?: AbortSignal;
  /** called once per cell as it finishes, fails for good, or was already finished */
  onCell?: (event: { cell: Cell; status: 'done' | 'skipped' | 'failed'; error?: string; seconds?: number }) => void;
}

export interface LocalRunSummary {
  ran: number;
  skipped: number;
  failed: { cell: Cell; error: string }[];
  stopped: boolean;
}

export const cellsRoot = (out: string): string => join(out, 'cells');
export const FAILED_FILE = 'failed.json';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

/** Runs one cell with retries; throws the last error once the attempts are used up. */
async function runWithRetries(cell: Cell, root: string, o: LocalRunOptions): Promise<CellOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runCell(cell, root, { signal: o.signal, concurrent: o.workers });
    } catch (e) {
      if (o.signal?.aborted || attempt >= o.attempts) throw e;
      await sleep(o.backoffMs * 2 ** (attempt - 1), o.signal);
      if (o.signal?.aborted) throw e;
    }
  }
}

export async function writeGridSpec(out: string, spec: GridSpec): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'grid.json'), `${JSON.stringify(spec, null, 2)}\n`);
}

export async function runLocalGrid(spec: GridSpec, cells: Cell[], out: string, o: LocalRunOptions): Promise<LocalRunSummary> {
  const root = cellsRoot(out);
  await writeGridSpec(out, spec);
  const summary: LocalRunSummary = { ran: 0, skipped: 0, failed: [], stopped: false };
  const todo: Cell[] = [];
  for (const cell of cells) {
    if (await readFinishedCell(root, cell.key)) {
      summary.skipped++;
      o.onCell?.({ cell, status: 'skipped' });
    } else {
      todo.push(cell);
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !o.signal?.aborted) {
      const cell = todo[next++]!;
      const failedPath = join(root, cell.key, FAILED_FILE);
      try {
        const { record } = await runWithRetries(cell, root, o);
        await rm(failedPath, { force: true });
        summary.ran++;
        o.onCell?.({ cell, status: 'done', seconds: record.seconds });
      } catch (e) {
        if (o.signal?.aborted) break;
        if (!(e instanceof CellError)) throw e;
        const error = `${cellLabel(cell.values)}: ${e.message}`;
        await writeFile(failedPath, `${JSON.stringify({ key: cell.key, error: e.message, attempts: o.attempts }, null, 2)}\n`);
        summary.failed.push({ cell, error });
        o.onCell?.({ cell, status: 'failed', error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.workers, todo.length) }, worker));
  summary.stopped = o.signal?.aborted ?? false;
  return summary;
}

/** The grid's cells as they stand in DIR: done (with results), failed (with the error) or pending. */
export async function localCells(cells: Cell[], out: string): Promise<CollectedCell[]> {
  const root = cellsRoot(out);
  return Promise.all(cells.map(async (cell): Promise<CollectedCell> => {
    const base = { key: cell.key, command: cell.command, values: cell.values, flags: cell.flags };
    const done = await readFinishedCell(root, cell.key);
    if (done) return { ...base, status: 'done', results: done.results, seconds: done.record.seconds, host: done.record.host };
    const failed = await readFile(join(root, cell.key, FAILED_FILE), 'utf8').then((t) => JSON.parse(t) as { error: string; attempts: number }, () => undefined);
    if (failed) return { ...base, status: 'failed', error: `${failed.error} (after ${failed.attempts} attempts)` };
    return { ...base, status: 'pending' };
  }));
}

export async function readGridSpec(out: string): Promise<GridSpec> {
  const path = join(out, 'grid.json');
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(`--out: '${out}' holds no grid.json; collect without --queue reads a folder written by 'ncgpu sweep run'`);
  });
  return parseGrid(JSON.parse(text), path);
}
