/**
 * Runs a numpy baseline script of bench/baselines/ and returns the JSON object on its last line of
 * output. The child gets the user's environment without the OPENBLAS_CORETYPE ncgpu chose for
 * itself (numpy's own OpenBLAS picks its kernels), and with `threads` BLAS threads when given.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { environmentWithoutOwnCore } from '../src/backend/cpu/openblasCore.js';

export interface BaselineRun {
  threads?: number;
  timeoutMs?: number;
}

export function runNumpyBaseline<T>(script: string, args: readonly (string | number)[], run: BaselineRun = {}): { ok: T } | { error: string } {
  const path = fileURLToPath(new URL(`./baselines/${script}`, import.meta.url));
  const env = environmentWithoutOwnCore();
  if (run.threads !== undefined) {
    for (const v of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) env[v] = String(run.threads);
  }
  const r = spawnSync('python3', [path, ...args.map(String)], { encoding: 'utf8', env, timeout: run.timeoutMs ?? 600_000, maxBuffer: 2 ** 24 });
  if (r.error || r.status !== 0 || !r.stdout) return { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').at(-1)! };
  try {
    return { ok: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T };
  } catch (e) {
    return { error: `unreadable output: ${(e as Error).message}` };
  }
}

/** python3 with numpy is on the PATH. */
export function hasNumpy(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}
