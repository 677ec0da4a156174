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
