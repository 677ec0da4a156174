import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/index.js';
import { openblasCoreFor, openblasCoreSetByNcgpu } from '../src/backend/cpu/openblasCore.js';

describe('OpenBLAS kernel family', () => {
  it('follows the CPU flags: AVX-512 -> SkylakeX, AVX2 with FMA -> Haswell, else OpenBLAS decides', () => {
    const avx512 = ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd', 'avx2', 'fma'];
    expect(openblasCoreFor(new Set(avx512))).toBe('SkylakeX');
    // AVX-512F alone (Knights Landing) is not the SkylakeX instruction set
    expect(openblasCoreFor(new Set(['avx512f', 'avx2', 'fma']))).toBe('Haswell');
    expect(openblasCoreFor(new Set(['avx2']))).toBeUndefined();
    expect(openblasCoreFor(new Set(['sse3', 'sse4_2', 'avx']))).toBeUndefined();
  });

  it('the loaded OpenBLAS runs the family ncgpu chose', () => {
    const info = nativeAddon().blasInfo();
    if (openblasCoreSetByNcgpu === undefined || !/DYNAMIC_ARCH/.test(info.config)) return; // nothing was chosen here
    expect(process.env.OPENBLAS_CORETYPE).toBe(openblasCoreSetByNcgpu);
    expect(info.config).toContain(openblasCoreSetByNcgpu);
  });
});
