/**
 * Host side of the AGOP of a kernel predictor (shaders/agop.wgsl, agop_coefficients.wgsl).
 *
 * With weights W_ij = k_ij / r_ij (Laplace, 0 for r < 1e-10) or k_ij (Gaussian), the gradient of
 * output c at point p_i is -s [ sum_j W_ij alpha_jc (x_j M) - (W alpha)_ic (p_i M) ]. Per batch of
 * points this is:
 *   1. W (batch x N): the fused pairwise GEMM with the weight kernel (distance.wgsl, code 4 for
 *      Laplace), the self terms set exactly when the points are the centers;
 *   2. W alpha (batch x K): a plain GEMM;
 *   3. J' (batch x K d) = W Z - (W alpha) (x) PM, Z = [diag(alpha_1) X M | ... | diag(alpha_K) X M]
 *      (N x K d, built once): one GEMM whose epilogue subtracts the rank-one term;
 *   4. G += s^2 J'^T J' with J' read as (batch K) x d: one GEMM with transA and beta = 1.
 * Everything stays on the device. Z costs N K d floats; W, J' and the batch's PM and W alpha are
 * what `batchRows` bounds. With `outputBlock` < K (or when K d columns do not fit one launch),
 * steps 3 and 4 run per block of outputs, and each block's slice of Z is rebuilt for every batch.
 * Sampled points (`pointIndex`) are gathered batch by batch, and their self terms set at their
 * own centers. Every launch goes through the GEMM planner, so operands larger than one storage
 * binding are split (the N centers become k slices that accumulate).
 */
import type { AgopArgs } from '../../types.js';
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, foldedGroups, packParams, type View } from './common.js';
import { encodeFill, encodeFillStrided } from './elementwise.js';
import { encodeFillAt, encodeGatherRows } from './gather.js';
import { encodeGemm, planGemm, type EpilogueBlock, type GemmCall, type GemmEpilogue } from './gemm.js';
import { encodeRowDot, encodeRowSumSq } from './rows.js';
import { distanceEpilogue } from './pairwise.js';

/** distance.wgsl kernel code of the weights W, and the scale it applies to r or r^2 */
function weightKernel(kernel: AgopArgs['kernel'], L: number): { code: number; scale: number } {
  switch (kernel) {
    case 'laplace':
      return { code: 4, scale: 1 / L };
    case 'gaussian':
      return { code: 2, scale: 1 / (2 * L * L) };
    default:
      return { code: 3, scale: 1 / L };
  }
}

/** s in grad f = -s sum_j W_ij alpha_jc (p - x_j)^T M */
function gradientScale(kernel: AgopArgs['kernel'], L: number): number {
  switch (kernel) {
    case 'laplace':
      return 1 / L;
    case 'gaussian':
      return 1 / (L * L);
    default:
      return 2 / L;
  }
}

const gemmCall = (m: number, n: number, k: number, a: View, lda: number, b: View, ldb: number, c: View, ldc: number): GemmCall => ({
  transA: false,
  transB: false,
  m,
  n,
  k,
  alpha: 1,
  beta: 0,
  batch: 1,
  a: { ...a, ld: lda, stride: 0 },
  b: { ...b, ld: ldb, stride: 0 },
  c: { ...c, ld: ldc, stride: 0 },
});

