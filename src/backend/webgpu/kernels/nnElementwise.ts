/**
 * Host side of shaders/nn_elementwise.wgsl: bias added to every row and the ReLU backward mask,
 * over ranges that fit one binding (bias: blocks of whole rows, so the bias index is e % cols).
 */
import type { GpuDevice } from '../device.js';
import { assertDistinct, assertInPlaceOrDistinct, bindingCap, foldedGroups, forEachRange, packParams, type View } from './common.js';
import { assertFitsBinding, forEachRowBlock } from './nnCommon.js';

const PER_GROUP = 1024;

function ewParams(count: number, cols: number, offX: number, offB: number, offOut: number, groupsX: number): ArrayBuffer {
  return packParams([count, cols, offX, offB, offOut, groupsX, 0, 0]);
}

/** out = x + bias (1 x cols) on every row; out may be x. */
export function encodeBiasAdd(dev: GpuDevice, x: View, rows: number, cols: number, bias: View, out: View): void {
  if (rows === 0 || cols === 0) return;
  const inPlace = assertInPlaceOrDistinct('biasAdd', out, x);
  assertDistinct('biasAdd', out, bias);
  assertFitsBinding(dev, 'biasAdd', 'bias', cols);
  const pipeline = dev.pipeline('nn_elementwise', inPlace ? 'bias_add_inplace' : 'bias_add');
  const bb = dev.bindRange(bias.s, bias.off, cols);
  forEachRowBlock(dev, 'biasAdd', rows, cols, (r0, rb) => {
    const count = rb * cols;
    const bo = dev.bindRange(out.s, out.off + r0 * cols, count);
    const groups = foldedGroups(dev, count, PER_GROUP);
    if (inPlace) {
      dev.dispatch('biasAdd', pipeline, ewParams(count, cols, 0, bb.elemOffset, bo.elemOffset, groups[0]), [bb.binding, bo.binding], groups);
    } else {
      const bx = dev.bindRange(x.s, x.off + r0 * cols, count);
      const params = ewParams(count, cols, bx.elemOffset, bb.elemOffset, bo.elemOffset, groups[0]);
      dev.dispatch('biasAdd', pipeline, params, [bx.binding, bb.binding, bo.binding], groups);
    }
  });
}

/** dx = dy where x > 0, else 0; dx may be dy. */
export function encodeReluBackward(dev: GpuDevice, x: View, dy: View, dx: View, count: number): void {
  if (count === 0) return;
  const inPlace = assertInPlaceOrDistinct('reluBackward', dx, dy);
  assertDistinct('reluBackward', dx, x);
  const pipeline = dev.pipeline('nn_elementwise', inPlace ? 'relu_backward_inplace' : 'relu_backward');
  forEachRange(count, bindingCap(dev), (start, n) => {
    const bx = dev.bindRange(x.s, x.off + start, n);
    const bo = dev.bindRange(dx.s, dx.off + start, n);
    const groups = foldedGroups(dev, n, PER_GROUP);
    if (inPlace) {
      dev.dispatch('reluBackward', pipeline, ewParams(n, 1, bx.elemOffset, 0, bo.elemOffset, groups[0]), [bx.binding, bo.binding], groups);
    } else {
      const bg = dev.bindRange(dy.s, dy.off + start, n);
      const params = ewParams(n, 1, bx.elemOffset, bg.elemOffset, bo.elemOffset, groups[0]);
      dev.dispatch('reluBackward', pipeline, params, [bx.binding, bg.binding, bo.binding], groups);
    }
  });
}
