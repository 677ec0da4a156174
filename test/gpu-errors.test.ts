import { describe, expect, it } from 'vitest';
import { findSoftwareAdapter, resolveSoftwareLane } from '../src/backend/webgpu/adapter.js';
import { GpuDevice } from '../src/backend/webgpu/device.js';
import { createContext, matmul } from '../src/index.js';

async function device() {
  const found = await findSoftwareAdapter(resolveSoftwareLane(undefined));
  if (!found) throw new Error('the software GPU is required for this test');
  return GpuDevice.create(found);
}

describe('WebGPU errors become exceptions', () => {
  it('a WGSL compile error throws at the next sync, naming the shader', async () => {
    const dev = await device();
    try {
      dev.pipelineFromCode('broken-kernel', '@compute @workgroup_size(1) fn main() { let x: f32 = undeclared; }');
      await expect(dev.sync()).rejects.toThrow(/broken-kernel[\s\S]*undeclared/);
      await dev.sync(); // the error is reported once, then the device is usable again
    } finally {
      await dev.dispose();
    }
  });

  it('a dispatch whose binding violates validation throws instead of printing', async () => {
    const dev = await device();
    try {
      const p = dev.pipelineFromCode(
        'needs-16-bytes',
        '@group(0) @binding(0) var<storage, read_write> a: array<vec4f>;\n@compute @workgroup_size(1) fn main() { a[0] = vec4f(1.0); }',
      );
      const s = dev.alloc(256);
      // a 4-byte binding is smaller than the shader's minimum binding size (16 bytes)
      dev.dispatch('undersized', p, undefined, [{ buffer: s.buffer, offset: 0, size: 4 }], [1]);
      await expect(dev.sync()).rejects.toThrow(/GPUValidationError/);
    } finally {
      await dev.dispose();
    }
  });

  it('using a disposed context throws', async () => {
    const ctx = await createContext({ backend: 'webgpu-software' });
    const a = ctx.zeros([2, 2]);
    await ctx.dispose();
    expect(() => ctx.zeros([2, 2])).toThrow(/disposed/);
    await expect(matmul(a, a)).rejects.toThrow(/disposed/);
  });

  it('an unknown backend name is a clear error', async () => {
    // @ts-expect-error not a backend name
    await expect(createContext({ backend: 'cuda' })).rejects.toThrow(/backend must be one of auto, cpu, webgpu, webgpu-software; got 'cuda'/);
  });
});
