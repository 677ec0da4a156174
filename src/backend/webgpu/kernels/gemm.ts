/**
 * Host side of the tiled GEMM (shaders/gemm_core.wgsl): tile configuration, uniform packing and
 * the chunking that keeps every bound range inside one storage binding.
 *
 * Chunking: a launch covers an (mBlock x nBlock) block of C over a kBlock slice of the inner
 * dimension for a group of batch items. Block sizes are planned so that the three bound ranges
 * (A, B and C, each spanning (rows - 1) * ld + cols elements of its stored matrix, plus the batch
 * stride times the group size) fit one binding; k slices after the first accumulate with
 * beta = 1. Without chunking this is one dispatch of the whole (batched) product.
 */
import type { GemmPrecision } from '../../types.js';
import type { GpuDevice } from '../device.js';
import { assertDistinct, bindingCap, f32, fitBlock, packParams, type View } from './common.js';
import { chooseTiles, type GemmTiles } from './gemmTiles.js';

/** A GEMM operand: storage view, stored row length and element stride between batch items. */
export interface GemmOperand extends View {
  ld: number;
  /** 0 broadcasts the operand over the batch */
  stride: number;
}

export interface GemmCall {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  batch: number;
  a: GemmOperand;
  b: GemmOperand;
  c: GemmOperand;
  /** 'f16': A and B are f16 storage (see gemmF16.ts); C is f32 either way (default 'f32') */
  precision?: GemmPrecision;
}

export interface GemmPlan {
  tiles: GemmTiles;
  /** rows of C per launch */
  bm: number;
  /** columns of C per launch */
  bn: number;
  /** inner-dimension slice per launch (k when the product is not split over k) */
  bk: number;
  /** batch items per launch */
  bb: number;
}

export function spanA(call: GemmCall, bm: number, bk: number): number {
  if (call.k === 0) return 1;
  return call.transA ? (bk - 1) * call.a.ld + bm : (bm - 1) * call.a.ld + bk;
}

export function spanB(call: GemmCall, bk: number, bn: number): number {
  if (call.k === 0) return 1;
  return call.transB ? (bn - 1) * call.b.ld + bk : (bk - 1) * call.b.ld + bn;
}

function spanC(call: GemmCall, bm: number, bn: number): number {
  return (bm - 1) * call.c.ld + bn;
}

/**
 * Block sizes and tiles of a GEMM call; `shader` is its epilogue's shader, whose tuned tiles
 * apply (see gemmTiles.ts).
 */
export function planGemm(dev: GpuDevice, call: GemmCall, shader = 'matmul'): GemmPlan {
  const tiles = chooseTiles(dev, call.m, call.n, call.batch, shader);
  const cap = bindingCap(dev);
  const maxWg = dev.maxWorkgroupsPerDim;
  let bm = Math.min(call.m, maxWg * tiles.tileM);
  let bn = Math.min(call.n, maxWg * tiles.tileN);
  let bk = call.k;
  // Each shrink only lowers block sizes, so an operand made to fit stays fitting.
  [bm, bn] = fitBlock(bm, bn, call.c.ld, cap);
  if (call.k > 0) {
    if (call.transA) [bk, bm] = fitBlock(bk, bm, call.a.ld, cap);
    else [bm, bk] = fitBlock(bm, bk, call.a.ld, cap);
    if (call.transB) [bn, bk] = fitBlock(bn, bk, call.b.ld, cap);
    else [bk, bn] = fitBlock(bk, bn, call.b.ld, cap);
  }
  let bb = Math.min(call.batch, maxWg);
  const spans: [number, number][] = [
    [spanA(call, bm, bk), call.a.stride],
    [spanB(call, bk, bn), call.b.stride],
    [spanC(call, bm, bn), call.c.stride],
  ];
  for (const [span, stride] of spans) {
    if (stride > 0) bb = Math.min(bb, Math.floor((cap - span) / stride) + 1);
  }
  return { tiles, bm, bn, bk, bb: Math.max(1, bb) };
}

