/**
 * Classification margins of logits Z (N x K, one row per sample): per sample
 * z_i[y_i] - max_{k != y_i} z_i[k], and the logit-normalized margin of SPEC section 3.
 */
import { checkClassLabels, toHostF64, UndefinedMetricError, type MatrixLike } from './inputs.js';

/** Per-sample margins (N); negative where the sample is misclassified. */
export async function margins(logits: MatrixLike, labels: ArrayLike<number>): Promise<Float64Array> {
  return (await marginsWithNorm('margins', logits, labels)).margins;
}

async function marginsWithNorm(op: string, logits: MatrixLike, labels: ArrayLike<number>) {
  const z = await toHostF64(op, 'logits', logits);
  const k = z.cols;
  const y = checkClassLabels(op, labels, z.rows, k);
  const out = new Float64Array(z.rows);
  let fro = 0;
  for (let i = 0; i < z.rows; i++) {
    const row = z.data.subarray(i * k, (i + 1) * k);
    let other = -Infinity;
    for (let c = 0; c < k; c++) {
      fro += row[c]! * row[c]!;
      if (c !== y[i]) other = Math.max(other, row[c]!);
    }
    out[i] = row[y[i]!]! - other;
  }
  return { margins: out, fro: Math.sqrt(fro) };
}

/** min_i margin_i / ||Z||_F; scale-free, positive exactly when every sample is classified correctly. */
export async function normalizedMargin(logits: MatrixLike, labels: ArrayLike<number>): Promise<number> {
  const op = 'normalizedMargin';
  const { margins: m, fro } = await marginsWithNorm(op, logits, labels);
  if (m.length === 0) throw new RangeError(`${op}: there are no samples`);
  if (!(fro > 0)) throw new UndefinedMetricError(`${op}: the logits are all zero; the normalized margin is undefined`);
  let min = Infinity;
  for (const v of m) min = Math.min(min, v);
  return min / fro;
}
