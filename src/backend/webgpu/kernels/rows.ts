/**
 * Host side of shaders/rows.wgsl: row norms, row dot products and row normalization (launched as
 * rowLaunch.ts says: on subgroup operations where the device has them).
 *
 * Whole rows that fit one binding are processed in row blocks, one launch per block. A row
 * longer than a binding is summed in column blocks that accumulate into the output, and
 * normalized in a second, elementwise pass.
 */
import type { GpuDevice } from '../device.js';
import { assertDistinct, assertInPlaceOrDistinct, bindingCap, fitBlock, foldedGroups, packParams, type View } from './common.js';
import { encodeUnary, OP_SQRT } from './elementwise.js';
import { rowLaunch } from './rowLaunch.js';

const FLAG_ACCUMULATE = 1;
const FLAG_SQRT = 2;

function rowParams(rows: number, cols: number, ld: number, offX: number, offB: number, offOut: number, groupsX: number, flags: number) {
  return packParams([rows, cols, ld, offX, offB, offOut, groupsX, flags]);
}

interface RowBlock {
  r0: number;
  rb: number;
  c0: number;
  cb: number;
}

/** Blocks of a rows x cols matrix (row stride cols) whose bound range fits one binding. */
function rowBlocks(dev: GpuDevice, rows: number, cols: number): RowBlock[] {
  const cap = bindingCap(dev);
  const [br, bc] = fitBlock(rows, Math.max(cols, 1), Math.max(cols, 1), cap);
  const blocks: RowBlock[] = [];
  for (let r0 = 0; r0 < rows; r0 += br) {
    const rb = Math.min(br, rows - r0);
    if (cols === 0) blocks.push({ r0, rb, c0: 0, cb: 0 });
    for (let c0 = 0; c0 < cols; c0 += bc) blocks.push({ r0, rb, c0, cb: Math.min(bc, cols - c0) });
  }
  return blocks;
}

function rangeOf(block: RowBlock, cols: number): [number, number] {
  return [block.r0 * cols + block.c0, Math.max(1, (block.rb - 1) * cols + block.cb)];
}

/** out[r] = sum_c x[r, c]^2 (sqrt of it unless `squared`). */
export function encodeRowSumSq(dev: GpuDevice, x: View, rows: number, cols: number, out: View, squared: boolean): void {
  if (rows === 0) return;
  assertDistinct('rowNorms', out, x);
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('rows', 'row_sumsq', launch.constants, launch.includes);
  const blocks = rowBlocks(dev, rows, cols);
  const split = blocks.some((b) => b.cb < cols);
  for (const block of blocks) {
    const [start, count] = rangeOf(block, cols);
    const bx = dev.bindRange(x.s, x.off + start, count);
    const bo = dev.bindRange(out.s, out.off + block.r0, block.rb);
    const flags = (block.c0 > 0 ? FLAG_ACCUMULATE : 0) | (!squared && !split ? FLAG_SQRT : 0);
    const groups = foldedGroups(dev, block.rb, launch.rowsPerGroup);
    dev.dispatch('rowNorms', pipeline, rowParams(block.rb, block.cb, cols, bx.elemOffset, 0, bo.elemOffset, groups[0], flags), [bx.binding, bo.binding], groups);
  }
  if (!squared && split) encodeUnary(dev, OP_SQRT, out, out, rows, 1);
}

/** out[r] = sum_c a[r, c] b[r, c] */
export function encodeRowDot(dev: GpuDevice, a: View, b: View, rows: number, cols: number, out: View): void {
  if (rows === 0) return;
  assertDistinct('rowDot', out, a, b);
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('rows', 'row_dot', launch.constants, launch.includes);
  for (const block of rowBlocks(dev, rows, cols)) {
    const [start, count] = rangeOf(block, cols);
    const ba = dev.bindRange(a.s, a.off + start, count);
    const bb = dev.bindRange(b.s, b.off + start, count);
    const bo = dev.bindRange(out.s, out.off + block.r0, block.rb);
    const flags = block.c0 > 0 ? FLAG_ACCUMULATE : 0;
    const groups = foldedGroups(dev, block.rb, launch.rowsPerGroup);
    dev.dispatch('rowDot', pipeline, rowParams(block.rb, block.cb, cols, ba.elemOffset, bb.elemOffset, bo.elemOffset, groups[0], flags), [ba.binding, bb.binding, bo.binding], groups);
  }
}

/** out row = x row / ||x row|| (a zero row stays zero); out may be x. */
export function encodeRowNormalize(dev: GpuDevice, x: View, rows: number, cols: number, out: View): void {
  if (rows === 0 || cols === 0) return;
  const inPlace = assertInPlaceOrDistinct('rowNormalize', out, x);
  const blocks = rowBlocks(dev, rows, cols);
  if (blocks.every((b) => b.cb === cols)) {
    const launch = rowLaunch(dev, cols);
    const pipeline = dev.pipeline('rows', inPlace ? 'row_normalize_inplace' : 'row_normalize', launch.constants, launch.includes);
    for (const block of blocks) {
      const [start, count] = rangeOf(block, cols);
      const bo = dev.bindRange(out.s, out.off + start, count);
      const bx = inPlace ? bo : dev.bindRange(x.s, x.off + start, count);
      const groups = foldedGroups(dev, block.rb, launch.rowsPerGroup);
      const params = rowParams(block.rb, cols, cols, bx.elemOffset, 0, bo.elemOffset, groups[0], 0);
      dev.dispatch('rowNormalize', pipeline, params, inPlace ? [bo.binding] : [bx.binding, bo.binding], groups);
    }
    return;
  }
  // Rows longer than one binding: squared norms first, then scale every block.
  const norms = dev.alloc(rows * 4);
  try {
    encodeRowSumSq(dev, x, rows, cols, { s: norms, off: 0 }, true);
    const pipeline = dev.pipeline('rows', inPlace ? 'row_scale_inplace' : 'row_scale');
    for (const block of blocks) {
      const [start, count] = rangeOf(block, cols);
      const bo = dev.bindRange(out.s, out.off + start, count);
      const bn = dev.bindRange(norms, block.r0, block.rb);
      const groups = foldedGroups(dev, block.rb * block.cb, 1024);
      if (inPlace) {
        const params = rowParams(block.rb, block.cb, cols, 0, bn.elemOffset, bo.elemOffset, groups[0], 0);
        dev.dispatch('rowNormalize', pipeline, params, [bo.binding, bn.binding], groups);
      } else {
        const bx = dev.bindRange(x.s, x.off + start, count);
        const params = rowParams(block.rb, block.cb, cols, bx.elemOffset, bn.elemOffset, bo.elemOffset, groups[0], 0);
        dev.dispatch('rowNormalize', pipeline, params, [bx.binding, bn.binding, bo.binding], groups);
      }
    }
  } finally {
    dev.release(norms);
  }
}
