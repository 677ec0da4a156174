/**
 * Host side of shaders/elementwise.wgsl: unary maps, axpy and fills over contiguous ranges, split
 * into ranges that fit one binding. An output that is the same storage as an input uses the
 * in-place entry point instead of binding one buffer twice.
 */
import type { GpuDevice } from '../device.js';
import { assertInPlaceOrDistinct, bindingCap, f32, foldedGroups, forEachRange, packParams, type View } from './common.js';

const PER_GROUP = 1024;

/** OP codes of elementwise.wgsl beyond the public UnaryOp codes */
export const OP_SQRT = 4;
export const OP_FILL = 5;

function ewParams(count: number, offX: number, offY: number, offOut: number, groupsX: number, alpha: number, stride = 0): ArrayBuffer {
  return packParams([count, offX, offY, offOut, groupsX, f32(alpha), stride, 0]);
}

/** out = op(x) elementwise (op code per UNARY_OP_CODES, or OP_SQRT). */
export function encodeUnary(dev: GpuDevice, op: number, x: View, out: View, count: number, alpha: number): void {
  const inPlace = assertInPlaceOrDistinct('unary', out, x);
  const pipeline = dev.pipeline('elementwise', inPlace ? 'unary_inplace' : 'unary', { OP: op });
  forEachRange(count, bindingCap(dev), (start, n) => {
    const o = dev.bindRange(out.s, out.off + start, n);
    const groups = foldedGroups(dev, n, PER_GROUP);
    if (inPlace) {
      dev.dispatch('unary', pipeline, ewParams(n, 0, 0, o.elemOffset, groups[0], alpha), [o.binding], groups);
    } else {
      const i = dev.bindRange(x.s, x.off + start, n);
      dev.dispatch('unary', pipeline, ewParams(n, i.elemOffset, 0, o.elemOffset, groups[0], alpha), [i.binding, o.binding], groups);
    }
  });
}

/** out = value */
export function encodeFill(dev: GpuDevice, out: View, count: number, value: number): void {
  const pipeline = dev.pipeline('elementwise', 'unary_inplace', { OP: OP_FILL });
  forEachRange(count, bindingCap(dev), (start, n) => {
    const o = dev.bindRange(out.s, out.off + start, n);
    const groups = foldedGroups(dev, n, PER_GROUP);
    dev.dispatch('fill', pipeline, ewParams(n, 0, 0, o.elemOffset, groups[0], value), [o.binding], groups);
  });
}

/** out[e * stride] = value for e < count (a diagonal when stride = cols + 1). */
export function encodeFillStrided(dev: GpuDevice, out: View, count: number, stride: number, value: number): void {
  const pipeline = dev.pipeline('elementwise', 'fill_strided');
  // a run of c entries spans (c - 1) * stride + 1 elements of one binding
  const perBinding = Math.floor((bindingCap(dev) - 1) / stride) + 1;
  forEachRange(count, perBinding, (start, c) => {
    const o = dev.bindRange(out.s, out.off + start * stride, (c - 1) * stride + 1);
    const groups = foldedGroups(dev, c, PER_GROUP);
    dev.dispatch('fill', pipeline, ewParams(c, 0, 0, o.elemOffset, groups[0], value, stride), [o.binding], groups);
  });
}

/** out = alpha x + y; out may be x, y or both. */
export function encodeAxpy(dev: GpuDevice, alpha: number, x: View, y: View, out: View, count: number): void {
  const outIsX = assertInPlaceOrDistinct('axpy', out, x);
  const outIsY = assertInPlaceOrDistinct('axpy', out, y);
  const entry = outIsX && outIsY ? 'axpy_all_same' : outIsX ? 'axpy_out_is_x' : outIsY ? 'axpy_out_is_y' : 'axpy';
  const pipeline = dev.pipeline('elementwise', entry);
  forEachRange(count, bindingCap(dev), (start, n) => {
    const o = dev.bindRange(out.s, out.off + start, n);
    const groups = foldedGroups(dev, n, PER_GROUP);
    const bx = outIsX ? undefined : dev.bindRange(x.s, x.off + start, n);
    const by = outIsY ? undefined : dev.bindRange(y.s, y.off + start, n);
    const params = ewParams(n, bx?.elemOffset ?? 0, by?.elemOffset ?? 0, o.elemOffset, groups[0], alpha);
    const bindings = [bx?.binding, by?.binding, o.binding].filter((b): b is GPUBufferBinding => b !== undefined);
    dev.dispatch('axpy', pipeline, params, bindings, groups);
  });
}