/** What a launch needs beyond A, B and C: extra bindings and epilogue fields. */
export interface EpilogueBlock {
  bindings: GPUBufferBinding[];
  offRow: number;
  offCol: number;
}

export interface GemmEpilogue {
  shader: string;
  label: string;
  constants: Record<string, number>;
  scale: number;
  /** called once per (m, n) block of C, before its launch */
  block(m0: number, mb: number, n0: number, nb: number): EpilogueBlock;
}

/** gemm_core on f16 inputs */
const F16_INPUTS = { gemm_precision: 'gemm_precision_f16' };

const MATMUL: GemmEpilogue = {
  shader: 'matmul',
  label: 'gemm',
  constants: {},
  scale: 0,
  block: () => ({ bindings: [], offRow: 0, offCol: 0 }),
};

/**
 * Queues C = alpha op(A) op(B) + beta C (or a fused epilogue) in as many launches as the plan
 * (by default planGemm's for the epilogue's shader) needs.
 */
export function encodeGemm(dev: GpuDevice, call: GemmCall, givenPlan?: GemmPlan, epilogue = MATMUL): void {
  const { m, n, k, batch, a, b, c, transA, transB } = call;
  if (m === 0 || n === 0 || batch === 0) return;
  assertDistinct('gemm', c, a, b);
  const { tiles, bm, bn, bk, bb } = givenPlan ?? planGemm(dev, call, epilogue.shader);
  const f16 = call.precision === 'f16';
  const inBytes = f16 ? 2 : 4;
  const pipeline = dev.pipeline(epilogue.shader, 'main', {
    TRANS_A: transA ? 1 : 0,
    TRANS_B: transB ? 1 : 0,
    TILE_M: tiles.tileM,
    TILE_N: tiles.tileN,
    TILE_K: tiles.tileK,
    WG_M: tiles.wgM,
    WG_N: tiles.wgN,
    ...epilogue.constants,
  }, f16 ? F16_INPUTS : {});
  const kSteps = k === 0 ? [[0, 0]] : Array.from({ length: Math.ceil(k / bk) }, (_, i) => [i * bk, Math.min(bk, k - i * bk)]);
  for (let b0 = 0; b0 < batch; b0 += bb) {
    const gb = Math.min(bb, batch - b0);
    for (const [k0, kb] of kSteps as [number, number][]) {
      const beta = k0 === 0 ? call.beta : 1;
      for (let m0 = 0; m0 < m; m0 += bm) {
        const mb = Math.min(bm, m - m0);
        for (let n0 = 0; n0 < n; n0 += bn) {
          const nb = Math.min(bn, n - n0);
          const aStart = a.off + b0 * a.stride + (k === 0 ? 0 : transA ? k0 * a.ld + m0 : m0 * a.ld + k0);
          const bStart = b.off + b0 * b.stride + (k === 0 ? 0 : transB ? n0 * b.ld + k0 : k0 * b.ld + n0);
          const cStart = c.off + b0 * c.stride + m0 * c.ld + n0;
          const bindA = dev.bindRange(a.s, aStart, (gb - 1) * a.stride + spanA(call, mb, kb), inBytes);
          const bindB = dev.bindRange(b.s, bStart, (gb - 1) * b.stride + spanB(call, kb, nb), inBytes);
          const bindC = dev.bindRange(c.s, cStart, (gb - 1) * c.stride + spanC(call, mb, nb));
          const extra = epilogue.block(m0, mb, n0, nb);
          const params = packParams([
            mb,
            nb,
            kb,
            a.ld,
            b.ld,
            c.ld,
            bindA.elemOffset,
            bindB.elemOffset,
            bindC.elemOffset,
            a.stride,
            b.stride,
            c.stride,
            f32(call.alpha),
            f32(beta),
            extra.offRow,
            extra.offCol,
            f32(epilogue.scale),
            0,
            0,
            0,
          ]);
          dev.dispatch(epilogue.label, pipeline, params, [bindA.binding, bindB.binding, bindC.binding, ...extra.bindings], [
            Math.ceil(nb / tiles.tileN),
            Math.ceil(mb / tiles.tileM),
            gb,
          ]);
        }
      }
    }
  }
}
