/**
 * `ncgpu sweep run | submit | status | collect` and `ncgpu worker`: experiment grids, locally in
 * a pool of processes or across machines through BullMQ on a Redis server.
 *
 *   ncgpu sweep run grid.json --out out/grid --workers 4
 *   ncgpu sweep submit grid.json --queue redis://host:6379/depth   # then on each machine:
 *   ncgpu worker --queue redis://host:6379/depth
 *   ncgpu sweep status --queue redis://host:6379/depth
 *   ncgpu sweep collect --queue redis://host:6379/depth --out out/grid
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeCellResults } from '../sweep/cellResults.js';
import { writeCollection, type CollectSummary } from '../sweep/collect.js';
import { cellLabel, gridCells, readGridFile, type Cell, type GridSpec, type OptionLookup } from '../sweep/grid.js';
import { localCells, readGridSpec, runLocalGrid, type RetryPolicy } from '../sweep/local.js';
import { allJobs, jobToCell, openQueue, queueCounts, submitGrid, waitForQueue, type QueueCounts } from '../sweep/queue.js';
import { describeRedis, parseQueueUrl } from '../sweep/queueUrl.js';
import { startWorker } from '../sweep/worker.js';
import { progressBar } from './progress.js';

function int(name: string, v: string | undefined, min = 1): number {
  const x = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

/** The long flags of `ncgpu COMMAND`, read from the registered commands, so grid files are checked before any cell runs. */
export function optionLookup(program: Command): OptionLookup {
  return (command) => {
    let cmd: Command | undefined = program;
    for (const word of command.split(' ')) cmd = cmd?.commands.find((c) => c.name() === word);
    return cmd?.options.map((o) => (o.long ?? '').replace(/^--/, '')).filter(Boolean);
  };
}

function retryPolicy(o: { attempts?: string; backoff?: string }): RetryPolicy {
  return { attempts: int('attempts', o.attempts ?? '3'), backoffMs: int('backoff', o.backoff ?? '2000', 0) };
}

function printCollect(out: string, s: CollectSummary): void {
  const pending = s.pending ? `, ${s.pending} not finished yet` : '';
  console.log(`collected ${s.cells} cells (${s.done} done, ${s.failed} failed${pending}): wrote ${out}/cells.json, cells.csv and ${s.files.length - 2} plots`);
}

// ---------------------------------------------------------------- local

export interface SweepRunOptions {
  out?: string;
  workers?: string;
  attempts?: string;
  backoff?: string;
  plots?: boolean;
}

/** Ctrl-C aborts the running cells and starts no new ones; a second Ctrl-C exits at once. */
function stopOnInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('\nstopping: the running cells are ended; rerun the same command to resume');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); } };
}

export async function runGridLocally(spec: GridSpec, o: SweepRunOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const workers = int('workers', o.workers ?? '1');
  const retry = retryPolicy(o);
  const cells = gridCells(spec);
  console.log(`ncgpu sweep: ${cells.length} cells of 'ncgpu ${spec.command}' over ${Object.keys(spec.grid).join(' x ')}, ${workers} worker process${workers > 1 ? 'es' : ''}, into ${o.out}`);
  const bar = progressBar('sweep', cells.length);
  const quiet = process.stderr.isTTY && !process.env.CI;
  const stop = stopOnInterrupt();
  let summary;
  try {
    summary = await runLocalGrid(spec, cells, o.out, {
      workers, ...retry, signal: stop.signal,
      onCell: ({ cell, status, error, seconds }) => {
        bar.tick();
        if (status === 'failed') console.log(`  failed after ${retry.attempts} attempts: ${error}`);
        else if (!quiet && status === 'done') console.log(`  cell ${cell.key} (${cellLabel(cell.values)}) done in ${seconds!.toFixed(1)} s`);
      },
    });
  } finally {
    bar.stop();
    stop.dispose();
  }
  console.log(`ran ${summary.ran} cells, ${summary.skipped} already finished, ${summary.failed.length} failed`);
  if (summary.stopped) {
    console.log(`stopped before the grid finished; rerun the same command to resume`);
    process.exit(130);
  }
  printCollect(o.out, await writeCollection(o.out, await localCells(cells, o.out), { source: resolve(o.out), axes: Object.keys(spec.grid), plots: o.plots ?? true }));
  if (summary.failed.length) process.exitCode = 1;
}

