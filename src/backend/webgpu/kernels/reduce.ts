/**
 * Host side of shaders/reduce.wgsl: column sums, max and the non-finite count.
 *
 * Column sums reduce blocks of rows to partial rows, then reduce the partial rows the same way
 * until one row is left, so every sum is short (blocked summation). Rows so long that a binding
 * holds fewer than two of them are added pairwise with axpy instead.
 *
 * max / countNonFinite reduce 4096 elements per workgroup to u32 partials, then fold partials
 * until one value is left, and read back 4 bytes.
 */
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, fitBlock, foldedGroups, forEachRange, nextPow2, packParams, type View } from './common.js';
import { encodeAxpy, encodeFill } from './elementwise.js';

const SERIAL = 16;
const FOLD_PER_GROUP = 4096;

function colConfig(cols: number): { cx: number; ry: number } {
  const cx = Math.min(64, nextPow2(cols));
  return { cx, ry: 256 / cx };
}

/** out (1 x cols) = sum over rows of x (rows x cols, row stride cols). */
export function encodeColSums(dev: GpuDevice, x: View, rows: number, cols: number, out: View): void {
  if (cols === 0) return;
  assertDistinct('colSums', out, x);
  if (rows === 0) {
    encodeFill(dev, out, cols, 0);
    return;
  }
  if (rows === 1) {
    dev.copyBuffer(x.s.buffer, x.off * 4, out.s.buffer, out.off * 4, cols * 4);
    return;
  }
  const cap = bindingCap(dev);
  if (Math.floor(cap / cols) < 2) {
    pairwiseRowSum(dev, x, rows, cols, out);
    return;
  }
  const { cx, ry } = colConfig(cols);
  const rowsPerGroup = ry * SERIAL;
  const [fitRows] = fitBlock(rows, cols, cols, cap);
  const blockRows = Math.min(fitRows, dev.maxWorkgroupsPerDim * rowsPerGroup);
  const partialRows = blockPartials(rows, blockRows, rowsPerGroup);
  const target = partialRows === 1 ? undefined : dev.alloc(partialRows * cols * 4);
  const dest: View = target ? { s: target, off: 0 } : out;
  const pipeline = dev.pipeline('reduce', 'colsum', { CX: cx, RY: ry });
  let p0 = 0;
  forEachRange(rows, blockRows, (r0, rb) => {
    const pb = Math.ceil(rb / rowsPerGroup);
    // column blocks only when there are more column tiles than one dispatch dimension allows
    forEachRange(cols, dev.maxWorkgroupsPerDim * cx, (c0, cb) => {
      const bx = dev.bindRange(x.s, x.off + r0 * cols + c0, (rb - 1) * cols + cb);
      const bo = dev.bindRange(dest.s, dest.off + p0 * cols + c0, (pb - 1) * cols + cb);
      const params = packParams([rb, cb, cols, bx.elemOffset, cols, bo.elemOffset, 0, 0]);
      dev.dispatch('colSums', pipeline, params, [bx.binding, bo.binding], [Math.ceil(cb / cx), pb]);
    });
    p0 += pb;
  });
  if (target) {
    encodeColSums(dev, { s: target, off: 0 }, partialRows, cols, out);
    dev.release(target);
  }
}

function blockPartials(rows: number, blockRows: number, rowsPerGroup: number): number {
  let total = 0;
  forEachRange(rows, blockRows, (_, rb) => {
    total += Math.ceil(rb / rowsPerGroup);
  });
  return total;
}

/** Sums rows two at a time into a temporary, halving the row count each level. */
function pairwiseRowSum(dev: GpuDevice, x: View, rows: number, cols: number, out: View): void {
  let src = x;
  let n = rows;
  let temp: GpuStorage | undefined;
  while (n > 2) {
    const half = Math.floor(n / 2);
    const next = dev.alloc(Math.ceil(n / 2) * cols * 4);
    for (let i = 0; i < half; i++) {
      encodeAxpy(dev, 1, { s: src.s, off: src.off + 2 * i * cols }, { s: src.s, off: src.off + (2 * i + 1) * cols }, { s: next, off: i * cols }, cols);
    }
    if (n % 2 === 1) dev.copyBuffer(src.s.buffer, (src.off + (n - 1) * cols) * 4, next.buffer, half * cols * 4, cols * 4);
    if (temp) dev.release(temp);
    temp = next;
    src = { s: next, off: 0 };
    n = Math.ceil(n / 2);
  }
  encodeAxpy(dev, 1, src, { s: src.s, off: src.off + cols }, out, cols);
  if (temp) dev.release(temp);
}

/** Folds `count` f32 (entry max_keys / count_nonfinite) to one u32 and reads it back. */
async function foldToScalar(dev: GpuDevice, entry: 'max_keys' | 'count_nonfinite', x: View, count: number): Promise<number> {
  const cap = bindingCap(dev);
  const combine = entry === 'max_keys' ? 0 : 1;
  let partials = 0;
  forEachRange(count, cap, (_, n) => {
    partials += Math.ceil(n / FOLD_PER_GROUP);
  });
  let dest = dev.alloc(partials * 4);
  const first = dev.pipeline('reduce', entry, { COMBINE: combine });
  let p0 = 0;
  forEachRange(count, cap, (start, n) => {
    const groups = Math.ceil(n / FOLD_PER_GROUP);
    const bx = dev.bindRange(x.s, x.off + start, n);
    const bo = dev.bindRange(dest, p0, groups);
    const grid = foldedGroups(dev, n, FOLD_PER_GROUP);
    dev.dispatch(entry, first, packParams([n, bx.elemOffset, bo.elemOffset, grid[0]]), [bx.binding, bo.binding], grid);
    p0 += groups;
  });
  const fold = dev.pipeline('reduce', 'combine_u32', { COMBINE: combine });
  while (partials > 1) {
    // partials never exceed one binding: count / 4096 u32 for count <= maxBufferSize / 4
    const next = Math.ceil(partials / FOLD_PER_GROUP);
    const nextDest = dev.alloc(next * 4);
    const grid = foldedGroups(dev, partials, FOLD_PER_GROUP);
    const bx = dev.bindRange(dest, 0, partials);
    const bo = dev.bindRange(nextDest, 0, next);
    dev.dispatch('fold', fold, packParams([partials, 0, 0, grid[0]]), [bx.binding, bo.binding], grid);
    dev.release(dest);
    dest = nextDest;
    partials = next;
  }
  try {
    const bytes = await dev.read(dest, 4);
    return new Uint32Array(bytes)[0]!;
  } finally {
    dev.release(dest);
  }
}

/** Inverse of max_key in reduce.wgsl. */
function keyToFloat(key: number): number {
  if (key === 0) return -Infinity;
  if (key === 0xffffffff) return NaN;
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits, true);
  return dv.getFloat32(0, true);
}

/** Largest element; NaN when any element is NaN; -Infinity for no elements. */
export async function reduceMax(dev: GpuDevice, x: View, count: number): Promise<number> {
  if (count === 0) return -Infinity;
  return keyToFloat(await foldToScalar(dev, 'max_keys', x, count));
}

export async function countNonFinite(dev: GpuDevice, x: View, count: number): Promise<number> {
  if (count === 0) return 0;
  return foldToScalar(dev, 'count_nonfinite', x, count);
}
