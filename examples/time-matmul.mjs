// Time a GPU shader from code: C = A B (the tiled GEMM shader, shaders/matmul.wgsl) on n x n
// matrices, with warm-up, repeats, the best and median time and GFLOPS.
//
//   node examples/time-matmul.mjs [--n 1024] [--repeats 10] [--warmup 2] [--backend webgpu]
//
// The backend defaults to 'webgpu' (a hardware GPU); without one it tries 'webgpu-software'
// (Dawn over Mesa llvmpipe: the same shader on the CPU, slow, for testing) and then 'cpu'
// (OpenBLAS SGEMM), and says which it fell back to. Ends with one JSON line of the figures.
//
// Why the sync: a GPU op returns as soon as its work is queued. `await ctx.sync()` waits until
// the GPU has finished it (and surfaces any GPU error), so the time measured is the shader's.
// The output matrix is reused (`out`), so no allocation is timed either. The result is checked
// against a float64 product on a few rows, so a fast wrong answer cannot pass.
import { parseArgs } from 'node:util';
import { createContext, matmul, Rng } from 'ncgpu';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1024' },
    repeats: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    backend: { type: 'string' },
  },
});
const n = Number(args.n);
const repeats = Number(args.repeats);
const warmup = Number(args.warmup);

async function openContext() {
  if (args.backend) return createContext({ backend: args.backend });
  for (const backend of ['webgpu', 'webgpu-software']) {
    try {
      return await createContext({ backend });
    } catch (e) {
      console.log(`no '${backend}' backend here (${e.message.split('\n')[0]})`);
    }
  }
  console.log("falling back to the cpu backend: this times OpenBLAS SGEMM, not a shader");
  return createContext({ backend: 'cpu' });
}

const ctx = await openContext();
const { adapter, blas } = ctx.info();
const device = adapter
  ? `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})`
  : `${blas.name} ${blas.version}, ${blas.threads} threads`;
console.log(`backend ${ctx.name}: ${device}`);
try {
  const rng = new Rng(0);
  const aHost = Float32Array.from(rng.normals(n * n));
  const bHost = Float32Array.from(rng.normals(n * n));
  const A = ctx.matrix(aHost, [n, n], { name: 'A' });
  const B = ctx.matrix(bHost, [n, n], { name: 'B' });
  const C = ctx.empty([n, n]);

  const run = async () => {
    await matmul(A, B, { out: C });
    await ctx.sync();
  };
  for (let i = 0; i < warmup; i++) await run(); // pipelines compiled, buffers in place
  const seconds = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    seconds.push((performance.now() - t0) / 1000);
  }
  seconds.sort((x, y) => x - y);
  const best = seconds[0];
  const median = seconds[Math.floor(seconds.length / 2)];
  const gflops = (2 * n ** 3) / best / 1e9;

  // check: rows 0, n/2 and n-1 of C against a float64 product
  const c = await C.read();
  let maxRelError = 0;
  for (const i of [0, n >> 1, n - 1]) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let scale = 0;
      for (let p = 0; p < n; p++) {
        s += aHost[i * n + p] * bHost[p * n + j];
        scale += Math.abs(aHost[i * n + p] * bHost[p * n + j]);
      }
      maxRelError = Math.max(maxRelError, Math.abs(c[i * n + j] - s) / scale);
    }
  }
  const ms = (s) => `${(s * 1e3).toFixed(3)} ms`;
  console.log(`${n}x${n} matmul: best ${ms(best)}, median ${ms(median)} over ${repeats} runs, ${gflops.toFixed(1)} GFLOPS`);
  console.log(`max relative error vs float64 (3 rows): ${maxRelError.toExponential(2)}`);
  console.log(JSON.stringify({ backend: ctx.name, device, n, repeats, bestMs: best * 1e3, medianMs: median * 1e3, gflops, maxRelError }));
  for (const m of [A, B, C]) m.dispose();
} finally {
  await ctx.dispose();
}
