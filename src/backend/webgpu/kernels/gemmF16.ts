/**
 * matmul's precision 'f16': A and B are rounded to f16 on the device (shaders/to_f16.wgsl), then
 * the tiled GEMM runs on f16 inputs with f32 accumulation (gemm_core.wgsl with
 * gemm_precision_f16.wgsl). Each operand's converted copy covers exactly the elements the product
 * reads (every batch item's span), at half the bytes.
 */
import type { GpuDevice, GpuStorage } from '../device.js';
import { bindingCap, foldedGroups, forEachRange, packParams } from './common.js';
import { encodeGemm, spanA, spanB, type GemmCall, type GemmOperand } from './gemm.js';

const TO_F16_WG = 256;

/** Thrown where matmul asks for f16 on a device without shader-f16. */
function assertF16(dev: GpuDevice): void {
  if (dev.features.f16Gemm) return;
  const disabled = dev.features.disabled.includes('shader-f16');
  throw new Error(
    `matmul: precision 'f16' needs the GPU feature 'shader-f16', which this device ${disabled ? 'has turned off (disableFeatures / NCGPU_DISABLE_FEATURES)' : `lacks (${dev.adapter.device}, ${dev.adapter.dawnBackend})`}; use precision 'f32'`,
  );
}

/** A new f16 buffer holding src[start, start + count) rounded to f16 (an odd count padded with a 0). */
function toF16(dev: GpuDevice, src: GpuStorage, start: number, count: number): GpuStorage {
  const out = dev.alloc(Math.max(4, Math.ceil(count / 2) * 4));
  const pipeline = dev.pipeline('to_f16', 'main');
  // even chunks, so each chunk's pairs start on a pair of the output
  const chunk = Math.max(2, Math.floor(bindingCap(dev) / 2) * 2);
  forEachRange(count, chunk, (c0, n) => {
    const pairs = Math.ceil(n / 2);
    const bi = dev.bindRange(src, start + c0, n);
    const bo = dev.bindRange(out, c0 / 2, pairs);
    const groups = foldedGroups(dev, pairs, TO_F16_WG);
    dev.dispatch('toF16', pipeline, packParams([n, bi.elemOffset, bo.elemOffset, groups[0]]), [bi.binding, bo.binding], groups);
  });
  return out;
}

/** The operand's f16 copy: the elements from its offset through its last batch item's span. */
function operandF16(dev: GpuDevice, op: GemmOperand, batch: number, span: number, temps: GpuStorage[]): GemmOperand {
  const count = (batch - 1) * op.stride + span;
  const s = toF16(dev, op.s, op.off, count);
  temps.push(s);
  return { s, off: 0, ld: op.ld, stride: op.stride };
}

/** C = alpha op(A) op(B) + beta C with A and B rounded to f16 and f32 accumulation. */
export function encodeGemmF16(dev: GpuDevice, call: GemmCall): void {
  assertF16(dev);
  const { m, n, k, batch } = call;
  if (m === 0 || n === 0 || batch === 0 || k === 0) {
    // nothing is multiplied: the f32 path gives beta C without reading A or B
    encodeGemm(dev, { ...call, precision: 'f32' });
    return;
  }
  const temps: GpuStorage[] = [];
  try {
    const a = operandF16(dev, call.a, batch, spanA(call, m, k), temps);
    const b = operandF16(dev, call.b, batch, spanB(call, k, n), temps);
    encodeGemm(dev, { ...call, a, b, precision: 'f16' });
  } finally {
    // queue order keeps the copies alive for the launches that read them
    for (const t of temps) dev.release(t);
  }
}
