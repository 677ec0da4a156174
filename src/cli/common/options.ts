/**
 * Option parsing shared by every `ncgpu` command: each parser names the option in its error, so a
 * user always learns which flag to fix.
 */
import { BACKEND_CHOICES, type BackendChoice } from '../../context.js';

/** An integer >= `min` (and <= `max` when given). */
export function int(name: string, v: string | undefined, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const x = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  // Number('99999999999999999999') is 1e20: past 2^53 the integer the user typed is not the one used
  if (x > max) throw new Error(`--${name} must be an integer <= ${max}, got '${v}'`);
  return x;
}

/** A finite number that is positive (default) or non-negative. */
export function num(name: string, v: string | undefined, positive = true): number {
  return numWhere(name, v, positive ? (x) => x > 0 : (x) => x >= 0, positive ? 'a positive number' : 'a non-negative number');
}

/** A finite number that passes `check`; `want` says what it must be (e.g. 'a number in (0, 1)'). */
export function numWhere(name: string, v: string | undefined, check: (n: number) => boolean, want: string): number {
  const x = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new Error(`--${name} must be ${want}, got '${v}'`);
  return x;
}

/** A comma-separated list, each item parsed by `parse(name, item)`. */
export function list(name: string, v: string | undefined, parse: (name: string, item: string) => number): number[] {
  if (v === undefined || v.trim() === '') throw new Error(`--${name} must be a comma-separated list, got '${v}'`);
  return v.split(',').map((s) => parse(name, s.trim()));
}

export const intItem = (name: string, s: string): number => int(name, s);
export const numItem = (name: string, s: string): number => num(name, s);
export const anyNumItem = (name: string, s: string): number => numWhere(name, s, () => true, 'a list of numbers');

export function oneOf<T extends string>(name: string, v: string | undefined, choices: readonly T[]): T {
  if (!choices.includes(v as T)) throw new Error(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

/** Seeds feed a 32-bit generator: a larger one would silently wrap onto a smaller seed's run. */
export const SEED_MAX = 2 ** 32 - 1;

export function seedOption(name: string, v: string | undefined): number {
  return int(name, v, 0, SEED_MAX);
}

/**
 * --backend, else the NCGPU_BACKEND environment variable (as the API's createContext reads it),
 * else 'auto'. Commands must not give --backend a commander default, or the variable is never seen.
 */
export function backendOption(v: string | undefined): BackendChoice {
  if (v !== undefined) return oneOf<BackendChoice>('backend', v, BACKEND_CHOICES);
  const env = process.env.NCGPU_BACKEND;
  if (env === undefined || env === '') return 'auto';
  if (!BACKEND_CHOICES.includes(env as BackendChoice)) throw new Error(`NCGPU_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got '${env}'`);
  return env as BackendChoice;
}

export const BACKEND_HELP = `backend: ${BACKEND_CHOICES.join(', ')} (default: NCGPU_BACKEND, else auto)`;
