/**
 * `ncgpu worker`: takes cells from the queue and runs them, `concurrency` at a time. The job's
 * result is the cell's results.json. A worker that dies mid-cell stops renewing the job's lock;
 * BullMQ's stalled-job check then hands the cell to another worker, which resumes from the
 * cell's checkpoint when the cell folder is shared (`--artifacts` on shared storage, or the same
 * machine).
 */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { cellLabel } from './grid.js';
import type { CellJobData, CellJobProgress } from './queue.js';
import { connectRedis, describeRedis, redisErrorText, type QueueAddress } from './queueUrl.js';
import { runCell } from './runCell.js';

export interface WorkerOptions {
  concurrency: number;
  /** where cell folders go (default: a folder per queue under the system's temp folder) */
  artifacts?: string;
  /** ms a running cell's lock lasts without renewal: how soon a dead worker's cell is taken over */
  lockMs: number;
  /** ms between checks for cells whose worker died */
  stalledMs: number;
  /** times a cell may lose its worker before it is reported failed */
  maxStalled: number;
  log: (line: string) => void;
}

export const defaultArtifacts = (a: QueueAddress): string => join(tmpdir(), 'ncgpu-cells', `${a.host}-${a.port}-${a.name}`);

export interface RunningWorker {
  worker: Worker<CellJobData>;
  /** finishes the running cells, then disconnects */
  close(): Promise<void>;
}

/** Reports a Redis outage once when it starts and once when it ends, not on every reconnect. */
function watchConnection(redis: { on(e: string, f: (...args: unknown[]) => void): unknown }, a: QueueAddress, log: (s: string) => void) {
  let down = false;
  redis.on('error', (e) => {
    if (down) return;
    down = true;
    log(`lost the connection to ${describeRedis(a)} (${redisErrorText(e)}); running cells go on, and new ones wait until it is back`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log(`${describeRedis(a)} is back; taking cells again`);
  });
}

export async function startWorker(a: QueueAddress, o: WorkerOptions): Promise<RunningWorker> {
  const redis = await connectRedis(a, true);
  const root = o.artifacts ?? defaultArtifacts(a);
  const me: CellJobProgress = { host: hostname(), pid: process.pid };
  const processCell = async (job: Job<CellJobData>) => {
    const cell = job.data;
    const label = `cell ${cell.key} (${cellLabel(cell.values)})`;
    await job.updateProgress(me);
    o.log(`${label}: started, attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}`);
    try {
      const { record, results } = await runCell(cell, root, { concurrent: o.concurrency });
      o.log(`${label}: done in ${record.seconds.toFixed(1)} s${record.resumedFrom ? ' (resumed from its checkpoint)' : ''}`);
      return results;
    } catch (e) {
      o.log(`${label}: failed: ${(e as Error).message}`);
      throw e;
    }
  };
  const worker = new Worker<CellJobData>(a.name, processCell, {
    connection: redis, concurrency: o.concurrency, lockDuration: o.lockMs, stalledInterval: o.stalledMs, maxStalledCount: o.maxStalled,
  });
  watchConnection(redis, a, o.log);
  worker.on('error', () => {}); // connection errors are reported by watchConnection
  await worker.waitUntilReady();
  o.log(`taking cells from queue '${a.name}' on ${describeRedis(a)}, ${o.concurrency} at a time; cell folders in ${root}`);
  return {
    worker,
    close: async () => {
      await worker.close();
      redis.disconnect();
    },
  };
}
