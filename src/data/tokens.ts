/**
 * A seeded synthetic token-classification task for the transformer: the majority token.
 *
 * Each sample is a sequence of `seqLen` tokens from a vocabulary of `vocab` tokens, and its label
 * is the token that occurs most often (by construction strictly more often than any other, so the
 * label is a function of the sequence). The classes are the tokens: K = vocab.
 *
 * Why this task: no single position decides the label and the majority token appears at random
 * positions with a margin of as little as one occurrence, so the representation read out at the
 * last position must aggregate the whole sequence, which in L-T11 only attention can do
 * (causal attention at the last position sees every token; uniform attention there computes the
 * token histogram, and the MLP picks its argmax).
 *
 * Generation for a sample of class c: its count m is drawn uniformly from 2..ceil(seqLen / 2)
 * (small counts make harder samples), c is put at m random positions, and the other positions are
 * filled with uniform draws from the other tokens until no other token reaches m occurrences
 * (redrawn up to 50 times, then m grows by one). Samples are ordered by class, nPerClass each.
 *
 * Layout: X is n x seqLen with the token ids stored as exact f32 integers, one sequence per row,
 * the row-major layout a model reads as n * seqLen token rows.
 */
import { Rng } from '../random.js';
import type { Dataset, DatasetSplit } from './dataset.js';

/** Options of majorityTokenTask. */
export interface MajorityTokenOptions {
  /** vocabulary size = number of classes (default 8) */
  vocab?: number;
  /** tokens per sequence (default 8) */
  seqLen?: number;
  nPerClass: number;
  /** default 0 */
  testPerClass?: number;
  /** default 0 */
  seed?: number;
}

/** A token data set: rows of `seqLen` token ids (stored as f32) from a vocabulary of `vocab`. */
export interface TokenDataset extends Dataset {
  vocab: number;
  seqLen: number;
}

/** Training and test splits of a token task. */
export interface TokenSplit extends DatasetSplit {
  train: TokenDataset;
  test: TokenDataset;
}

/** The label of a sequence: its strictly most frequent token, or -1 when there is a tie. */
export function majorityToken(tokens: ArrayLike<number>, vocab: number): number {
  const counts = new Int32Array(vocab);
  for (let i = 0; i < tokens.length; i++) counts[tokens[i]!]!++;
  let best = -1;
  let top = -1;
  let tie = false;
  for (let t = 0; t < vocab; t++) {
    if (counts[t]! > top) {
      top = counts[t]!;
      best = t;
      tie = false;
    } else if (counts[t] === top) {
      tie = true;
    }
  }
  return tie ? -1 : best;
}

function sequenceOf(rng: Rng, c: number, vocab: number, seqLen: number, out: Float32Array, offset: number): void {
  let m = rng.int(2, Math.max(2, Math.ceil(seqLen / 2)));
  const counts = new Int32Array(vocab);
  const positions = Array.from({ length: seqLen }, (_, i) => i);
  for (;;) {
    // c at m random positions (partial Fisher-Yates)
    for (let i = 0; i < m; i++) {
      const j = rng.int(i, seqLen - 1);
      [positions[i], positions[j]] = [positions[j]!, positions[i]!];
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      counts.fill(0);
      let ok = true;
      for (let i = m; i < seqLen; i++) {
        let t = rng.int(0, vocab - 2);
        if (t >= c) t++;
        if (++counts[t]! >= m) {
          ok = false;
          break;
        }
        out[offset + positions[i]!] = t;
      }
      if (ok) {
        for (let i = 0; i < m; i++) out[offset + positions[i]!] = c;
        return;
      }
    }
    m++;
  }
}

/** The majority-token task (see the file comment): train and test splits, ordered by class. */
export function majorityTokenTask(options: MajorityTokenOptions): TokenSplit {
  const { vocab = 8, seqLen = 8, nPerClass, testPerClass = 0, seed = 0 } = options;
  const op = 'majorityTokenTask';
  for (const [name, v, min] of [['vocab', vocab, 2], ['seqLen', seqLen, 3], ['nPerClass', nPerClass, 1], ['testPerClass', testPerClass, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: '${name}' must be an integer >= ${min}, got ${v}`);
  }
  if (vocab > 2 ** 24) throw new RangeError(`${op}: 'vocab' ${vocab} is too large to store token ids exactly in f32`);
  const rng = new Rng(seed);
  const names = Array.from({ length: vocab }, (_, t) => `token ${t}`);
  const make = (per: number): TokenDataset => {
    const n = per * vocab;
    const X = new Float32Array(n * seqLen);
    const labels = new Int32Array(n);
    for (let c = 0; c < vocab; c++) {
      for (let t = 0; t < per; t++) {
        const i = c * per + t;
        sequenceOf(rng, c, vocab, seqLen, X, i * seqLen);
        labels[i] = c;
      }
    }
    return { X, labels, k: vocab, shape: [n, seqLen], names, vocab, seqLen };
  };
  const train = make(nPerClass);
  return { train, test: make(testPerClass) };
}
