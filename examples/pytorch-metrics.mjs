// Neural-collapse metrics (NC1-NC4) and richness (D_LR) of features saved from PyTorch.
//
// On the PyTorch side, save the penultimate features of your training samples, their labels,
// the last layer's weight and bias, and the network's outputs, in one safetensors file:
//
//   from safetensors.torch import save_file
//   save_file({'feats': feats.detach().float().contiguous(), 'labels': labels,
//              'weights': model.fc.weight.detach().contiguous(), 'bias': model.fc.bias.detach(),
//              'outputs': logits.detach().contiguous()}, 'run.safetensors')
//
// and pass FILE:NAME for each (--features run.safetensors:feats --labels run.safetensors:labels
// ...), or save them as .npy (an .npz works the same way as safetensors):
//
//   import numpy as np
//   np.save('feats.npy', feats.detach().cpu().numpy())          # N x p, float32 or float64
//   np.save('labels.npy', labels.cpu().numpy())                  # N, int64 class indices 0..K-1
//   np.save('weights.npy', model.fc.weight.detach().cpu().numpy())  # K x p
//   np.save('bias.npy', model.fc.bias.detach().cpu().numpy())       # K
//   np.save('outputs.npy', logits.detach().cpu().numpy())          # N x C, for D_LR
//
// Then:
//
//   node examples/pytorch-metrics.mjs --features feats.npy --labels labels.npy \
//     [--weights weights.npy] [--bias bias.npy] [--outputs outputs.npy] [--backend cpu] [--json]
//
// Only --features and --labels are required: they give NC1 and NC2 of the class means; the
// classifier adds NC2 of W, NC3 and NC4; the outputs add CKA and D_LR = 1 - CKA. --json prints
// the values as one JSON object instead of a table.
import { parseArgs } from 'node:util';
import { computeAllMetrics, createContext, readArrayFile } from 'ncgpu';

const { values: args } = parseArgs({
  options: {
    features: { type: 'string' },
    labels: { type: 'string' },
    weights: { type: 'string' },
    bias: { type: 'string' },
    outputs: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.features || !args.labels) {
  console.error(
    'usage: node examples/pytorch-metrics.mjs --features feats.npy --labels labels.npy ' +
      '[--weights W.npy] [--bias b.npy] [--outputs out.npy] [--backend cpu] [--json]',
  );
  process.exit(2);
}

// A matrix file must be 2-D: N x p features, K x p weights, N x C outputs.
const matrixShape = (array, path) => {
  if (array.shape.length !== 2) throw new Error(`${path}: expected a 2-D array, got shape (${array.shape.join(', ')})`);
  return array.shape;
};

const ctx = await createContext({ backend: args.backend });
try {
  const feats = await readArrayFile(args.features);
  const labels = (await readArrayFile(args.labels)).data; // int64 labels arrive as Int32Array
  const features = ctx.matrix(feats.data, matrixShape(feats, args.features), { name: 'features' });
  let weights;
  if (args.weights) {
    const w = await readArrayFile(args.weights);
    weights = ctx.matrix(w.data, matrixShape(w, args.weights), { name: 'weights' });
  }
  const bias = args.bias ? (await readArrayFile(args.bias)).data : undefined;
  let outputs;
  if (args.outputs) {
    const o = await readArrayFile(args.outputs);
    outputs = ctx.matrix(o.data, matrixShape(o, args.outputs), { name: 'outputs' });
  }

  const result = await computeAllMetrics({ features, labels, weights, bias, outputs });

  if (args.json) {
    const { n, p, numClasses: classes, values, undefinedReasons } = result;
    console.log(JSON.stringify({ backend: ctx.name, n, p, classes, values, undefinedReasons }));
  } else {
    console.log(`${result.n} samples, ${result.p} features, ${result.numClasses} classes (backend ${ctx.name})`);
    const fmt = (v) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4));
    for (const row of result.rows) {
      const value = row.value === null ? `undefined: ${row.reason}` : fmt(row.value);
      console.log(`${row.label.padEnd(40)} ${value}`);
    }
  }
  for (const m of [features, weights, outputs]) m?.dispose();
} finally {
  await ctx.dispose();
}
