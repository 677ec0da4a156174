/**
 * Deep RFM figures: seconds per layer, split into kernel matrices, solves, AGOP, square root,
 * feature map (and the smaller phases), for N = 1000, 2000, 4000 and 10000 samples (d = 784,
 * ReLU width 1024, K = 10; a Gaussian mixture, since MNIST has fewer than 1,000 digits of some
 * classes), on cpu and on the webgpu backend. When python3 with numpy is available the same
 * algorithm written with numpy (bench/baselines/deep_rfm_numpy.py) runs on the same data and
 * the ratio is reported (target: <= 0.5 at N = 4000 and 10000); the two alternate and each keeps
 * its fastest run. `agopMethods` lists how each layer's AGOP was summed (see AgopOptions.method)
 * and `solvers` how its systems were solved: ncgpu runs `solver: 'auto'` unless `--solver` says
 * otherwise (the f32 Cholesky with f64 refinement from N = 2001 on), while the numpy baseline
 * always solves in f64 with LU. The cpu rows also report the process's peak resident memory
 * (target at N = 10000: within 8 GiB). Seconds per layer are averaged over the layers run (3, or
 * 2 at N = 10000).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext } from '../src/index.js';
import { encodeNpy } from '../src/data/npy.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { DEEP_RFM_PHASES, deepRfm, type DeepRfmResult } from '../src/rfm/index.js';
import { KERNEL_SOLVERS, type KernelSolver } from '../src/rfm/solvers/choose.js';
import { hasNumpy, runNumpyBaseline } from './numpyBaseline.js';
import { benchRows } from './timing.js';

export interface RfmBenchOptions {
  quick: boolean;
  gpu: 'webgpu' | 'webgpu-software' | 'none';
  /** sample counts to run instead of the default list */
  sizes?: number[];
  /** ncgpu's kernel solver (default 'auto'; the numpy baseline always solves directly with LU) */
  solver?: KernelSolver;
}

const D = 784;
const K = 10;
const WIDTH = 1024;

type Phases = Record<string, number>;

/** mean seconds per layer of each phase, and their sum */
function perLayer(layers: Phases[]): Phases {
  const out: Phases = {};
  for (const p of DEEP_RFM_PHASES) out[p] = layers.reduce((s, l) => s + (l[p] ?? 0), 0) / layers.length;
  out.total = DEEP_RFM_PHASES.reduce((s, p) => s + out[p]!, 0);
  return out;
}

/** peak resident memory of this process in GiB (Linux), else the current RSS */
function peakRssGiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 2 ** 20;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 30;
}


async function runOurs(backend: 'cpu' | 'webgpu' | 'webgpu-software', split: ReturnType<typeof gaussianMixture>, layers: number, solver: KernelSolver) {
  const ctx = await createContext({ backend });
  const info = ctx.info();
  const { train, test } = split;
  try {
    const r: DeepRfmResult = await deepRfm(
      { X: ctx.matrix(train.X, train.shape), labels: train.labels },
      { X: ctx.matrix(test.X, test.shape), labels: test.labels },
      { layers, width: WIDTH, seed: 0, solver, onWarning: () => {} },
    );
    return {
      phases: perLayer(r.layers.map((l) => l.seconds)), adapter: info.adapter, testAcc: r.layers.at(-1)!.testAcc,
      agopMethods: r.layers.map((l) => l.agopMethod).join(','),
      solvers: [...new Set(r.layers.map((l) => l.solve.solver))].join(','),
    };
  } finally {
    await ctx.dispose();
  }
}

function runNumpy(split: ReturnType<typeof gaussianMixture>, layers: number): { phases: Phases; numpy: string } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ncgpu-bench-rfm-'));
  try {
    const files = ['X', 'y', 'T', 'yt'].map((f) => join(dir, `${f}.npy`));
    writeFileSync(files[0]!, encodeNpy(split.train.X, split.train.shape));
    writeFileSync(files[1]!, encodeNpy(split.train.labels, [split.train.labels.length]));
    writeFileSync(files[2]!, encodeNpy(split.test.X, split.test.shape));
    writeFileSync(files[3]!, encodeNpy(split.test.labels, [split.test.labels.length]));
    const r = runNumpyBaseline<{ perLayer: Phases[]; numpy: string }>('deep_rfm_numpy.py', [...files, layers, WIDTH], { timeoutMs: 3_600_000 });
    if (!('ok' in r)) return { error: r.error };
    const out = r.ok;
    return { phases: perLayer(out.perLayer as Phases[]), numpy: out.numpy as string };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (p: Phases) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, +v.toPrecision(3)]));

