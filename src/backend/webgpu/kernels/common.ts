/**
 * Pieces every kernel launcher shares: a view into storage at an element offset, uniform-block
 * packing, and the block planning that keeps every bound range within one storage binding.
 */
import type { GpuDevice, GpuStorage } from '../device.js';

/** A matrix that starts `off` elements into a storage buffer. */
export interface View {
  s: GpuStorage;
  off: number;
}

export function view(s: GpuStorage, off = 0): View {
  return { s, off };
}

/** Marks a uniform field as f32 (fields are u32 otherwise). */
export interface F32 {
  f32: number;
}

export function f32(value: number): F32 {
  return { f32: value };
}

/**
 * Packs a uniform block of 4-byte fields in declaration order, padded to 16 bytes. Integer fields
 * must be whole numbers in u32 range: offsets and sizes here always lie within one binding.
 */
export function packParams(fields: (number | F32)[]): ArrayBuffer {
  const words = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const buf = new ArrayBuffer(words * 4);
  const dv = new DataView(buf);
  fields.forEach((field, i) => {
    if (typeof field === 'number') {
      if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) {
        throw new RangeError(`webgpu: internal error: uniform field ${i} = ${field} is not a u32`);
      }
      dv.setUint32(i * 4, field, true);
    } else {
      dv.setFloat32(i * 4, field.f32, true);
    }
  });
  return buf;
}

/** Largest element count one bound range may cover (alignment slack already taken off). */
export function bindingCap(dev: GpuDevice): number {
  return dev.maxBindingElements;
}

/**
 * Block sizes for a row-major matrix region of `rows` x `cols` with row stride `ld`: the bound
 * range of a block of r rows and c columns spans (r - 1) * ld + c elements, and must fit `cap`.
 * Returns [blockRows, blockCols]. Rows longer than a binding come back as one row of `cap`.
 */
export function fitBlock(rows: number, cols: number, ld: number, cap: number): [number, number] {
  if (cols > cap) return [1, cap];
  if (rows <= 1) return [rows, cols];
  return [Math.min(rows, Math.floor((cap - cols) / ld) + 1), cols];
}

/** Calls fn(start, count) over [0, total) in steps of at most `step`. */
export function forEachRange(total: number, step: number, fn: (start: number, count: number) => void): void {
  for (let start = 0; start < total; start += step) fn(start, Math.min(step, total - start));
}

export function sameBuffer(a: View, b: View): boolean {
  return a.s.buffer === b.s.buffer;
}

/** Kernels write their output through a writable binding, which may not alias any input binding. */
export function assertDistinct(what: string, out: View, ...inputs: View[]): void {
  if (inputs.some((v) => sameBuffer(out, v))) {
    throw new RangeError(`webgpu: ${what}: the output must not be the same storage as an input`);
  }
}

/** Throws when two views share a buffer in a way no kernel can bind (writable aliasing). */
export function assertInPlaceOrDistinct(what: string, out: View, input: View): boolean {
  if (!sameBuffer(out, input)) return false;
  if (out.off !== input.off) {
    throw new RangeError(`webgpu: ${what}: the output overlaps an input at a different offset`);
  }
  return true;
}

export function nextPow2(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

/** Workgroups for `elements` items at `perGroup` items each, folded under the per-dimension limit. */
export function foldedGroups(dev: GpuDevice, elements: number, perGroup: number): [number, number] {
  return dev.grid(Math.ceil(elements / perGroup));
}
