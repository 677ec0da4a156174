/**
 * Grid files: one ncgpu command, fixed flags (`args`) and axes (`grid`) whose cartesian product
 * gives the cells. Each cell is keyed by a hash of its full configuration, so a rerun can tell a
 * finished cell from a changed one.
 *
 *   { "command": "ufm train",
 *     "args": { "classes": 4, "steps": 2000, "backend": "cpu" },
 *     "grid": { "depth": [1, 2], "seed": [0, 1] } }
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CELL_COMMANDS, RUNNER_FLAGS } from './commands.js';

export type FlagValue = string | number | boolean;

export interface GridSpec {
  command: string;
  args: Record<string, FlagValue>;
  grid: Record<string, FlagValue[]>;
}

export interface Cell {
  /** 16 hex digits of the SHA-256 of the command and every flag with its value */
  key: string;
  command: string;
  /** this cell's value on each grid axis, in the grid file's axis order */
  values: Record<string, FlagValue>;
  /** args and values together: the flags the command runs with (--out, --resume and --overwrite excluded) */
  flags: Record<string, FlagValue>;
}

/** Tells which long flags (without '--') a command accepts; undefined for an unknown command. */
export type OptionLookup = (command: string) => readonly string[] | undefined;

const isFlagValue = (v: unknown): v is FlagValue =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function checkFlagName(where: string, name: string, command: string, options: readonly string[] | undefined): void {
  if (RUNNER_FLAGS.includes(name)) throw new Error(`${where}: '${name}' is set by the sweep runner for each cell; leave it out`);
  if (options && !options.includes(name)) {
    throw new Error(`${where}: '${name}' is not an option of 'ncgpu ${command}' (its options: ${options.filter((o) => !RUNNER_FLAGS.includes(o)).join(', ')})`);
  }
}

/** Checks a parsed grid file; every error names the file and the offending entry. */
export function parseGrid(value: unknown, source: string, lookup?: OptionLookup): GridSpec {
  const at = (p: string) => `${source}: ${p}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: a grid file is a JSON object with 'command', 'args' and 'grid'`);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['command', 'args', 'grid'].includes(k)) throw new Error(at(`unknown key '${k}' (a grid file has 'command', 'args' and 'grid')`));
  if (typeof o.command !== 'string' || !CELL_COMMANDS.includes(o.command)) {
    throw new Error(at(`'command' must be one of ${CELL_COMMANDS.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(o.command)}`));
  }
  const command = o.command;
  const options = lookup?.(command);
  const args = o.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error(at(`'args' must be an object of flag: value, got ${JSON.stringify(args)}`));
  for (const [k, v] of Object.entries(args)) {
    checkFlagName(at(`args.${k}`), k, command, options);
    if (!isFlagValue(v)) throw new Error(at(`args.${k} must be a string, finite number or boolean, got ${JSON.stringify(v)}`));
  }
  const grid = o.grid;
  if (typeof grid !== 'object' || grid === null || Array.isArray(grid)) throw new Error(at(`'grid' must be an object of axis: [values], got ${JSON.stringify(grid)}`));
  const axes = Object.entries(grid);
  if (axes.length === 0) throw new Error(at(`'grid' is empty: name at least one axis, e.g. "grid": { "seed": [0, 1, 2] }`));
  for (const [k, v] of axes) {
    checkFlagName(at(`grid.${k}`), k, command, options);
    if (k in (args as object)) throw new Error(at(`'${k}' is both in args and in grid; keep it in one`));
    if (!Array.isArray(v) || v.length === 0) throw new Error(at(`grid.${k} must be a non-empty array of values, got ${JSON.stringify(v)}`));
    for (const x of v) if (!isFlagValue(x)) throw new Error(at(`grid.${k} values must be strings, finite numbers or booleans, got ${JSON.stringify(x)}`));
    if (new Set(v.map(String)).size !== v.length) throw new Error(at(`grid.${k} lists a value twice: ${JSON.stringify(v)}`));
  }
  return { command, args: args as Record<string, FlagValue>, grid: grid as Record<string, FlagValue[]> };
}

export async function readGridFile(path: string, lookup?: OptionLookup): Promise<GridSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`GRID: cannot read '${path}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseGrid(json, path, lookup);
}

/** Flags are command-line text, so `2` and `"2"` are the same configuration and hash alike. */
export function cellKey(command: string, flags: Record<string, FlagValue>): string {
  const canonical = Object.keys(flags).sort().map((k) => [k, String(flags[k])]);
  return createHash('sha256').update(JSON.stringify([command, canonical])).digest('hex').slice(0, 16);
}

/** The cartesian product of the axes, first axis slowest. */
export function gridCells(spec: GridSpec): Cell[] {
  let combos: Record<string, FlagValue>[] = [{}];
  for (const [axis, values] of Object.entries(spec.grid)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  }
  return combos.map((values) => {
    const flags = { ...spec.args, ...values };
    return { key: cellKey(spec.command, flags), command: spec.command, values, flags };
  });
}

/** argv after the script: command words, then flags; `true` is a bare switch and `false` leaves the flag out. */
export function cellArgv(cell: Pick<Cell, 'command' | 'flags'>, out: string, resume?: string): string[] {
  const argv = cell.command.split(' ');
  for (const [k, v] of Object.entries(cell.flags)) {
    if (v === false) continue;
    argv.push(`--${k}`);
    if (v !== true) argv.push(String(v));
  }
  argv.push('--out', out);
  // a cell's folder is the grid's: a fresh attempt replaces what an earlier failed one left
  // there, a resumed one continues its own run
  if (resume) argv.push('--resume', resume);
  else argv.push('--overwrite');
  return argv;
}

/** "depth=2 seed=1": how logs and tables name a cell. */
export const cellLabel = (values: Record<string, FlagValue>): string =>
  Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ');
