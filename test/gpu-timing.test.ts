import { describe, expect, it } from 'vitest';
import { matmul } from '../src/index.js';
import { Rng } from '../src/random.js';
import { context } from './helpers.js';

// the Vulkan lane (lavapipe, core mode) has timestamp queries; the OpenGL ES lane does not
const timestamps = process.env.NCGPU_SOFTWARE_LANE === 'vulkan';

describe('GPU time by timestamp queries', () => {
  it(`ctx.timeGpu ${timestamps ? 'measures the passes on the GPU' : 'says it cannot measure (no timestamp queries on this lane)'}`, async () => {
    const ctx = await context('webgpu-software');
    try {
      const rng = new Rng(3);
      const a = ctx.matrix(rng.normals(192 * 192), [192, 192]);
      await ctx.sync();
      const t0 = performance.now();
      // three GEMMs in one timed call: passes of all of them are summed
      const { value, gpuSeconds } = await ctx.timeGpu(async () => {
        const b = await matmul(a, a);
        const c = await matmul(b, a);
        b.dispose();
        return matmul(c, a);
      });
      const wall = (performance.now() - t0) / 1000;
      expect((await value.read()).every(Number.isFinite)).toBe(true);
      if (timestamps) {
        expect(gpuSeconds).toBeGreaterThan(0);
        expect(gpuSeconds!).toBeLessThanOrEqual(wall);
      } else {
        expect(gpuSeconds).toBeUndefined();
      }
      // nothing is left queued or timed: the next op runs untimed and fine
      const d = await matmul(a, a);
      expect((await d.read()).length).toBe(192 * 192);
    } finally {
      await ctx.dispose();
    }
  });

  it('on the cpu backend there is no GPU time, and the value comes back', async () => {
    const ctx = await context('cpu');
    try {
      const a = ctx.matrix(new Float32Array([1, 2, 3, 4]), [2, 2]);
      const { value, gpuSeconds } = await ctx.timeGpu(() => matmul(a, a));
      expect(Array.from(await value.read())).toEqual([7, 10, 15, 22]);
      expect(gpuSeconds).toBeUndefined();
    } finally {
      await ctx.dispose();
    }
  });
});
