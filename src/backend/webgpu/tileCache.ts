/**
 * The tile cache: the GEMM tiles `ncgpu bench --tune` found fastest, per adapter, in one JSON file
 * that every webgpu context on that adapter reads, so later runs and ops take them.
 *
 * Which file: the context's `tileCache` option (the bench's --tune-cache), else NCGPU_TUNE_CACHE,
 * else gemm-tiles.json in the user's cache folder for ncgpu ($XDG_CACHE_HOME/ncgpu or
 * ~/.cache/ncgpu on Linux, ~/Library/Caches/ncgpu on macOS, %LOCALAPPDATA%\ncgpu on Windows).
 * `false` (or NCGPU_TUNE_CACHE=off) reads none. Adapters are told apart by Dawn backend, vendor,
 * architecture, device and driver description, so a driver update starts afresh.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../data/atomicFile.js';
import type { AdapterDescription, TunedGemmShader, TunedGemmTiles } from '../types.js';
import { VERSION } from '../../version.js';

const FORMAT = 'ncgpu-gemm-tiles';
const SHADERS: readonly TunedGemmShader[] = ['matmul', 'distance'];

/** What the tuning recorded for one size, beyond the choice itself. */
export interface TunedRecord extends TunedGemmTiles {
  /** GFLOPS of the winner, and of every configuration tried */
  gflops: number;
  tried: { tiles: string; gflops: number }[];
}

interface AdapterEntry {
  adapter: Pick<AdapterDescription, 'device' | 'vendor' | 'architecture' | 'description' | 'dawnBackend'>;
  updatedAt: string;
  ncgpu: string;
  tuned: TunedRecord[];
}

interface CacheFile {
  format: typeof FORMAT;
  version: 1;
  adapters: Record<string, AdapterEntry>;
}

/** The user's cache folder for ncgpu. */
function cacheFolder(): string {
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'ncgpu');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'ncgpu');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ncgpu');
}

/** The tile cache file to use: the option, else NCGPU_TUNE_CACHE, else the default; null for none. */
export function resolveTileCachePath(option: string | false | undefined): string | null {
  if (option === false) return null;
  if (option !== undefined) {
    if (typeof option !== 'string' || option === '') throw new RangeError(`createContext: tileCache must be a file path or false; got ${JSON.stringify(option)}`);
    return option;
  }
  const env = process.env.NCGPU_TUNE_CACHE;
  if (env === 'off') return null;
  return env || join(cacheFolder(), 'gemm-tiles.json');
}

/** The key an adapter's entry is stored under. */
export function adapterKey(a: AdapterDescription): string {
  return [a.dawnBackend, a.vendor, a.architecture, a.device, a.description].join(' | ');
}

function parse(path: string): CacheFile {
  const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<CacheFile>;
  if (data.format !== FORMAT || data.version !== 1 || typeof data.adapters !== 'object' || data.adapters === null) {
    throw new Error(`not an ncgpu tile cache (format '${FORMAT}', version 1)`);
  }
  return data as CacheFile;
}

function validEntry(e: unknown): e is TunedGemmTiles {
  const t = e as TunedGemmTiles;
  return SHADERS.includes(t?.shader) && Number.isInteger(t.size) && t.size > 0 && typeof t.tiles === 'string';
}

/** What a context reads from the tile cache: the adapter's tuned tiles, or why there are none. */
export interface TileCacheRead {
  path: string | null;
  tuned: TunedGemmTiles[];
  /** set when the file exists but could not be used */
  problem?: string;
}

/** The adapter's tuned tiles from the cache at `path` (none when it is null or absent). */
export function readTileCache(path: string | null, adapter: AdapterDescription): TileCacheRead {
  if (path === null || !existsSync(path)) return { path, tuned: [] };
  try {
    const entry = parse(path).adapters[adapterKey(adapter)];
    const tuned = (entry?.tuned ?? []).filter(validEntry).map(({ shader, size, tiles }) => ({ shader, size, tiles }));
    return { path, tuned };
  } catch (e) {
    return { path, tuned: [], problem: `cannot use the tile cache ${path}: ${(e as Error).message}` };
  }
}

/**
 * Records tuned tiles for the adapter in the cache at `path`, replacing earlier entries of the
 * same shader and size and keeping everything else (a file that is no tile cache is replaced).
 * Returns the adapter's tuned tiles after the merge.
 */
export async function writeTileCache(path: string, adapter: AdapterDescription, records: readonly TunedRecord[]): Promise<TunedGemmTiles[]> {
  let file: CacheFile = { format: FORMAT, version: 1, adapters: {} };
  if (existsSync(path)) {
    try {
      file = parse(path);
    } catch {
      // a cache: what cannot be read is rebuilt
    }
  }
  const key = adapterKey(adapter);
  const replaced = (e: TunedGemmTiles) => records.some((r) => r.shader === e.shader && r.size === e.size);
  const kept = (file.adapters[key]?.tuned ?? []).filter((e) => validEntry(e) && !replaced(e));
  const tuned = [...kept, ...records].sort((x, y) => x.shader.localeCompare(y.shader) || x.size - y.size);
  const { device, vendor, architecture, description, dawnBackend } = adapter;
  file.adapters[key] = { adapter: { device, vendor, architecture, description, dawnBackend }, updatedAt: new Date().toISOString(), ncgpu: VERSION, tuned };
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return tuned.map(({ shader, size, tiles }) => ({ shader, size, tiles }));
}
