/**
 * Per-layer AGOP of an MLP (seed 000's neural feature ansatz): for hidden layer i with input
 * h_i(x) (what Linear i sees), AGOP_i = (1/N) sum_x J_i(x)^T J_i(x), J_i(x) = d f(x) / d h_i (K x d_i),
 * the Jacobian of the network's outputs with respect to that layer's input, over the given samples.
 *
 * How: one training-mode forward pass per batch, then for each output c a backward pass started
 * from the one-hot direction e_c on every row. Each sample's output depends only on its own input,
 * so row s of the gradient that reaches layer i is d f_c(x_s) / d h_i: the rows of one backward
 * pass are the c-th rows of every sample's Jacobian, and AGOP_i += G^T G sums them, one GEMM on the
 * backend per layer and direction. The gradients are the model's own: its backward captures the
 * gradient at each layer input ('layer.<i>.input.grad').
 *
 * The layers' weight gradients are overwritten on the way (as by any backward pass); call this
 * between training steps, not between a backward and its optimizer step.
 */
import type { Context } from '../context.js';
import { matmul } from '../ops/matmul.js';
import type { Matrix } from '../tensor.js';
import type { Mlp } from './models/mlp.js';

/** Options of mlpLayerAgops. */
export interface LayerAgopOptions {
  /** hidden layers to measure (default: all, 0..depth-1) */
  layers?: readonly number[];
  /** samples per forward pass (default 256) */
  batchSize?: number;
}

/**
 * AGOP_i for each requested hidden layer i of `model` over the n samples of X (n x inputs,
 * row-major): d_i x d_i matrices on the model's backend, normalized by n. The caller disposes them.
 */
export async function mlpLayerAgops(model: Mlp, X: Float32Array, n: number, options: LayerAgopOptions = {}): Promise<Map<number, Matrix>> {
  const op = 'mlpLayerAgops';
  const depth = model.layers.length - 1;
  const inputs = model.layers[0]!.inputs;
  const k = model.head.outputs;
  const layers = [...new Set(options.layers ?? Array.from({ length: depth }, (_, i) => i))];
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= depth) throw new RangeError(`${op}: layer ${l} is not a hidden layer of this MLP (0..${depth - 1})`);
  }
  if (!Number.isInteger(n) || n < 1 || X.length !== n * inputs) throw new RangeError(`${op}: X holds ${X.length} values, not ${n} samples of ${inputs} inputs`);
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: 'batchSize' must be a positive integer, got ${batchSize}`);
  const ctx: Context = model.head.weight.value.context;
  const agops = new Map<number, Matrix>();
  for (const l of layers) {
    const d = model.layers[l]!.inputs;
    agops.set(l, ctx.zeros([d, d]));
  }
  const directions = new Map<number, Matrix[]>();
  const directionsFor = (rows: number): Matrix[] => {
    let e = directions.get(rows);
    if (!e) {
      e = Array.from({ length: k }, (_, c) => {
        const data = new Float32Array(rows * k);
        for (let s = 0; s < rows; s++) data[s * k + c] = 1;
        return ctx.matrix(data, [rows, k], { name: `direction e_${c}` });
      });
      directions.set(rows, e);
    }
    return e;
  };
  try {
    for (let start = 0; start < n; start += batchSize) {
      const rows = Math.min(batchSize, n - start);
      const x = ctx.matrix(X.subarray(start * inputs, (start + rows) * inputs), [rows, inputs], { name: 'AGOP inputs' });
      try {
        await model.forward(x, { training: true });
        for (const e of directionsFor(rows)) {
          // the model's own backward hands over the gradient at every layer input ('layer.<i>.input.grad')
          const grads = new Map<string, Matrix>();
          try {
            await model.backward(e, { capture: grads });
            for (const [i, acc] of agops) {
              const g = grads.get(`layer.${i}.input.grad`);
              if (!g) throw new Error(`${op}: the model's backward did not capture 'layer.${i}.input.grad'`);
              await matmul(g, g, { transA: true, alpha: 1 / n, beta: 1, out: acc });
            }
          } finally {
            for (const m of grads.values()) m.dispose();
          }
        }
      } finally {
        x.dispose();
      }
    }
    return agops;
  } catch (e) {
    for (const m of agops.values()) m.dispose();
    throw e;
  } finally {
    for (const list of directions.values()) for (const m of list) m.dispose();
  }
}
