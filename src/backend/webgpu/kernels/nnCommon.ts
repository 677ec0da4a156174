/**
 * Launch helpers shared by the nn kernel modules (shaders/nn_*.wgsl): the row-kernel uniform
 * block of nn_row_core.wgsl and blocks of whole rows that fit one binding (how a row kernel
 * launches is rowLaunch.ts's).
 * Rows are never split: a network's activation row (its width) is far below a binding, and a
 * row longer than one is reported instead of being computed in pieces.
 */
import type { GpuDevice } from '../device.js';
import { bindingCap, f32, forEachRange, packParams } from './common.js';

/** Calls fn(r0, rb) over blocks of whole rows whose span (rb * cols elements) fits one binding. */
export function forEachRowBlock(dev: GpuDevice, what: string, rows: number, cols: number, fn: (r0: number, rb: number) => void): void {
  const cap = bindingCap(dev);
  if (cols > cap) {
    throw new RangeError(`webgpu: ${what}: a row of ${cols} elements is longer than one storage binding (${cap} elements); use the cpu backend`);
  }
  forEachRange(rows, Math.max(1, Math.floor(cap / Math.max(cols, 1))), fn);
}

/** Throws unless `count` elements fit one binding (operands bound whole, e.g. a bias or a table). */
export function assertFitsBinding(dev: GpuDevice, what: string, name: string, count: number): void {
  const cap = bindingCap(dev);
  if (count > cap) {
    throw new RangeError(`webgpu: ${what}: '${name}' has ${count} elements, more than one storage binding holds (${cap}); use the cpu backend`);
  }
}

export interface NnRowFields {
  rows: number;
  cols: number;
  offA?: number;
  offB?: number;
  offC?: number;
  offD?: number;
  groupsX: number;
  flags?: number;
  a?: number;
  b?: number;
  row0?: number;
}

/** The NnRowParams uniform block of nn_row_core.wgsl. */
export function nnRowParams(p: NnRowFields): ArrayBuffer {
  return packParams([
    p.rows, p.cols, p.offA ?? 0, p.offB ?? 0, p.offC ?? 0, p.offD ?? 0, p.groupsX, p.flags ?? 0,
    f32(p.a ?? 0), f32(p.b ?? 0), p.row0 ?? 0, 0,
  ]);
}
