/**
 * Host side of shaders/nn_layernorm.wgsl: LayerNorm (no affine) forward, keeping per-row mean and
 * 1/std, and its backward, over blocks of whole rows that fit one binding.
 */
import type { GpuDevice } from '../device.js';
import { assertDistinct, foldedGroups, type View } from './common.js';
import { forEachRowBlock, nnRowParams } from './nnCommon.js';
import { rowLaunch } from './rowLaunch.js';

export function encodeLayerNorm(dev: GpuDevice, x: View, rows: number, cols: number, eps: number, y: View, stats: View): void {
  assertDistinct('layerNorm', y, x);
  assertDistinct('layerNorm', stats, x, y);
  if (rows === 0 || cols === 0) return;
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('nn_layernorm', 'ln_forward', launch.constants, launch.includes);
  forEachRowBlock(dev, 'layerNorm', rows, cols, (r0, rb) => {
    const bx = dev.bindRange(x.s, x.off + r0 * cols, rb * cols);
    const by = dev.bindRange(y.s, y.off + r0 * cols, rb * cols);
    const bs = dev.bindRange(stats.s, stats.off + 2 * r0, 2 * rb);
    const groups = foldedGroups(dev, rb, launch.rowsPerGroup);
    const params = nnRowParams({ rows: rb, cols, offA: bx.elemOffset, offB: by.elemOffset, offC: bs.elemOffset, groupsX: groups[0], a: eps });
    dev.dispatch('layerNorm', pipeline, params, [bx.binding, by.binding, bs.binding], groups);
  });
}

export function encodeLayerNormBackward(dev: GpuDevice, y: View, stats: View, dy: View, rows: number, cols: number, dx: View): void {
  assertDistinct('layerNormBackward', dx, y, stats, dy);
  if (rows === 0 || cols === 0) return;
  const launch = rowLaunch(dev, cols);
  const pipeline = dev.pipeline('nn_layernorm', 'ln_backward', launch.constants, launch.includes);
  forEachRowBlock(dev, 'layerNormBackward', rows, cols, (r0, rb) => {
    const by = dev.bindRange(y.s, y.off + r0 * cols, rb * cols);
    const bs = dev.bindRange(stats.s, stats.off + 2 * r0, 2 * rb);
    const bg = dev.bindRange(dy.s, dy.off + r0 * cols, rb * cols);
    const bo = dev.bindRange(dx.s, dx.off + r0 * cols, rb * cols);
    const groups = foldedGroups(dev, rb, launch.rowsPerGroup);
    const params = nnRowParams({
      rows: rb, cols, offA: by.elemOffset, offB: bs.elemOffset, offC: bg.elemOffset, offD: bo.elemOffset, groupsX: groups[0],
    });
    dev.dispatch('layerNormBackward', pipeline, params, [by.binding, bs.binding, bg.binding, bo.binding], groups);
  });
}
