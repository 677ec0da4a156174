/**
 * Host side of shaders/nn_softmax.wgsl: row softmax (optionally causal, for stacked T x T
 * attention scores) and its backward, over blocks of whole rows that fit one binding. The causal
 * mask depends on the global row index, so each block passes its first row.
 */
import type { GpuDevice } from '../device.js';
import { assertDistinct, foldedGroups, type View } from './common.js';
import { forEachRowBlock, nnRowParams } from './nnCommon.js';
import { rowLaunch } from './rowLaunch.js';

const FLAG_CAUSAL = 1;

export function encodeRowSoftmax(dev: GpuDevice, x: View, rows: number, cols: number, causal: boolean, out: View): void {
  assertDistinct('rowSoftmax', out, x);
  if (rows === 0 || cols === 0) return;
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('nn_softmax', 'softmax_rows', launch.constants, launch.includes);
  forEachRowBlock(dev, 'rowSoftmax', rows, cols, (r0, rb) => {
    const bx = dev.bindRange(x.s, x.off + r0 * cols, rb * cols);
    const bo = dev.bindRange(out.s, out.off + r0 * cols, rb * cols);
    const groups = foldedGroups(dev, rb, launch.rowsPerGroup);
    const params = nnRowParams({
      rows: rb, cols, offA: bx.elemOffset, offB: bo.elemOffset, groupsX: groups[0], flags: causal ? FLAG_CAUSAL : 0, row0: r0,
    });
    dev.dispatch('rowSoftmax', pipeline, params, [bx.binding, bo.binding], groups);
  });
}

export function encodeSoftmaxBackward(dev: GpuDevice, p: View, dp: View, rows: number, cols: number, dx: View): void {
  assertDistinct('softmaxBackward', dx, p, dp);
  if (rows === 0 || cols === 0) return;
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('nn_softmax', 'softmax_backward', launch.constants, launch.includes);
  forEachRowBlock(dev, 'softmaxBackward', rows, cols, (r0, rb) => {
    const bp = dev.bindRange(p.s, p.off + r0 * cols, rb * cols);
    const bg = dev.bindRange(dp.s, dp.off + r0 * cols, rb * cols);
    const bo = dev.bindRange(dx.s, dx.off + r0 * cols, rb * cols);
    const groups = foldedGroups(dev, rb, launch.rowsPerGroup);
    const params = nnRowParams({ rows: rb, cols, offA: bp.elemOffset, offB: bg.elemOffset, offC: bo.elemOffset, groupsX: groups[0] });
    dev.dispatch('softmaxBackward', pipeline, params, [bp.binding, bg.binding, bo.binding], groups);
  });
}
