import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { platform, release } from 'node:os';
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
  /** whether this machine takes the advice: Linux 4.6 or later with THP in 'always' or 'madvise' mode */
  const adviceTaken = (): boolean => {
    const [major = 0, minor = 0] = release().split('.').map(Number);
    if (platform() !== 'linux' || major < 4 || (major === 4 && minor < 6)) return false;
    try {
      const mode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
      return mode === 'always' || mode === 'madvise';
    } catch {
      return false; // no THP
    }
  };

  it('advises large arrays where Linux offers huge pages, leaves small ones alone, and the memory works as before', () => {
    const { adviseHugePages } = nativeAddon();
    expect(adviseHugePages(new Float32Array(1000))).toBe(false);
    // 12 MiB, unaligned start: at least one whole 2 MiB page lies inside
    const big = new Float32Array(3 * 2 ** 20 + 7);
    expect(adviseHugePages(big.subarray(3))).toBe(adviceTaken());
    for (let i = 0; i < big.length; i += 4099) big[i] = i;
    for (let i = 0; i < big.length; i += 4099) expect(big[i]).toBe(i);
    expect(big[1]).toBe(0);
  });

  it('NCGPU_HUGE_PAGES=0 turns the advice off', () => {
    const code = "import { nativeAddon } from './src/index.ts'; console.log(nativeAddon().adviseHugePages(new Float32Array(3 * 2 ** 20)));";
    const run = (value: string) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NCGPU_HUGE_PAGES: value },
    });
    const off = run('0');
    expect(off.status, off.stderr).toBe(0);
    expect(off.stdout.trim()).toBe('false');
    expect(run('1').stdout.trim()).toBe(String(adviceTaken()));
  });

  it('names its argument when it is not a typed array', () => {
    const { adviseHugePages } = nativeAddon();
    expect(() => adviseHugePages([1, 2, 3] as unknown as Float32Array)).toThrow(/adviseHugePages: argument 'array' must be a typed array/);
  });
});
