/**
 * Host side of shaders/gather.wgsl: rows picked by an index list (u32 row numbers in storage),
 * and one entry per row set at an indexed column. Both split their operands into ranges that fit
 * one binding.
 */
import type { GpuDevice } from '../device.js';
import { bindingCap, f32, foldedGroups, packParams, type View } from './common.js';

const WG = 256;
const PER_GROUP = WG * 4;

function params(p: { rows: number; cols: number; row0?: number; srcRows?: number; offIdx: number; offSrc?: number; offOut: number; groupsX: number; ld?: number; value?: number }) {
  return packParams([p.rows, p.cols, p.row0 ?? 0, p.srcRows ?? 0, p.offIdx, p.offSrc ?? 0, p.offOut, p.groupsX, p.ld ?? 0, f32(p.value ?? 0), 0, 0]);
}

/**
 * out (rows x cols) = rows index[0..rows) of src (srcRows x cols). Each launch binds a range of
 * output rows and a range of source rows; a source larger than one binding takes several.
 */
export function encodeGatherRows(dev: GpuDevice, src: View, srcRows: number, index: View, rows: number, cols: number, out: View): void {
  if (rows === 0 || cols === 0) return;
  const cap = bindingCap(dev);
  if (cols > cap) throw new RangeError(`webgpu: gather: a row of ${cols} elements does not fit one storage binding`);
  const pipeline = dev.pipeline('gather', 'gather_rows');
  const per = Math.floor(cap / cols);
  for (let r0 = 0; r0 < rows; r0 += per) {
    const rb = Math.min(per, rows - r0);
    const bi = dev.bindRange(index.s, index.off + r0, rb);
    const bo = dev.bindRange(out.s, out.off + r0 * cols, rb * cols);
    const groups = foldedGroups(dev, rb * cols, PER_GROUP);
    for (let s0 = 0; s0 < srcRows; s0 += per) {
      const sb = Math.min(per, srcRows - s0);
      const bs = dev.bindRange(src.s, src.off + s0 * cols, sb * cols);
      const p = params({ rows: rb, cols, row0: s0, srcRows: sb, offIdx: bi.elemOffset, offSrc: bs.elemOffset, offOut: bo.elemOffset, groupsX: groups[0] });
      dev.dispatch('gather', pipeline, p, [bi.binding, bs.binding, bo.binding], groups);
    }
  }
}

/** out[i * ld + index[i]] = value for i < rows (every index in 0..ld-1). */
export function encodeFillAt(dev: GpuDevice, out: View, ld: number, index: View, rows: number, value: number): void {
  if (rows === 0) return;
  const cap = bindingCap(dev);
  if (ld > cap) throw new RangeError(`webgpu: fill: a row of ${ld} elements does not fit one storage binding`);
  const pipeline = dev.pipeline('gather', 'fill_at');
  const per = Math.floor(cap / ld);
  for (let r0 = 0; r0 < rows; r0 += per) {
    const rb = Math.min(per, rows - r0);
    const bi = dev.bindRange(index.s, index.off + r0, rb);
    const bo = dev.bindRange(out.s, out.off + r0 * ld, rb * ld);
    const groups = foldedGroups(dev, rb, WG);
    const p = params({ rows: rb, cols: 0, offIdx: bi.elemOffset, offOut: bo.elemOffset, groupsX: groups[0], ld, value });
    dev.dispatch('fill', pipeline, p, [bi.binding, bo.binding], groups);
  }
}
