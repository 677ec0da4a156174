/**
 * Class sums as a GEMM: out (k x cols) = Y^T X with Y the one-hot label matrix (rows x k), built
 * on the GPU from the labels.
 *
 * With few classes C is tiny and the inner dimension (rows) long, which leaves most of a GPU
 * idle, so the rows are cut into G groups whose products land in G partial k x cols matrices
 * (one batched GEMM), and a column sum adds the partials. The one-hot matrix is built a wave
 * of groups at a time to bound its size.
 */
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, foldedGroups, forEachRange, packParams, type View } from './common.js';
import { encodeFill } from './elementwise.js';
import { encodeGemm, type GemmCall } from './gemm.js';
import { encodeColSums } from './reduce.js';

/** Enough workgroups for a large GPU (tiles of all groups together). */
const TARGET_WORKGROUPS = 512;
/** Rows per group at least this many, so partial sums stay few. */
const MIN_GROUP_ROWS = 256;
/** Elements of the partial sums (128 MiB). */
const PARTIAL_BUDGET = 32 * 2 ** 20;
/** Elements of one one-hot wave (64 MiB). */
const ONEHOT_BUDGET = 16 * 2 ** 20;

export function encodeClassSums(dev: GpuDevice, x: View, rows: number, cols: number, labels: Int32Array, k: number, out: View): void {
  if (k === 0 || cols === 0) return;
  assertDistinct('classSums', out, x);
  if (rows === 0) {
    encodeFill(dev, out, k * cols, 0);
    return;
  }
  const tilesPerGroup = Math.ceil(k / 64) * Math.ceil(cols / 64);
  let groups = Math.ceil(TARGET_WORKGROUPS / tilesPerGroup);
  groups = Math.min(groups, Math.ceil(rows / MIN_GROUP_ROWS), Math.floor(PARTIAL_BUDGET / (k * cols)));
  groups = Math.max(1, groups);
  const chunk = Math.ceil(rows / groups);
  groups = Math.ceil(rows / chunk);
  const groupsPerWave = Math.max(1, Math.min(groups, Math.floor(ONEHOT_BUDGET / (chunk * k))));

  const labelBuf = dev.upload(new Uint32Array(labels.buffer, labels.byteOffset, rows));
  const onehot = dev.alloc(groupsPerWave * chunk * k * 4);
  const partial = groups === 1 ? undefined : dev.alloc(groups * k * cols * 4);
  const dest: View = partial ? { s: partial, off: 0 } : out;
  const fullGroups = Math.floor(rows / chunk);
  try {
    for (let g0 = 0; g0 < groups; g0 += groupsPerWave) {
      const g1 = Math.min(groups, g0 + groupsPerWave);
      const r0 = g0 * chunk;
      const r1 = Math.min(rows, g1 * chunk);
      encodeOneHot(dev, labelBuf, r0, r1 - r0, k, onehot);
      const product = (g: number, batch: number, inner: number) => {
        const call: GemmCall = {
          transA: true,
          transB: false,
          m: k,
          n: cols,
          k: inner,
          alpha: 1,
          beta: 0,
          batch,
          a: { s: onehot, off: (g - g0) * chunk * k, ld: k, stride: chunk * k },
          b: { s: x.s, off: x.off + g * chunk * cols, ld: cols, stride: chunk * cols },
          c: { s: dest.s, off: dest.off + g * k * cols, ld: cols, stride: k * cols },
        };
        encodeGemm(dev, call);
      };
      const full = Math.min(g1, fullGroups);
      if (full > g0) product(g0, full - g0, chunk);
      if (g1 > full) product(full, 1, rows - full * chunk);
    }
    if (partial) encodeColSums(dev, { s: partial, off: 0 }, groups, k * cols, out);
  } finally {
    dev.release(labelBuf);
    dev.release(onehot);
    if (partial) dev.release(partial);
  }
}

/** onehot[(i - r0) * k + c] = (labels[i] == c) for rows i in [r0, r0 + n). */
function encodeOneHot(dev: GpuDevice, labels: GpuStorage, r0: number, n: number, k: number, onehot: GpuStorage): void {
  const pipeline = dev.pipeline('classsum', 'main');
  // whole rows per range, so each range needs the labels of its own rows only
  const rowsPerRange = Math.max(1, Math.floor(bindingCap(dev) / k));
  forEachRange(n, rowsPerRange, (start, rn) => {
    const count = rn * k;
    const bl = dev.bindRange(labels, r0 + start, rn);
    const bo = dev.bindRange(onehot, start * k, count);
    const grid = foldedGroups(dev, count, 1024);
    dev.dispatch('oneHot', pipeline, packParams([count, k, bl.elemOffset, bo.elemOffset, grid[0], 0, 0, 0]), [bl.binding, bo.binding], grid);
  });
}
