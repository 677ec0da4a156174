/** The seeded generator's draws that other code builds on. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';

describe('Rng.choose', () => {
  it('draws distinct indices in ascending order, the same for the same seed', () => {
    const a = new Rng(7).choose(1000, 50);
    expect(a).toBeInstanceOf(Int32Array);
    expect(a.length).toBe(50);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]!);
    expect(a[0]).toBeGreaterThanOrEqual(0);
    expect(a[49]).toBeLessThan(1000);
    expect(Array.from(new Rng(7).choose(1000, 50))).toEqual(Array.from(a));
    expect(Array.from(new Rng(8).choose(1000, 50))).not.toEqual(Array.from(a));
  });

  it('gives every index once when count >= n, and is uniform over the indices', () => {
    expect(Array.from(new Rng(1).choose(5, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(new Rng(1).choose(5, 9))).toEqual([0, 1, 2, 3, 4]);
    expect(new Rng(1).choose(5, 0).length).toBe(0);
    // 3 of 10, 4,000 times: each index about 1,200 times (sd ~29)
    const hits = new Array(10).fill(0);
    const rng = new Rng(3);
    for (let t = 0; t < 4000; t++) for (const i of rng.choose(10, 3)) hits[i]++;
    for (const h of hits) expect(Math.abs(h - 1200)).toBeLessThan(150);
    expect(() => new Rng(1).choose(5, -1)).toThrow(RangeError);
    expect(() => new Rng(1).choose(2.5, 1)).toThrow(RangeError);
  });
});
