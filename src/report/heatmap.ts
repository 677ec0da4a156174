/**
 * An N x N matrix as a PNG heatmap (pngjs): a diverging colour map on [-1, 1] (blue, white, red),
 * optional class boundary lines. Matrices larger than the image are block-averaged.
 */
import { PNG } from 'pngjs';

/** Options of renderHeatmap. */
export interface HeatmapOptions {
  /** indices where a new class starts (samples ordered by class); lines are drawn there */
  boundaries?: readonly number[];
  /** largest side of the image in pixels (default 1024); larger matrices are averaged down */
  maxSize?: number;
  /** value range of the colour map (default [-1, 1]); values outside are clamped */
  range?: readonly [number, number];
}

// Diverging anchors from -1 to 1: dark blue, blue, near white, red, dark red.
const ANCHORS: readonly (readonly [number, number, number])[] = [
  [5, 48, 97],
  [67, 147, 195],
  [247, 247, 247],
  [214, 96, 77],
  [103, 0, 31],
];
const NAN_COLOUR = [128, 128, 128] as const;
const LINE_COLOUR = [30, 30, 30] as const;

/** RGB of t in [0, 1] on the diverging map. */
export function divergingColour(t: number): [number, number, number] {
  if (!Number.isFinite(t)) return [...NAN_COLOUR];
  const x = Math.min(Math.max(t, 0), 1) * (ANCHORS.length - 1);
  const i = Math.min(Math.floor(x), ANCHORS.length - 2);
  const f = x - i;
  const a = ANCHORS[i]!;
  const b = ANCHORS[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + f * (b[c]! - a[c]!))) as [number, number, number];
}

/** PNG bytes of the n x n row-major matrix `values`. */
export function renderHeatmap(values: ArrayLike<number>, n: number, options: HeatmapOptions = {}): Buffer {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`renderHeatmap: n must be a positive integer, got ${n}`);
  if (values.length !== n * n) throw new RangeError(`renderHeatmap: ${n}x${n} needs ${n * n} values, got ${values.length}`);
  const maxSize = options.maxSize ?? 1024;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`renderHeatmap: maxSize must be a positive integer, got ${maxSize}`);
  const [lo, hi] = options.range ?? [-1, 1];
  if (!(hi > lo)) throw new RangeError(`renderHeatmap: range must be increasing, got [${lo}, ${hi}]`);
  const size = Math.min(n, maxSize);
  // pixel p covers source cells [edge[p], edge[p + 1])
  const edge = Array.from({ length: size + 1 }, (_, p) => Math.floor((p * n) / size));
  const png = new PNG({ width: size, height: size });
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let sum = 0;
      let count = 0;
      for (let i = edge[py]!; i < edge[py + 1]!; i++) {
        for (let j = edge[px]!; j < edge[px + 1]!; j++) {
          sum += values[i * n + j]!;
          count++;
        }
      }
      const [r, g, b] = divergingColour((sum / count - lo) / (hi - lo));
      const o = (py * size + px) * 4;
      png.data[o] = r;
      png.data[o + 1] = g;
      png.data[o + 2] = b;
      png.data[o + 3] = 255;
    }
  }
  for (const start of options.boundaries ?? []) {
    if (start <= 0 || start >= n) continue;
    const p = Math.min(size - 1, Math.round((start * size) / n));
    for (let q = 0; q < size; q++) {
      for (const o of [(p * size + q) * 4, (q * size + p) * 4]) {
        png.data[o] = LINE_COLOUR[0];
        png.data[o + 1] = LINE_COLOUR[1];
        png.data[o + 2] = LINE_COLOUR[2];
      }
    }
  }
  return PNG.sync.write(png);
}

/** Where each class starts in labels ordered by class (the first class's 0 left out). */
export function classBoundaries(labels: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 1; i < labels.length; i++) if (labels[i] !== labels[i - 1]) out.push(i);
  return out;
}
