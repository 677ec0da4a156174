/**
 * The grid on a BullMQ queue: submit its cells as jobs (job id = cell key, so submitting twice
 * adds nothing), count them by state, wait for them, and read back each cell's outcome.
 */
import { Queue, type Job, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CollectedCell } from './collect.js';
import type { Cell, GridSpec } from './grid.js';
import type { RetryPolicy } from './local.js';
import { connectRedis, describeRedis, type QueueAddress } from './queueUrl.js';

export interface CellJobData {
  key: string;
  command: string;
  values: Cell['values'];
  flags: Cell['flags'];
  /** the grid's axes, in order: collect plots against them */
  axes: string[];
}

/** Where a worker ran the cell; set as the job's progress when it starts. */
export interface CellJobProgress {
  host: string;
  pid: number;
}

export const jobId = (key: string): string => `cell-${key}`;

export interface QueueHandle {
  queue: Queue<CellJobData>;
  redis: Redis;
  close(): Promise<void>;
}

export async function openQueue(a: QueueAddress, persistent = false): Promise<QueueHandle> {
  const redis = await connectRedis(a, persistent);
  const queue = new Queue<CellJobData>(a.name, { connection: redis });
  queue.on('error', () => {}); // reported by the command that hits it, once
  return {
    queue, redis,
    close: async () => {
      await queue.close().catch(() => {});
      redis.disconnect();
    },
  };
}

export interface SubmitSummary {
  added: number;
  alreadyDone: number;
  alreadyQueued: number;
  retried: number;
}

/** Enqueues the cells not yet on the queue; failed ones are retried from scratch. */
export async function submitGrid(q: Queue<CellJobData>, spec: GridSpec, cells: Cell[], retry: RetryPolicy): Promise<SubmitSummary> {
  const axes = Object.keys(spec.grid);
  const summary: SubmitSummary = { added: 0, alreadyDone: 0, alreadyQueued: 0, retried: 0 };
  const fresh: Cell[] = [];
  for (const cell of cells) {
    const job = await q.getJob(jobId(cell.key));
    if (!job) fresh.push(cell);
    else {
      const state = await job.getState();
      if (state === 'completed') summary.alreadyDone++;
      else if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true });
        summary.retried++;
      } else summary.alreadyQueued++;
    }
  }
  await q.addBulk(fresh.map((cell) => ({
    name: 'cell',
    data: { key: cell.key, command: cell.command, values: cell.values, flags: cell.flags, axes },
    opts: {
      jobId: jobId(cell.key),
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      // finished jobs hold the results collect reads, so they stay until the queue is obliterated
      removeOnComplete: false,
      removeOnFail: false,
    },
  })));
  summary.added = fresh.length;
  return summary;
}

export interface QueueCounts {
  done: number;
  running: number;
  failed: number;
  /** waiting for a worker, or for the backoff pause before a retry */
  waiting: number;
  retrying: number;
}

export async function queueCounts(q: Queue<CellJobData>): Promise<QueueCounts> {
  const c = await q.getJobCounts('completed', 'active', 'failed', 'waiting', 'delayed', 'prioritized', 'waiting-children');
  return {
    done: c.completed ?? 0,
    running: c.active ?? 0,
    failed: c.failed ?? 0,
    waiting: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0),
    retrying: c.delayed ?? 0,
  };
}

const ALL_STATES: JobType[] = ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];

/** Every job on the queue, page by page (a grid can hold thousands of cells). */
export async function allJobs(q: Queue<CellJobData>, states: JobType[] = ALL_STATES): Promise<Job<CellJobData>[]> {
  const jobs: Job<CellJobData>[] = [];
  for (let start = 0; ; start += 500) {
    const page = (await q.getJobs(states, start, start + 499, true)) as Job<CellJobData>[];
    jobs.push(...page.filter(Boolean));
    if (page.length < 500) return jobs;
  }
}

/** A job as collect sees it: done with its results.json, failed with the last error, or still pending. */
export async function jobToCell(job: Job<CellJobData>): Promise<CollectedCell> {
  const state = await job.getState();
  const d = job.data;
  const progress = job.progress as Partial<CellJobProgress> | undefined;
  const base = { key: d.key, command: d.command, values: d.values, flags: d.flags };
  if (state === 'completed') {
    const seconds = job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined;
    return { ...base, status: 'done', results: job.returnvalue, seconds, host: progress?.host };
  }
  if (state === 'failed') return { ...base, status: 'failed', error: `${job.failedReason} (after ${job.attemptsMade} attempts)` };
  return { ...base, status: 'pending' };
}

/** Polls until no cell is waiting or running; `onCounts` sees every poll. */
export async function waitForQueue(q: Queue<CellJobData>, a: QueueAddress, onCounts: (c: QueueCounts) => void, signal?: AbortSignal): Promise<QueueCounts> {
  for (;;) {
    let counts: QueueCounts;
    try {
      counts = await queueCounts(q);
    } catch (e) {
      throw new Error(`lost ${describeRedis(a)} while waiting for the grid (${(e as Error).message}); the cells stay queued: rerun to wait again`);
    }
    onCounts(counts);
    if (counts.running + counts.waiting === 0 || signal?.aborted) return counts;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