export async function benchRfm(opts: RfmBenchOptions): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  const sizes = opts.sizes ?? (opts.quick ? [1000, 2000] : [1000, 2000, 4000, 10000]);
  const layersOf = (n: number) => (opts.quick ? 2 : n >= 10000 ? 2 : 3);
  const numpy = hasNumpy();
  const data = (n: number) => gaussianMixture({ k: K, d: D, nPerClass: n / K, testPerClass: 20, seed: 1, separation: 1, noise: 2 });

  for (const n of sizes) {
    const split = data(n);
    const layers = layersOf(n);
    // other work on the machine slows single runs by up to 2x: alternate the two implementations
    // and keep each one's fastest run
    const repeats = n >= 10000 ? 1 : opts.quick ? 2 : 3;
    let ours: Awaited<ReturnType<typeof runOurs>> | undefined;
    let base: ReturnType<typeof runNumpy> = { error: 'python3 with numpy not found' };
    for (let r = 0; r < repeats; r++) {
      const o = await runOurs('cpu', split, layers, opts.solver ?? 'auto');
      if (!ours || o.phases.total! < ours.phases.total!) ours = o;
      if (!numpy) continue;
      const b = runNumpy(split, layers);
      if (!('phases' in base) || ('phases' in b && b.phases.total! < base.phases.total!)) base = b;
    }
    print({
      bench: 'deep-rfm', backend: 'cpu', N: n, d: D, width: WIDTH, K, layers, repeats,
      secondsPerLayer: ours!.phases.total, phases: round(ours!.phases), agopMethods: ours!.agopMethods, solvers: ours!.solvers,
      ...('phases' in base
        ? { numpySecondsPerLayer: base.phases.total, numpyPhases: round(base.phases), ratioToNumpy: ours!.phases.total! / base.phases.total!, numpy: base.numpy }
        : { numpy: `unavailable (${base.error})` }),
      peakRssGiB: peakRssGiB(),
    });
  }

  if (opts.gpu !== 'none') {
    const probe = await createContext({ backend: opts.gpu });
    const software = probe.info().adapter?.software ?? false;
    await probe.dispose();
    // the software GPU runs at a few GFLOPS: N = 1000 only
    for (const n of software ? [1000] : sizes) {
      const layers = software ? 2 : layersOf(n);
      const ours = await runOurs(opts.gpu, data(n), layers, opts.solver ?? 'auto');
      const a = ours.adapter!;
      print({
        bench: 'deep-rfm', backend: 'webgpu', adapter: `${a.device} (${a.dawnBackend}${a.software ? ', software' : ''})`,
        N: n, d: D, width: WIDTH, K, layers, secondsPerLayer: ours.phases.total, phases: round(ours.phases),
      });
    }
  }
  return rows;
}

// `npx tsx bench/rfm.ts [--quick] [--gpu none|webgpu|webgpu-software] [--sizes 4000,10000]
// [--solver auto|direct|mixed|iterative]` runs this figure alone
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => process.argv.indexOf(name);
  const value = (name: string) => (arg(name) >= 0 ? process.argv[arg(name) + 1] : undefined);
  const gpu = (value('--gpu') ?? 'none') as RfmBenchOptions['gpu'];
  const sizes = value('--sizes')?.split(',').map(Number);
  if (sizes?.some((n) => !Number.isInteger(n) || n < 20 || n % K !== 0)) {
    throw new Error(`--sizes: expected comma-separated multiples of ${K}, got ${value('--sizes')}`);
  }
  const solver = (value('--solver') ?? 'auto') as KernelSolver;
  if (!KERNEL_SOLVERS.includes(solver)) throw new Error(`--solver: expected one of ${KERNEL_SOLVERS.join(', ')}, got ${solver}`);
  await benchRfm({ quick: arg('--quick') >= 0, gpu, sizes, solver });
}
