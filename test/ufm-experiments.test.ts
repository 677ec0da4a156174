import { describe, expect, it } from 'vitest';
import { seedMeanTrajectory, type DepthSweepRow, type RunSummary } from '../src/ufm/experiments.js';

const seedRun = (seed: number, ranks: number[], error?: string): RunSummary => ({
  seed, depth: 3, width: 8, effectiveRank: ranks.at(-1) ?? NaN, margin: 0, finalLoss: 0, steps: (ranks.length - 1) * 10,
  stopReason: 'lossTarget', initialAlignment: 0, singularValues: [], normalizedSingularValues: [],
  trajectory: ranks.map((r, i) => ({ step: 10 * i, loss: 1, effectiveRank: r })), ...(error ? { error } : {}),
});

describe('seedMeanTrajectory', () => {
  it('runs to the longest seed, a seed that stopped early keeping its final rank; failed seeds left out', () => {
    const row = {
      depth: 3, width: 8, effectiveRank: 0, effectiveRankStd: 0, margin: 0, marginStd: 0, initialAlignment: 0, initialAlignmentStd: 0,
      perSeed: [seedRun(0, [3, 2.5, 2]), seedRun(1, [3, 2.9, 2.6, 2.2, 1.8]), seedRun(2, [9, 9], 'diverged')],
    } satisfies DepthSweepRow;
    const mean = seedMeanTrajectory(row);
    expect(mean.map(([step]) => step)).toEqual([0, 10, 20, 30, 40]);
    // seed 0 stopped at step 20 with rank 2: that rank enters the mean at steps 30 and 40
    const expected = [(3 + 3) / 2, (2.5 + 2.9) / 2, (2 + 2.6) / 2, (2 + 2.2) / 2, (2 + 1.8) / 2];
    mean.forEach(([, v], i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });
});
