/**
 * Compute-core figures: GEMM GFLOPS against sgemm called directly in the same process, and the
 * Laplace kernel matrix against the GEMM of the same shape, on cpu and on the webgpu backend.
 */
import { createContext, kernelMatrix, matmul, nativeAddon, type Context, type Matrix } from '../src/index.js';
import { Rng } from '../src/random.js';
import { gflops, time, benchRows } from './timing.js';

export interface CoreOptions {
  quick: boolean;
  gpu: 'webgpu' | 'webgpu-software' | 'none';
}

const rand = (rng: Rng, n: number) => rng.normals(n);

async function gemmOp(ctx: Context, a: Matrix, b: Matrix) {
  const c = await matmul(a, b);
  await ctx.sync();
  c.dispose();
}

export async function benchCore(opts: CoreOptions) {
  const rng = new Rng(1);
  const addon = nativeAddon();
  const { rows, print } = benchRows();

  // ---- cpu GEMM vs direct sgemm
  const cpu = await createContext({ backend: 'cpu' });
  for (const n of opts.quick ? [256, 512] : [256, 512, 1024, 2048]) {
    const a = rand(rng, n * n);
    const b = rand(rng, n * n);
    const c = new Float32Array(n * n);
    const direct = await time(() => addon.sgemmDirect(false, false, n, n, n, 1, a, b, 0, c, 1, 0, 0, 0));
    const A = cpu.matrix(a, [n, n]);
    const B = cpu.matrix(b, [n, n]);
    const op = await time(() => gemmOp(cpu, A, B));
    const flops = 2 * n ** 3;
    print({ bench: 'gemm', backend: 'cpu', n, gflops: gflops(flops, op.seconds), directGflops: gflops(flops, direct.seconds), ratioToDirect: op.seconds / direct.seconds });
  }

  // ---- cpu Laplace kernel vs GEMM of the same shape
  const [N, d] = opts.quick ? [2000, 784] : [10000, 784];
  const x = rand(rng, N * d);
  const X = cpu.matrix(x, [N, d]);
  const out = new Float32Array(N * N);
  const gemm = await time(() => addon.sgemmDirect(false, true, N, N, d, 1, x, x, 0, out, 1, 0, 0, 0), { repeats: 3 });
  const kern = await time(async () => (await kernelMatrix(X, X, 'laplace', 2.0)).dispose(), { repeats: 3 });
  print({ bench: 'laplace-kernel', backend: 'cpu', N, d, seconds: kern.seconds, gemmSeconds: gemm.seconds, ratioToGemm: kern.seconds / gemm.seconds });
  await cpu.dispose();

  // ---- the same on the webgpu backend
  if (opts.gpu !== 'none') {
    const gpu = await createContext({ backend: opts.gpu });
    const adapter = gpu.info().adapter!;
    const label = `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})`;
    console.log(`webgpu adapter: ${label}`);
    const sizes = adapter.software ? (opts.quick ? [256, 512] : [256, 512, 1024]) : [256, 512, 1024, 2048, 4096];
    for (const n of sizes) {
      const A = gpu.matrix(rand(rng, n * n), [n, n]);
      const B = gpu.matrix(rand(rng, n * n), [n, n]);
      const t = await time(() => gemmOp(gpu, A, B), { repeats: adapter.software ? 2 : 10 });
      print({ bench: 'gemm', backend: 'webgpu', adapter: label, n, gflops: gflops(2 * n ** 3, t.seconds), seconds: t.seconds });
      A.dispose();
      B.dispose();
    }
    const [Ng, dg] = adapter.software ? [1000, 784] : [N, d];
    const Xg = gpu.matrix(rand(rng, Ng * dg), [Ng, dg]);
    // the GEMM of the kernel's shape: (N x d) times (d x N)
    const XgT = gpu.matrix(rand(rng, dg * Ng), [dg, Ng]);
    const gm = await time(() => gemmOp(gpu, Xg, XgT), { repeats: 2 });
    const kt = await time(async () => {
      const k = await kernelMatrix(Xg, Xg, 'laplace', 2.0);
      await gpu.sync();
      k.dispose();
    }, { repeats: 2 });
    print({ bench: 'laplace-kernel', backend: 'webgpu', adapter: label, N: Ng, d: dg, seconds: kt.seconds, gemmSeconds: gm.seconds, ratioToGemm: kt.seconds / gm.seconds });
    await gpu.dispose();
  }
  return rows;
}
