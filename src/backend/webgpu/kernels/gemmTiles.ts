/**
 * Tile configurations of the tiled GEMM (shaders/gemm_core.wgsl) and which one a launch takes:
 * a configuration forced while `ncgpu bench --tune` times it, else the tuned choice for this
 * adapter (read from the tile cache, see tileCache.ts), else the built-in choice by shape.
 */
import type { GemmTileControl, TunedGemmTiles } from '../../types.js';
import type { GpuDevice } from '../device.js';

/**
 * Workgroup tile TILE_M x TILE_N over a TILE_K slice, WG_M x WG_N invocations, each owning a
 * (TILE_M / WG_M) x (TILE_N / WG_N) register block (4 or 8 on each side).
 */
export interface GemmTiles {
  /** tileM x tileN x tileK */
  name: string;
  tileM: number;
  tileN: number;
  tileK: number;
  wgM: number;
  wgN: number;
}

function tiles(tileM: number, tileN: number, tileK: number, wgM: number, wgN: number): GemmTiles {
  return { name: `${tileM}x${tileN}x${tileK}`, tileM, tileN, tileK, wgM, wgN };
}

/** 8 x 8 per invocation: the fewest workgroup-memory reads per FMA; for large outputs on GPUs. */
export const TILES_128 = tiles(128, 128, 16, 16, 16);
/** 8 x 4 per invocation: twice the workgroups of 128 x 128; the fastest tile on llvmpipe. */
export const TILES_128x64 = tiles(128, 64, 16, 16, 16);
/** 4 x 4 per invocation: four times the workgroups of 128 x 128, for mid-sized outputs. */
export const TILES_64 = tiles(64, 64, 16, 16, 16);
/** Few columns (n <= 16: matrix times a handful of vectors). */
export const TILES_TALL = tiles(256, 16, 16, 64, 4);
/** Few rows (m <= 16: e.g. one-hot class sums, K x N class statistics). */
export const TILES_WIDE = tiles(16, 256, 16, 4, 64);

/**
 * What `ncgpu bench --tune` tries: the built-in tiles, their transposes, twice the K slice (half
 * the barriers per FMA, twice the workgroup memory), and a 64-invocation tile for small products.
 */
export const GEMM_TILE_CANDIDATES: readonly GemmTiles[] = [
  TILES_128, TILES_128x64, tiles(64, 128, 16, 16, 16), TILES_64, tiles(64, 64, 32, 16, 16), tiles(128, 64, 32, 16, 16), tiles(32, 32, 16, 8, 8),
];

/** Bytes of workgroup memory a configuration stages (f32 quads, rows padded by one quad). */
function workgroupBytes(t: GemmTiles): number {
  return 16 * t.tileK * (t.tileM / 4 + 1 + t.tileN / 4 + 1);
}

/** Whether the device's limits allow the configuration. */
export function tilesFit(dev: GpuDevice, t: GemmTiles): boolean {
  const l = dev.limits;
  return (
    workgroupBytes(t) <= l.maxComputeWorkgroupStorageSize! &&
    t.wgM * t.wgN <= l.maxComputeInvocationsPerWorkgroup! &&
    t.wgN <= l.maxComputeWorkgroupSizeX! &&
    t.wgM <= l.maxComputeWorkgroupSizeY!
  );
}

/** The candidates the device can run. */
export function tileCandidates(dev: GpuDevice): GemmTiles[] {
  return GEMM_TILE_CANDIDATES.filter((t) => tilesFit(dev, t));
}

/** A candidate by name, when it exists and fits the device. */
export function tilesNamed(dev: GpuDevice, name: string): GemmTiles | undefined {
  return tileCandidates(dev).find((t) => t.name === name);
}

/** A tuned choice applies to outputs within this factor of its size^2 entries. */
const TUNED_REACH = 4;

/**
 * The tuned choice for a GEMM writing `outputs` entries with `shader`: the entry of the nearest
 * size (on a log scale) within TUNED_REACH, from the shader's own entries, else from matmul's.
 */
export function tunedTiles(dev: GpuDevice, tuned: readonly TunedGemmTiles[], shader: string, outputs: number): GemmTiles | undefined {
  const own = tuned.filter((e) => e.shader === shader);
  const entries = own.length > 0 ? own : tuned.filter((e) => e.shader === 'matmul');
  let best: TunedGemmTiles | undefined;
  let bestDistance = Math.log2(TUNED_REACH);
  for (const e of entries) {
    const distance = Math.abs(Math.log2(outputs / (e.size * e.size)));
    if (distance <= bestDistance) {
      best = e;
      bestDistance = distance;
    }
  }
  return best && tilesNamed(dev, best.tiles);
}

/**
 * A bigger register block does more FMAs per workgroup-memory read, but a tile that leaves
 * multiprocessors idle loses more than that gains. WebGPU does not report the multiprocessor
 * count, so the thresholds assume a large GPU (132 SMs on an H100): the largest tile that still
 * gives about two workgroups per SM (128 x 128), or one (128 x 64), else 64 x 64.
 */
const WORKGROUPS_PER_WAVE = 132;

function workgroups(t: GemmTiles, m: number, n: number, batch: number): number {
  return Math.ceil(m / t.tileM) * Math.ceil(n / t.tileN) * batch;
}

/**
 * The tiles of an m x n (x batch) product whose epilogue is `shader` ('matmul', 'distance', ...).
 * Very thin products keep their dedicated tiles; the others take the forced, the tuned, or the
 * built-in choice.
 */
export function chooseTiles(dev: GpuDevice, m: number, n: number, batch: number, shader = 'matmul'): GemmTiles {
  if (n <= 16 && m > 64) return TILES_TALL;
  if (m <= 16 && n > 64) return TILES_WIDE;
  const { forced, tuned } = dev.gemmTiles;
  const picked = (forced && tilesNamed(dev, forced)) || tunedTiles(dev, tuned, shader, m * n * batch);
  if (picked) return picked;
  if (dev.adapter.software) return TILES_128x64;
  if (workgroups(TILES_128, m, n, batch) >= 2 * WORKGROUPS_PER_WAVE) return TILES_128;
  if (workgroups(TILES_128x64, m, n, batch) >= WORKGROUPS_PER_WAVE) return TILES_128x64;
  return TILES_64;
}

/** The backend's GemmTileControl over a device's tile state. */
export class DeviceTileControl implements GemmTileControl {
  readonly candidates: readonly string[];

  constructor(
    private readonly dev: GpuDevice,
    readonly cache: { path: string | null; problem?: string },
  ) {
    this.candidates = tileCandidates(dev).map((t) => t.name);
  }

  get tuned(): TunedGemmTiles[] {
    return this.dev.gemmTiles.tuned;
  }

  set tuned(entries: TunedGemmTiles[]) {
    this.dev.gemmTiles.tuned = [...entries];
  }

  force(name: string | undefined): void {
    if (name !== undefined && !this.candidates.includes(name)) {
      throw new RangeError(`gemm tiles: '${name}' is not one of this device's configurations (${this.candidates.join(', ')})`);
    }
    this.dev.gemmTiles.forced = name;
  }

  tilesFor(m: number, n: number, batch = 1, shader = 'matmul'): string {
    return chooseTiles(this.dev, m, n, batch, shader).name;
  }
}
