/**
 * One run per --out folder. A folder holding another run's results.json is refused unless
 * --overwrite is given (which removes the files that run wrote), and a lock file holding the
 * writer's process id stops two live runs from writing into the same folder.
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

export const RESULTS_FILE = 'results.json';
export const LOCK_FILE = '.ncgpu.lock';

/** What a previous run left in results.json that decides whether a new run may use its folder. */
export interface PreviousRun {
  runId?: string;
  command?: string;
  createdAt?: string;
  files?: string[];
}

export interface RunFolderOptions {
  overwrite: boolean;
  /** true when `previous` is the run being resumed: its folder is this run's */
  sameRun: (previous: PreviousRun) => boolean;
}

export interface RunFolder {
  /** removes the lock file (idempotent; also done when the process exits) */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function takeLock(out: string): Promise<void> {
  const path = join(out, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const f = await open(path, 'wx');
      await f.writeFile(String(process.pid));
      await f.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`--out ${out} is in use by another ncgpu run (process ${pid}; lock file ${path}); wait for it to finish or choose another --out`);
    }
    // a lock left by a run that was killed: take it over
    await unlink(path).catch(() => {});
  }
  throw new Error(`--out ${out}: could not take the lock file ${path}`);
}

async function previousRun(out: string): Promise<PreviousRun | undefined> {
  let text: string;
  try {
    text = await readFile(join(out, RESULTS_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as PreviousRun;
  } catch {
    return {};
  }
}

/** Files of the previous run: those its results.json lists, or (results written before the list existed) its plots and checkpoints. */
function filesOf(out: string, prev: PreviousRun): string[] {
  const listed = Array.isArray(prev.files)
    ? prev.files
    : readdirSync(out).filter((f) => /\.(png|svg)$/.test(f) || f === 'checkpoint.ufm' || f === 'checkpoint.nn');
  // only plain names inside the folder: a damaged list must not reach outside it
  return [...listed.filter((f) => typeof f === 'string' && basename(f) === f), RESULTS_FILE];
}

function clear(out: string, prev: PreviousRun): void {
  for (const f of filesOf(out, prev)) {
    try {
      unlinkSync(join(out, f));
    } catch {
      // already gone
    }
  }
}

function releaser(out: string): RunFolder {
  const path = join(out, LOCK_FILE);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // removed already
    }
  };
  process.on('exit', release);
  return { release };
}

/** Creates --out if needed, locks it, and refuses (or, with --overwrite, clears) another run's results. */
export async function claimRunFolder(out: string, o: RunFolderOptions): Promise<RunFolder> {
  await mkdir(out, { recursive: true });
  await takeLock(out);
  const folder = releaser(out);
  const prev = await previousRun(out);
  if (prev && !o.sameRun(prev)) {
    if (!o.overwrite) {
      folder.release();
      const what = [prev.command, prev.createdAt && `created ${prev.createdAt}`].filter(Boolean).join(', ');
      throw new Error(`--out ${out} holds the results of another run${what ? ` (${what})` : ''}; pass --overwrite to replace them or choose another --out`);
    }
    clear(out, prev);
  }
  return folder;
}
