/**
 * Host side of shaders/nn_loss.wgsl: softmax cross-entropy and mean squared error on logits with
 * one sample per row (N x K). Each launch covers a block of whole rows, writes the gradient and
 * one partial loss per workgroup; the partials are then summed on the device into the loss slot
 * (softmaxCe.ts's sumPartials), so a training step needs no readback.
 */
import type { GpuDevice } from '../device.js';
import { assertDistinct, foldedGroups, type View } from './common.js';
import { sumPartials } from './softmaxCe.js';
import { forEachRowBlock, nnRowParams } from './nnCommon.js';
import { rowLaunch } from './rowLaunch.js';

function encodeRowLoss(
  dev: GpuDevice, entry: 'ce_rows' | 'mse_rows', what: string, z: View, y: View, yPerRow: number,
  n: number, k: number, grad: View, loss: View, gradScale: number,
): void {
  assertDistinct(what, grad, z, y);
  assertDistinct(what, loss, z, y, grad);
  if (n === 0 || k === 0) return;
  const launch = rowLaunch(dev, k);
  const rowsPerGroup = launch.rowsPerGroup;
  const pipeline = dev.pipeline('nn_loss', entry, launch.constants, launch.includes);
  const blocks: [number, number][] = [];
  forEachRowBlock(dev, what, n, k, (r0, rb) => blocks.push([r0, rb]));
  const count = blocks.reduce((s, [, rb]) => s + Math.ceil(rb / rowsPerGroup), 0);
  const partials = dev.alloc(count * 4);
  let p0 = 0;
  for (const [r0, rb] of blocks) {
    const groupsNeeded = Math.ceil(rb / rowsPerGroup);
    const bz = dev.bindRange(z.s, z.off + r0 * k, rb * k);
    const by = dev.bindRange(y.s, y.off + r0 * yPerRow, rb * yPerRow);
    const bg = dev.bindRange(grad.s, grad.off + r0 * k, rb * k);
    const bp = dev.bindRange(partials, p0, groupsNeeded);
    const groups = foldedGroups(dev, rb, rowsPerGroup);
    const params = nnRowParams({
      rows: rb, cols: k, offA: bz.elemOffset, offB: by.elemOffset, offC: bg.elemOffset, offD: bp.elemOffset,
      groupsX: groups[0], a: gradScale, row0: r0,
    });
    dev.dispatch(what, pipeline, params, [bz.binding, by.binding, bg.binding, bp.binding], groups);
    p0 += groupsNeeded;
  }
  // takes ownership of `partials`
  sumPartials(dev, partials, count, loss, 1 / n);
}

/** grad = (softmax(z) - onehot) / n per row of z (n x k); loss = mean cross-entropy. */
export function encodeSoftmaxCeRows(dev: GpuDevice, z: View, n: number, k: number, labels: View, grad: View, loss: View): void {
  encodeRowLoss(dev, 'ce_rows', 'softmaxCeRows', z, labels, 1, n, k, grad, loss, 1 / n);
}

/** grad = 2 (z - target) / n; loss = (1/n) sum_i ||z_i - target_i||^2. */
export function encodeMse(dev: GpuDevice, z: View, target: View, n: number, k: number, grad: View, loss: View): void {
  encodeRowLoss(dev, 'mse_rows', 'mse', z, target, k, n, k, grad, loss, 2 / n);
}