// ---------------------------------------------------------------- distributed

export interface SweepSubmitOptions {
  queue?: string;
  attempts?: string;
  backoff?: string;
}

export async function submitGridToQueue(spec: GridSpec, o: SweepSubmitOptions): Promise<Cell[]> {
  const a = parseQueueUrl(o.queue);
  const retry = retryPolicy(o);
  const cells = gridCells(spec);
  const q = await openQueue(a);
  try {
    const s = await submitGrid(q.queue, spec, cells, retry);
    console.log(`queue '${a.name}' on ${describeRedis(a)}: ${s.added} cells added, ${s.alreadyQueued} already queued, ${s.alreadyDone} already done, ${s.retried} failed cells queued again (${retry.attempts} attempts each)`);
  } finally {
    await q.close();
  }
  return cells;
}

const countsLine = (c: QueueCounts) =>
  `${c.done} done, ${c.running} running, ${c.failed} failed, ${c.waiting} waiting${c.retrying ? ` (${c.retrying} to be retried after a failure)` : ''}`;

export async function showStatus(o: { queue?: string; json?: boolean }): Promise<void> {
  const a = parseQueueUrl(o.queue);
  const q = await openQueue(a);
  try {
    const counts = await queueCounts(q.queue);
    const failed = await Promise.all((await allJobs(q.queue, ['failed'])).map(jobToCell));
    const running = await allJobs(q.queue, ['active']);
    if (o.json) {
      console.log(JSON.stringify({ queue: a.name, host: a.host, port: a.port, ...counts, failedCells: failed.map((c) => ({ key: c.key, values: c.values, error: c.error })) }, null, 2));
      return;
    }
    console.log(`queue '${a.name}' on ${describeRedis(a)}: ${countsLine(counts)}`);
    for (const j of running) {
      const where = j.progress as { host?: string; pid?: number } | undefined;
      console.log(`  running: cell ${j.data.key} (${cellLabel(j.data.values)})${where?.host ? ` on ${where.host} pid ${where.pid}` : ''}`);
    }
    for (const c of failed) console.log(`  failed: cell ${c.key} (${cellLabel(c.values)}): ${c.error}`);
  } finally {
    await q.close();
  }
}

export interface SweepCollectOptions {
  queue?: string;
  out?: string;
  wait?: boolean;
  plots?: boolean;
}

export async function collectFromQueue(o: SweepCollectOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const a = parseQueueUrl(o.queue);
  const q = await openQueue(a);
  try {
    if (o.wait) {
      let last = '';
      await waitForQueue(q.queue, a, (c) => {
        const line = countsLine(c);
        if (line !== last) console.log(`  ${line}`);
        last = line;
      });
    }
    const jobs = await allJobs(q.queue);
    if (jobs.length === 0) throw new Error(`--queue: queue '${a.name}' on ${describeRedis(a)} holds no cells; submit a grid first`);
    const cells = await Promise.all(jobs.map(jobToCell));
    const axes = [...new Set(jobs.flatMap((j) => j.data.axes))];
    await writeCellResults(o.out, cells);
    printCollect(o.out, await writeCollection(o.out, cells, { source: a.url, axes, plots: o.plots ?? true }));
  } finally {
    await q.close();
  }
}

export async function collectLocal(o: SweepCollectOptions): Promise<void> {
  if (!o.out) throw new Error('--out DIR is required');
  const spec = await readGridSpec(o.out);
  printCollect(o.out, await writeCollection(o.out, await localCells(gridCells(spec), o.out), { source: resolve(o.out), axes: Object.keys(spec.grid), plots: o.plots ?? true }));
}

export interface WorkerCommandOptions {
  queue?: string;
  concurrency?: string;
  artifacts?: string;
  lockMs?: string;
  stalledMs?: string;
  maxStalled?: string;
}

