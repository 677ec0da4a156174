/** Splitting a user's .npy data set for a command: refuse a class too small, and say what the split leaves out. */
import { splitByClass, splitDrops, type Dataset, type DatasetSplit } from '../../data/dataset.js';

/** Within-class statistics (NC1, Sigma_W) need two samples of a class; one sample reads as perfect collapse. */
export const MIN_TRAIN_PER_CLASS = 2;

export interface UserSplit {
  split: DatasetSplit;
  /** recorded in results.json: samples left out by the balanced split, and why */
  dropped: { samples: number; of: number; reason: string } | null;
}

export function splitUserData(ds: Dataset, o: { nPerClass?: number; testPerClass: number; seed: number }): UserSplit {
  // K = max label + 1: a stray label would add a class, so the output says what was inferred
  console.error(`ncgpu: note: ${ds.k} classes (0..${ds.k - 1}) inferred from the labels as max label + 1`);
  const split = splitByClass(ds, { ...o, minTrainPerClass: MIN_TRAIN_PER_CLASS });
  const drops = splitDrops(ds, split);
  if (drops) console.error(`ncgpu: note: ${drops.message}`);
  return { split, dropped: drops ? { samples: drops.dropped, of: drops.total, reason: drops.message } : null };
}