export function encodeAgop(dev: GpuDevice, args: AgopArgs): void {
  const { n, d, k, m } = args;
  const x: View = { s: args.x as GpuStorage, off: 0 };
  const alpha: View = { s: args.alpha as GpuStorage, off: 0 };
  const points: View = { s: args.points as GpuStorage, off: 0 };
  const out: View = { s: args.out as GpuStorage, off: 0 };
  const mahal: View | undefined = args.mahal ? { s: args.mahal as GpuStorage, off: 0 } : undefined;
  assertDistinct('agop', out, x, alpha, points, ...(mahal ? [mahal] : []));
  if (d === 0) return;
  const count = args.pointIndex?.length ?? m;
  if (n === 0 || count === 0 || k === 0) {
    encodeFill(dev, out, d * d, 0);
    return;
  }
  const batch = Math.max(1, Math.min(args.batchRows, count));
  const weights = weightKernel(args.kernel, args.bandwidth);
  const s = gradientScale(args.kernel, args.bandwidth);
  const temps: GpuStorage[] = [];
  const alloc = (elements: number): View => {
    const t = dev.alloc(elements * 4);
    temps.push(t);
    return { s: t, off: 0 };
  };
  try {
    // norms[0, batch): squared M-norms of the batch's points; norms[batch, batch + N): of the centers
    const norms = alloc(batch + n);
    let xm = x;
    if (mahal) {
      xm = alloc(n * d);
      encodeGemm(dev, gemmCall(n, d, d, x, d, mahal, d, xm, d));
      encodeRowDot(dev, xm, x, n, d, { s: norms.s, off: batch });
    } else {
      encodeRowSumSq(dev, x, n, d, { s: norms.s, off: batch }, true);
    }

    const w = alloc(batch * n);
    const walpha = alloc(batch * k);
    const kc = outputBlock(dev, n, d, k, batch, args.outputBlock, w);
    const blocks = Math.ceil(k / kc);
    const z = alloc(n * kc * d);
    if (blocks === 1) encodeCoefficients(dev, alpha, xm, n, d, k, 0, k, z);
    const jac = alloc(batch * kc * d);
    const pmStore = mahal ? alloc(batch * d) : undefined;
    // sampled points: their row numbers on the device, and a copy of each batch's points
    let index: View | undefined;
    let pStore: View | undefined;
    if (args.pointIndex) {
      const t = dev.upload(args.pointIndex);
      temps.push(t);
      index = { s: t, off: 0 };
      pStore = alloc(batch * d);
    }
    for (let i0 = 0; i0 < count; i0 += batch) {
      const b = Math.min(batch, count - i0);
      let p: View = { s: points.s, off: i0 * d };
      if (index) {
        p = pStore!;
        encodeGatherRows(dev, points, m, { s: index.s, off: i0 }, b, d, p);
      }
      let pm = p;
      if (mahal) {
        pm = pmStore!;
        encodeGemm(dev, gemmCall(b, d, d, p, d, mahal, d, pm, d));
        encodeRowDot(dev, pm, p, b, d, { s: norms.s, off: 0 });
      } else {
        encodeRowSumSq(dev, p, b, d, { s: norms.s, off: 0 }, true);
      }

      const wCall: GemmCall = { ...gemmCall(b, n, d, pm, d, x, d, w, n), transB: true };
      const wPlan = planGemm(dev, wCall, 'distance');
      if (wPlan.bk < d) {
        throw new RangeError(`webgpu: agop: one row of ${d} features does not fit a storage binding; use the cpu backend`);
      }
      encodeGemm(dev, wCall, wPlan, distanceEpilogue(dev, norms.s, batch, weights.code, weights.scale, temps, 'agop'));
      // a point's distance to itself is exactly 0: weight 0 (Laplace) or kernel value 1 (Gaussian)
      if (args.self) {
        const selfWeight = args.kernel === 'laplace' ? 0 : 1;
        if (index) encodeFillAt(dev, w, n, { s: index.s, off: i0 }, b, selfWeight);
        else encodeFillStrided(dev, { s: w.s, off: i0 }, b, n + 1, selfWeight);
      }

      encodeGemm(dev, gemmCall(b, k, n, w, n, alpha, k, walpha, k));

      for (let c0 = 0; c0 < k; c0 += kc) {
        const nc = Math.min(kc, k - c0);
        if (blocks > 1) encodeCoefficients(dev, alpha, xm, n, d, k, c0, nc, z);
        const jCall = gemmCall(b, nc * d, n, w, n, z, nc * d, jac, nc * d);
        encodeGemm(dev, jCall, planGemm(dev, jCall), jacobianEpilogue(dev, pm, walpha, d, k, c0, nc));
        // the b x (nc d) Jacobians are the (b nc) x d matrix of gradients: G += s^2 J^T J
        encodeGemm(dev, {
          ...gemmCall(d, d, b * nc, jac, d, jac, d, out, d),
          transA: true,
          alpha: s * s,
          beta: i0 === 0 && c0 === 0 ? 0 : 1,
        });
      }
    }
  } finally {
    for (const t of temps) dev.release(t);
  }
}

/**
 * Outputs per Jacobian GEMM: the block asked for, made smaller while the GEMM planner would have
 * to split the Jacobian's columns (the epilogue needs each launch to hold whole rows), then evened
 * out (K = 10 with room for 8 runs as 5 + 5).
 */
function outputBlock(dev: GpuDevice, n: number, d: number, k: number, batch: number, asked: number, w: View): number {
  // the planner reads only the shapes and row strides of its operands
  const whole = (kc: number) => planGemm(dev, gemmCall(batch, kc * d, n, w, n, w, kc * d, w, kc * d)).bn >= kc * d;
  let kc = Math.max(1, Math.min(asked, k));
  while (kc > 1 && !whole(kc)) kc--;
  if (!whole(kc)) throw new RangeError(`webgpu: agop: the ${d} features of one output do not fit one launch; use the cpu backend`);
  return Math.ceil(k / Math.ceil(k / kc));
}

/** z[j, c d + p] = alpha[j, c0 + c] xm[j, p] for the nc outputs from c0, in row ranges that fit one binding. */
function encodeCoefficients(dev: GpuDevice, alpha: View, xm: View, n: number, d: number, k: number, c0: number, nc: number, z: View): void {
  const cap = bindingCap(dev);
  const pipeline = dev.pipeline('agop_coefficients');
  const rowsPer = Math.max(1, Math.floor(cap / (nc * d)));
  for (let j0 = 0; j0 < n; j0 += rowsPer) {
    const r = Math.min(rowsPer, n - j0);
    const bz = dev.bindRange(z.s, z.off + j0 * nc * d, r * nc * d);
    const ba = dev.bindRange(alpha.s, alpha.off + j0 * k, r * k);
    const bx = dev.bindRange(xm.s, xm.off + j0 * d, r * d);
    const groups = foldedGroups(dev, r * nc * d, 256);
    const params = packParams([r, d, k, nc, c0, bz.elemOffset, ba.elemOffset, bx.elemOffset, groups[0], 0, 0, 0]);
    dev.dispatch('agop', pipeline, params, [ba.binding, bx.binding, bz.binding], groups);
  }
}

/**
 * J' through agop.wgsl: the block's rows of PM and of W alpha (from output c0, row stride K) as
 * two extra bindings.
 */
function jacobianEpilogue(dev: GpuDevice, pm: View, walpha: View, d: number, k: number, c0: number, nc: number): GemmEpilogue {
  return {
    shader: 'agop',
    label: 'agop',
    constants: { D: d, NCLASS: k },
    scale: 0,
    block(m0: number, mb: number, n0: number, nb: number): EpilogueBlock {
      if (n0 !== 0 || nb !== nc * d) throw new RangeError('webgpu: agop: internal error: Jacobian columns were split');
      const bp = dev.bindRange(pm.s, pm.off + m0 * d, mb * d);
      const bw = dev.bindRange(walpha.s, walpha.off + m0 * k + c0, (mb - 1) * k + nc);
      return { bindings: [bp.binding, bw.binding], offRow: bp.elemOffset, offCol: bw.elemOffset };
    },
  };
}
