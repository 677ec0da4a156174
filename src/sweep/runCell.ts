/**
 * Runs one cell as the ordinary ncgpu command in a child process, in the cell's own folder
 * (results.json, plots, log.txt, checkpoint), and marks the folder done when the command succeeds.
 * A separate process per cell keeps a crash, a GPU device or a leak in one cell from touching the
 * others, and is exactly what a user would get running the command by hand.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKPOINT_FILES } from './commands.js';
import { cellArgv, type Cell } from './grid.js';
import { PARENT_ENV } from './orphanGuard.js';

export interface CellRecord {
  key: string;
  command: string;
  values: Cell['values'];
  flags: Cell['flags'];
  status: 'done';
  seconds: number;
  host: string;
  finishedAt: string;
  resumedFrom?: string;
}

export interface CellOutcome {
  record: CellRecord;
  /** the command's results.json */
  results: unknown;
}

const DONE_FILE = 'cell.json';

export const cellFolder = (root: string, key: string): string => join(root, key);

/** The finished cell's record and results, or undefined when the cell has not finished here. */
export async function readFinishedCell(root: string, key: string): Promise<CellOutcome | undefined> {
  const dir = cellFolder(root, key);
  if (!existsSync(join(dir, DONE_FILE))) return undefined;
  try {
    const record = JSON.parse(await readFile(join(dir, DONE_FILE), 'utf8')) as CellRecord;
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
    return record.key === key ? { record, results } : undefined;
  } catch {
    return undefined; // a damaged folder counts as unfinished: the cell runs again
  }
}

/** The CLI next to this module: src/cli/index.ts under tsx, dist/cli/index.js when installed. */
function cliEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../cli/index.${ext}`, import.meta.url));
}

/** Node flags to pass on (the tsx loader), minus debugger flags that would clash on one port. */
const childExecArgv = () => process.execArgv.filter((a) => !a.startsWith('--inspect'));

/** The last lines this attempt wrote to the cell's log (from byte `from`): what the command said before it failed. */
async function logTail(path: string, from: number, lines = 6): Promise<string> {
  const text = (await readFile(path).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
  return text.trim().split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

export class CellError extends Error {}

/**
 * Runs the cell unless it has already finished in `root` (then returns the stored outcome).
 * Resumes from the command's checkpoint when an earlier attempt left one.
 */
export interface RunCellOptions {
  signal?: AbortSignal;
  /** cells running at once on this machine: each cell's BLAS and addon threads get a share of the cores */
  concurrent?: number;
}

/**
 * NCGPU_THREADS for a cell: the cores split among the cells running at once. OpenBLAS threads
 * spin while they wait, so two cells each using every core run slower together than one after
 * the other. A user's own NCGPU_THREADS wins.
 */
export function cellThreads(concurrent: number): string {
  return process.env.NCGPU_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, concurrent))));
}

export async function runCell(cell: Cell, root: string, o: RunCellOptions = {}): Promise<CellOutcome> {
  const { signal } = o;
  const done = await readFinishedCell(root, cell.key);
  if (done) return done;
  const dir = cellFolder(root, cell.key);
  await mkdir(dir, { recursive: true });
  const checkpointName = CHECKPOINT_FILES[cell.command];
  const checkpoint = checkpointName && existsSync(join(dir, checkpointName)) ? join(dir, checkpointName) : undefined;
  // the command writes its checkpoint where it resumes from: move it aside so a half-written
  // new checkpoint can never be the file being read
  let resume: string | undefined;
  if (checkpoint) {
    resume = join(dir, `resume-${checkpointName}`);
    await rm(resume, { force: true });
    await writeFile(resume, await readFile(checkpoint));
  }
  await rm(join(dir, 'results.json'), { force: true });
  const logPath = join(dir, 'log.txt');
  const argv = cellArgv(cell, dir, resume);
  await appendFile(logPath, `\n$ ncgpu ${argv.join(' ')}\n`);
  const started = performance.now();
  const log = await open(logPath, 'a');
  const attemptStart = (await log.stat()).size;
  let code: number | null;
  let killedBy: NodeJS.Signals | null;
  try {
    [code, killedBy] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      const child = spawn(process.execPath, [...childExecArgv(), cliEntry(), ...argv], {
        stdio: ['ignore', log.fd, log.fd], signal, killSignal: 'SIGTERM', env: { ...process.env, [PARENT_ENV]: String(process.pid), NCGPU_THREADS: cellThreads(o.concurrent ?? 1) },
      });
      child.on('error', (e) => (e.name === 'AbortError' ? undefined : reject(e)));
      child.on('exit', (c, s) => resolve([c, s]));
    });
  } finally {
    await log.close();
  }
  if (signal?.aborted) throw new CellError('stopped');
  if (code !== 0) {
    const why = killedBy ? `killed by ${killedBy}` : `exit code ${code}`;
    throw new CellError(`ncgpu ${cell.command} failed (${why}): ${await logTail(logPath, attemptStart)}`);
  }
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
  const record: CellRecord = {
    key: cell.key, command: cell.command, values: cell.values, flags: cell.flags, status: 'done',
    seconds: (performance.now() - started) / 1000, host: hostname(), finishedAt: new Date().toISOString(),
    ...(resume ? { resumedFrom: resume } : {}),
  };
  // written last: its presence is what marks the cell finished
  await writeFile(join(dir, DONE_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return { record, results };
}
