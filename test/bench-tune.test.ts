/**
 * GEMM tile tuning: the tile cache's round trip (src/backend/webgpu/tileCache.ts), every tile
 * configuration against an f64 GEMM, a context taking the tuned choice from the cache, and
 * `ncgpu bench --tune` end to end on the software GPU.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { matmul, type AdapterDescription } from '../src/index.js';
import { readTileCache, resolveTileCachePath, writeTileCache, type TunedRecord } from '../src/backend/webgpu/tileCache.js';
import { Rng } from '../src/random.js';
import { context, expectClose, f32, gemmRef, gemmTol, randn } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-tune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const adapter = (device: string): AdapterDescription => ({
  device, vendor: 'v', architecture: 'a', description: `${device} driver 1`, dawnBackend: 'vulkan', software: false, featureLevel: 'core', features: [],
});
const record = (shader: 'matmul' | 'distance', size: number, tiles: string): TunedRecord => ({ shader, size, tiles, gflops: 1, tried: [{ tiles, gflops: 1 }] });

describe('the tile cache', () => {
  it('round-trips tuned tiles per adapter, replacing a size that is tuned again', async () => {
    const path = join(dir, 'nested', 'tiles.json');
    expect(readTileCache(path, adapter('gpu A'))).toEqual({ path, tuned: [] });
    await writeTileCache(path, adapter('gpu A'), [record('matmul', 1024, '128x64x16'), record('distance', 4000, '64x64x16')]);
    await writeTileCache(path, adapter('gpu B'), [record('matmul', 1024, '64x64x32')]);
    const merged = await writeTileCache(path, adapter('gpu A'), [record('matmul', 1024, '128x128x16'), record('matmul', 4096, '128x128x16')]);
    const wantA = [
      { shader: 'distance', size: 4000, tiles: '64x64x16' },
      { shader: 'matmul', size: 1024, tiles: '128x128x16' },
      { shader: 'matmul', size: 4096, tiles: '128x128x16' },
    ];
    expect(merged).toEqual(wantA);
    expect(readTileCache(path, adapter('gpu A')).tuned).toEqual(wantA);
    expect(readTileCache(path, adapter('gpu B')).tuned).toEqual([{ shader: 'matmul', size: 1024, tiles: '64x64x32' }]);
    // another driver of the same GPU is another adapter
    expect(readTileCache(path, { ...adapter('gpu A'), description: 'gpu A driver 2' }).tuned).toEqual([]);
  });

  it('reports a file it cannot use instead of failing, and rebuilds it when tuning writes', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ not json');
    const read = readTileCache(path, adapter('gpu A'));
    expect(read.tuned).toEqual([]);
    expect(read.problem).toMatch(/cannot use the tile cache .*broken\.json/);
    await writeTileCache(path, adapter('gpu A'), [record('matmul', 512, '64x64x16')]);
    expect(readTileCache(path, adapter('gpu A'))).toEqual({ path, tuned: [{ shader: 'matmul', size: 512, tiles: '64x64x16' }] });
  });

  it('is found by option, NCGPU_TUNE_CACHE or the user cache folder, and can be off', () => {
    const saved = { cache: process.env.NCGPU_TUNE_CACHE, xdg: process.env.XDG_CACHE_HOME };
    try {
      delete process.env.NCGPU_TUNE_CACHE;
      process.env.XDG_CACHE_HOME = '/xdg';
      if (process.platform === 'linux') expect(resolveTileCachePath(undefined)).toBe('/xdg/ncgpu/gemm-tiles.json');
      process.env.NCGPU_TUNE_CACHE = '/elsewhere/tiles.json';
      expect(resolveTileCachePath(undefined)).toBe('/elsewhere/tiles.json');
      expect(resolveTileCachePath('/mine.json')).toBe('/mine.json');
      expect(resolveTileCachePath(false)).toBeNull();
      process.env.NCGPU_TUNE_CACHE = 'off';
      expect(resolveTileCachePath(undefined)).toBeNull();
      expect(() => resolveTileCachePath('')).toThrow(/tileCache must be a file path or false/);
    } finally {
      for (const [k, v] of [['NCGPU_TUNE_CACHE', saved.cache], ['XDG_CACHE_HOME', saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('tuned GEMM tiles on the software GPU', () => {
  const rng = new Rng(11);

  it('every tile configuration gives the f64 product at odd sizes, and forcing an unknown one is refused', async () => {
    const ctx = await context('webgpu-software', { tileCache: false });
    try {
      const control = ctx.backend.gemmTiles!;
      expect(control.candidates.length).toBeGreaterThanOrEqual(5);
      const [m, n, k] = [70, 33, 129];
      const a = f32(randn(rng, m * k));
      const b = f32(randn(rng, k * n));
      const A = ctx.matrix(a, [k, m]);
      const B = ctx.matrix(b, [k, n]);
      const want = gemmRef(true, false, m, n, k, 1, a, b, 0, null);
      for (const tiles of control.candidates) {
        control.force(tiles);
        expect(control.tilesFor(m, n)).toBe(tiles);
        const C = await matmul(A, B, { transA: true });
        expectClose(await C.read(), want, gemmTol(k), `tiles ${tiles}`);
        C.dispose();
      }
      control.force(undefined);
      expect(() => control.force('7x7x7')).toThrow(/'7x7x7' is not one of this device's configurations/);
    } finally {
      await ctx.dispose();
    }
  });

  it('a context takes the tuned tiles of its adapter from the cache for products of about that size', async () => {
    const probe = await context('webgpu-software', { tileCache: false });
    const description = probe.info().adapter!;
    const builtIn = probe.backend.gemmTiles!.tilesFor(96, 96);
    const builtInLarge = probe.backend.gemmTiles!.tilesFor(400, 400);
    const other = probe.backend.gemmTiles!.candidates.find((t) => t !== builtIn && t !== builtInLarge)!;
    await probe.dispose();
    const path = join(dir, 'context.json');
    await writeTileCache(path, description, [record('matmul', 96, other)]);
    const ctx = await context('webgpu-software', { tileCache: path });
    try {
      expect(ctx.info().gemmTiles).toEqual({ cache: path, tuned: [{ shader: 'matmul', size: 96, tiles: other }] });
      const control = ctx.backend.gemmTiles!;
      // within a factor of 4 of 96^2 outputs the tuned choice applies, beyond it the built-in one
      expect(control.tilesFor(96, 96)).toBe(other);
      expect(control.tilesFor(60, 100)).toBe(other);
      expect(control.tilesFor(400, 400)).toBe(builtInLarge);
      // the kernel matrix's GEMM has no tuned entry of its own: it takes matmul's
      expect(control.tilesFor(96, 96, 1, 'distance')).toBe(other);
      const [m, n, k] = [97, 95, 67];
      const a = f32(randn(rng, m * k));
      const b = f32(randn(rng, k * n));
      const C = await matmul(ctx.matrix(a, [m, k]), ctx.matrix(b, [k, n]));
      expectClose(await C.read(), gemmRef(false, false, m, n, k, 1, a, b, 0, null), gemmTol(k), `tuned tiles ${other}`);
    } finally {
      await ctx.dispose();
    }
  });
});

describe('ncgpu bench --tune', () => {
  const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'bench', ...args], { encoding: 'utf8', timeout: 240_000 });

  it('times every tile configuration, caches the winner, and a later run uses it', () => {
    const cache = join(dir, 'cli-tiles.json');
    const json = join(dir, 'tune.json');
    const r = run(['gemm', '--backend', 'webgpu-software', '--sizes', '40', '--repeats', '1', '--tune', '--tune-cache', cache, '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    const tried = out.tuning as { tiles: string; winner: boolean; relativeErrorVsCpu: number; gflops: number }[];
    expect(tried.length).toBeGreaterThanOrEqual(5);
    for (const t of tried) expect(t.relativeErrorVsCpu).toBeLessThan(1e-5);
    const winners = tried.filter((t) => t.winner);
    expect(winners.length).toBe(1);
    expect(out.tuned).toEqual([{ shader: 'matmul', size: 40, tiles: winners[0]!.tiles }]);
    expect(r.stdout).toContain(`tune gemm 40: winner ${winners[0]!.tiles}`);
    expect(r.stdout).toContain(`cached for this adapter in ${cache}`);
    expect(readTileCache(cache, out.adapter).tuned).toEqual(out.tuned);
    const again = run(['gemm', '--backend', 'webgpu-software', '--sizes', '40', '--repeats', '1', '--tune-cache', cache]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`tile cache: ${cache}; 1 tuned GEMM tile choice(s) for this adapter`);
  });

  it('names --tune when there is no GPU shader to tune', () => {
    const r = run(['gemm', '--backend', 'cpu', '--tune']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--tune tries the tile sizes of GPU shaders: it needs a webgpu backend, got --backend cpu/);
  });
});
