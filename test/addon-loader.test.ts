import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/index.js';
import { missingAddonExports } from '../src/backend/cpu/addon.js';

describe('native addon loader', () => {
  it('the built addon has every call this version uses', () => {
    expect(missingAddonExports(nativeAddon())).toEqual([]);
  });

  it('names what an addon from older sources lacks, both forms of each call', () => {
    const { layerNorm, layerNormAsync, ...older } = nativeAddon() as unknown as Record<string, unknown>;
    expect(typeof layerNorm).toBe('function');
    expect(typeof layerNormAsync).toBe('function');
    expect(missingAddonExports(older)).toEqual(['layerNorm', 'layerNormAsync']);
    expect(missingAddonExports({})).toContain('solveAsync');
  });
});

describe('native sources', () => {
  it('both build files (cmake-js and node-gyp) compile every native/*.cc', () => {
    // the Fortran runtime routine joins only builds that link OpenBLAS statically (cmake only)
    const staticOnly = 'native/fortran_runtime.cc';
    const sources = readdirSync('native').filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`);
    const cmake = readFileSync('CMakeLists.txt', 'utf8') + readFileSync('cmake/StaticOpenBLAS.cmake', 'utf8');
    const gyp = readFileSync('binding.gyp', 'utf8');
    expect(sources.filter((f) => !cmake.includes(f))).toEqual([]);
    expect(sources.filter((f) => f !== staticOnly && !gyp.includes(`"${f}"`))).toEqual([]);
  });
});

describe('adviseHugePages', () => {
  const thpMode = (): string | null => {
    try {
      return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
    } catch {
      return null; // not Linux, or no THP
    }
  };

  it('advises large arrays where Linux offers huge pages, leaves small ones alone, and the memory works as before', () => {
    const { adviseHugePages } = nativeAddon();
    expect(adviseHugePages(new Float32Array(1000))).toBe(false);
    // 12 MiB, unaligned start: at least one whole 2 MiB page lies inside
    const big = new Float32Array(3 * 2 ** 20 + 7);
    const mode = thpMode();
    expect(adviseHugePages(big.subarray(3))).toBe(mode === 'always' || mode === 'madvise');
    for (let i = 0; i < big.length; i += 4099) big[i] = i;
    for (let i = 0; i < big.length; i += 4099) expect(big[i]).toBe(i);
    expect(big[1]).toBe(0);
  });

  it('names its argument when it is not a typed array', () => {
    const { adviseHugePages } = nativeAddon();
    expect(() => adviseHugePages([1, 2, 3] as unknown as Float32Array)).toThrow(/adviseHugePages: argument 'array' must be a typed array/);
  });
});