export async function runWorker(o: WorkerCommandOptions): Promise<void> {
  const a = parseQueueUrl(o.queue);
  const log = (line: string) => console.log(`ncgpu worker: ${line}`);
  const w = await startWorker(a, {
    concurrency: int('concurrency', o.concurrency ?? '1'),
    artifacts: o.artifacts,
    lockMs: int('lock-ms', o.lockMs ?? '30000', 100),
    stalledMs: int('stalled-ms', o.stalledMs ?? '30000', 100),
    maxStalled: int('max-stalled', o.maxStalled ?? '3'),
    log,
  });
  // first signal: finish the running cells and leave; second: leave now (the cells' locks lapse
  // and other workers take them over from their checkpoints)
  let closing = false;
  const onSignal = () => {
    if (closing) process.exit(130);
    closing = true;
    log('finishing the running cells, then leaving (Ctrl-C again to leave now)');
    void w.close().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// ---------------------------------------------------------------- registration

function fail(e: unknown): never {
  console.error(`ncgpu sweep: ${(e as Error).message}`);
  process.exit(1);
}

export function registerSweepCommand(program: Command): void {
  const lookup = optionLookup(program);
  const sweep = program.command('sweep').description('experiment grids: cells of any ncgpu command, locally in worker processes or across machines on a Redis queue');
  const cores = String(Math.max(1, Math.floor(availableParallelism() / 2)));

  sweep.command('run')
    .description('run a grid file on this machine (finished cells are skipped, so a rerun resumes)')
    .argument('<grid>', 'grid file: { "command": ..., "args": {...}, "grid": { axis: [values] } }')
    .requiredOption('--out <dir>', 'output folder: cells/KEY/ per cell, cells.json, cells.csv, plots/')
    .option('--workers <n>', `cells run at once, each in its own process (e.g. ${cores} on this machine)`, '1')
    .option('--attempts <n>', 'runs of a failing cell before it is reported failed', '3')
    .option('--backoff <ms>', 'pause before retrying a failed cell; doubles each retry', '2000')
    .option('--no-plots', 'write cells.json and cells.csv only')
    .action((file: string, opts: SweepRunOptions) => readGridFile(file, lookup).then((spec) => runGridLocally(spec, opts)).catch(fail));

  sweep.command('submit')
    .description('put a grid\'s cells on a Redis queue for `ncgpu worker`s to run (cells already there are not added twice)')
    .argument('<grid>', 'grid file')
    .requiredOption('--queue <url>', 'redis://HOST:PORT[/NAME] (NAME: the queue, default ncgpu)')
    .option('--attempts <n>', 'runs of a failing cell before it is reported failed', '3')
    .option('--backoff <ms>', 'pause before retrying a failed cell; doubles each retry', '2000')
    .action((file: string, opts: SweepSubmitOptions) => readGridFile(file, lookup).then((spec) => submitGridToQueue(spec, opts)).then(() => undefined).catch(fail));

  sweep.command('status')
    .description('cells done / running / failed / waiting on a queue, with the errors of failed cells')
    .requiredOption('--queue <url>', 'redis://HOST:PORT[/NAME]')
    .option('--json', 'print JSON')
    .action((opts: { queue?: string; json?: boolean }) => showStatus(opts).catch(fail));

  sweep.command('collect')
    .description('gather the cells into cells.json, cells.csv and plots of each scalar result vs each grid axis')
    .option('--queue <url>', 'read the cells from this queue (without it: re-collect the folder of a `sweep run`)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--wait', 'with --queue: first wait until no cell is waiting or running')
    .option('--no-plots', 'write cells.json and cells.csv only')
    .action((opts: SweepCollectOptions) => (opts.queue ? collectFromQueue(opts) : collectLocal(opts)).catch(fail));

  program.command('worker')
    .description('take cells from a Redis queue and run them until stopped (Ctrl-C finishes the running cells first)')
    .requiredOption('--queue <url>', 'redis://HOST:PORT[/NAME]')
    .option('--concurrency <n>', 'cells run at once, each in its own process', '1')
    .option('--artifacts <dir>', 'cell folders here (shared storage lets another worker resume a dead worker\'s cell from its checkpoint)')
    .option('--lock-ms <ms>', 'a dead worker\'s cell is taken over after this long', '30000')
    .option('--stalled-ms <ms>', 'how often to look for cells of dead workers', '30000')
    .option('--max-stalled <n>', 'times a cell may lose its worker before it is reported failed', '3')
    .action((opts: WorkerCommandOptions) => runWorker(opts).catch((e: Error) => {
      console.error(`ncgpu worker: ${e.message}`);
      process.exit(1);
    }));
}
