/**
 * Host side of the pairwise kernel matrix (shaders/distance.wgsl): squared row norms first,
 * then the GEMM X Z^T with the kernel applied in its epilogue, so the n x m distance matrix is
 * never written and re-read. With a Mahalanobis matrix M the GEMM runs on (X M) Z^T and the
 * norms are rowDot(X M, X) and rowDot(Z M, Z).
 *
 * The fused epilogue needs the whole inner dimension in one launch; when a row of X or Z is
 * longer than a binding allows, the inner products go through the plain (k-split) GEMM and a
 * separate elementwise pass applies the kernel.
 */
import type { PairwiseArgs } from '../../types.js';
import { PAIRWISE_KERNEL_CODES } from '../../types.js';
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, f32, fitBlock, foldedGroups, packParams, type View } from './common.js';
import { encodeGemm, planGemm, type EpilogueBlock, type GemmCall, type GemmEpilogue } from './gemm.js';
import { encodeFillStrided } from './elementwise.js';
import { encodeRowDot, encodeRowSumSq } from './rows.js';

function kernelScale(kernel: PairwiseArgs['kernel'], bandwidth: number): number {
  switch (kernel) {
    case 'sqdist':
      return 0;
    case 'gaussian':
      return 1 / (2 * bandwidth * bandwidth);
    default:
      return 1 / bandwidth;
  }
}

export function encodePairwise(dev: GpuDevice, args: PairwiseArgs): void {
  const { n, m, d, kernel, bandwidth } = args;
  if (n === 0 || m === 0) return;
  const x: View = { s: args.x as GpuStorage, off: 0 };
  const z: View = { s: args.z as GpuStorage, off: 0 };
  const out: View = { s: args.out as GpuStorage, off: 0 };
  assertDistinct('pairwise', out, x, z, ...(args.mahal ? [{ s: args.mahal as GpuStorage, off: 0 }] : []));
  const temps: GpuStorage[] = [];
  try {
    // norms[0, n): squared (M-)norms of the rows of x; norms[n, n + m): of the rows of z
    const norms = dev.alloc((n + m) * 4);
    temps.push(norms);
    let left = x;
    if (args.mahal) {
      const mahal: View = { s: args.mahal as GpuStorage, off: 0 };
      const xm = dev.alloc(n * d * 4);
      temps.push(xm);
      left = { s: xm, off: 0 };
      timesMatrix(dev, x, n, d, mahal, left);
      encodeRowDot(dev, left, x, n, d, { s: norms, off: 0 });
      const zm = dev.alloc(m * d * 4);
      temps.push(zm);
      timesMatrix(dev, z, m, d, mahal, { s: zm, off: 0 });
      encodeRowDot(dev, { s: zm, off: 0 }, z, m, d, { s: norms, off: n });
    } else {
      encodeRowSumSq(dev, x, n, d, { s: norms, off: 0 }, true);
      encodeRowSumSq(dev, z, m, d, { s: norms, off: n }, true);
    }

    const call: GemmCall = {
      transA: false,
      transB: true,
      m: n,
      n: m,
      k: d,
      alpha: 1,
      beta: 0,
      batch: 1,
      a: { ...left, ld: d, stride: 0 },
      b: { ...z, ld: d, stride: 0 },
      c: { ...out, ld: m, stride: 0 },
    };
    const plan = planGemm(dev, call, 'distance');
    const scale = kernelScale(kernel, bandwidth);
    const code = PAIRWISE_KERNEL_CODES[kernel];
    if (plan.bk >= d) {
      encodeGemm(dev, call, plan, distanceEpilogue(dev, norms, n, code, scale, temps));
    } else {
      encodeGemm(dev, call, plan);
      encodeFinalize(dev, out, n, m, norms, code, scale);
    }
    // K(X, X): distance exactly 0 on the diagonal, where the GEMM form leaves rounding noise
    const offset = args.symmetric ? 0 : args.selfOffset;
    if (offset !== undefined && Math.min(n, m - offset) > 0) {
      encodeFillStrided(dev, { ...out, off: out.off + offset }, Math.min(n, m - offset), m + 1, kernel === 'sqdist' ? 0 : 1);
    }
  } finally {
    for (const t of temps) dev.release(t);
  }
}

/** out (rows x d) = a (rows x d) M (d x d) */
function timesMatrix(dev: GpuDevice, a: View, rows: number, d: number, mahal: View, out: View): void {
  encodeGemm(dev, {
    transA: false,
    transB: false,
    m: rows,
    n: d,
    k: d,
    alpha: 1,
    beta: 0,
    batch: 1,
    a: { ...a, ld: d, stride: 0 },
    b: { ...mahal, ld: d, stride: 0 },
    c: { ...out, ld: d, stride: 0 },
  });
}

/**
 * The distance-kernel epilogue of a GEMM C = X Z^T (shaders/distance.wgsl). The norms of a C block
 * are rows [m0, m0 + mb) and n + [n0, n0 + nb) of `norms`: bound as one range when that fits, else
 * copied side by side into a small buffer (reused across blocks; queue order keeps each copy after
 * the launch that read the previous one). Also the AGOP's kernel-weight epilogue.
 */
export function distanceEpilogue(
  dev: GpuDevice, norms: GpuStorage, n: number, code: number, scale: number, temps: GpuStorage[], label = 'pairwise',
): GemmEpilogue {
  let packed: GpuStorage | undefined;
  return {
    shader: 'distance',
    label,
    constants: { KERNEL: code },
    scale,
    block(m0: number, mb: number, n0: number, nb: number): EpilogueBlock {
      const span = n + n0 + nb - m0;
      if (span <= bindingCap(dev)) {
        const r = dev.bindRange(norms, m0, span);
        return { bindings: [r.binding], offRow: r.elemOffset, offCol: r.elemOffset + n + n0 - m0 };
      }
      if (!packed) {
        packed = dev.alloc((mb + nb) * 4);
        temps.push(packed);
      }
      dev.copyBuffer(norms.buffer, m0 * 4, packed.buffer, 0, mb * 4);
      dev.copyBuffer(norms.buffer, (n + n0) * 4, packed.buffer, mb * 4, nb * 4);
      return { bindings: [dev.bindRange(packed, 0, mb + nb).binding], offRow: 0, offCol: mb };
    },
  };
}

/** out[i, j] = k(max(nx_i + nz_j - 2 out[i, j], 0)) over blocks that fit one binding. */
function encodeFinalize(dev: GpuDevice, out: View, n: number, m: number, norms: GpuStorage, code: number, scale: number): void {
  const pipeline = dev.pipeline('distance_finalize', 'main', { KERNEL: code });
  const [br, bc] = fitBlock(n, m, m, bindingCap(dev));
  for (let r0 = 0; r0 < n; r0 += br) {
    const rb = Math.min(br, n - r0);
    for (let c0 = 0; c0 < m; c0 += bc) {
      const cb = Math.min(bc, m - c0);
      const bo = dev.bindRange(out.s, out.off + r0 * m + c0, (rb - 1) * m + cb);
      const brow = dev.bindRange(norms, r0, rb);
      const bcol = dev.bindRange(norms, n + c0, cb);
      const grid = foldedGroups(dev, rb * cb, 256);
      const params = packParams([rb, cb, m, bo.elemOffset, brow.elemOffset, bcol.elemOffset, grid[0], f32(scale)]);
      dev.dispatch('pairwise', pipeline, params, [bo.binding, brow.binding, bcol.binding], grid);
    }
  }
}
