import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createContext, kernelMatrix, matmul, rowNorms } from '../src/index.js';
import { BACKENDS } from './helpers.js';

describe.each(BACKENDS)('resource hygiene on %s', (backend) => {
  it('2,000 create/op/dispose cycles leave live buffers and process memory flat', async () => {
    const ctx = await createContext({ backend });
    try {
      // ~300 KB allocated per cycle: a leak of any part would be hundreds of MB over 2,000 cycles,
      // far beyond the allocator's and the garbage collector's own noise
      const data = new Float32Array(128 * 96).map((_, i) => Math.sin(i));
      const cycle = async () => {
        const a = ctx.matrix(data, [128, 96]);
        const c = await matmul(a, a, { transB: true });
        const k = await kernelMatrix(a, a, 'laplace', 2);
        const n = await rowNorms(k);
        await n.read();
        for (const m of [a, c, k, n]) m.dispose();
      };
      // warm up pools and caches, and let the allocator and the collector reach their steady state:
      // on the Vulkan lane the driver's per-dispatch objects are freed only when V8 collects their
      // wrappers, so resident memory rises for the first ~1,000 cycles and then stays (a leak would
      // keep growing over the 2,000 measured)
      for (let i = 0; i < 1000; i++) await cycle();
      global.gc?.();
      const before = { ...ctx.stats(), rss: process.memoryUsage().rss };
      for (let i = 0; i < 2000; i++) await cycle();
      global.gc?.();
      const after = { ...ctx.stats(), rss: process.memoryUsage().rss };
      expect(after.liveBuffers).toBe(before.liveBuffers);
      expect(after.liveBytes).toBe(before.liveBytes);
      expect(after.pooledBytes).toBeLessThanOrEqual(before.pooledBytes + 1024 * 1024);
      expect(after.rss - before.rss).toBeLessThan(64 * 2 ** 20);
    } finally {
      await ctx.dispose();
    }
  });
});

describe('contexts on the software GPU', () => {
  it('300 create/op/dispose cycles of a whole context keep resident memory within 50 MiB', async () => {
    const data = new Float32Array(64 * 48).map((_, i) => Math.cos(i));
    const cycle = async () => {
      const ctx = await createContext({ backend: 'webgpu-software' });
      try {
        const a = ctx.matrix(data, [64, 48]);
        await (await matmul(a, a, { transB: true })).read();
      } finally {
        await ctx.dispose();
      }
    };
    // the first contexts load the driver and compile the shaders once (about 150 MiB)
    for (let i = 0; i < 20; i++) await cycle();
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 280; i++) await cycle();
    global.gc?.();
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    // each context used to leave its device and driver state behind until a full collection: about
    // 3 MiB per cycle
    expect(grown).toBeLessThan(50);
  }, 300_000);
});

describe('process exit', () => {
  it('a process that used the software GPU exits by itself within a second of dispose()', () => {
    const script = fileURLToPath(new URL('./fixtures/gpu-exit.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    const exitedAt = Date.now();
    expect(r.status, r.stderr).toBe(0);
    const m = /disposed (\d+) (\S+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![2])).toBe(64);
    expect(exitedAt - Number(m![1])).toBeLessThan(1000);
  });
});
