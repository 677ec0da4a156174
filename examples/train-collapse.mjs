// Train a small network and read neural-collapse metrics after every epoch.
//
//   node examples/train-collapse.mjs [--epochs 30] [--n-per-class 50] [--width 64] [--depth 3]
//     [--batch 50] [--lr 0.05] [--weight-decay 5e-4] [--backend auto]
//
// A bias-free ReLU MLP learns a seeded 4-class Gaussian mixture with cross-entropy and SGD
// (momentum, weight decay), mini-batches of --batch samples. After every epoch the evaluation
// hook gets the penultimate features of the training samples and the head's weight W, and
// reports training accuracy, NC1 = tr(Sigma_W)/tr(Sigma_B), NC2A/NC2B (how close W W^T is to a
// simplex ETF / to orthogonal) and NC3 = 1 - mean cos(feature, its class's row of W). Training
// past 100% accuracy drives NC1 and NC3 down: the features collapse onto their class means,
// which align with the classifier.
import { parseArgs } from 'node:util';
import { createContext, gaussianMixture, nn } from 'ncgpu';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '30' },
    'n-per-class': { type: 'string', default: '50' },
    width: { type: 'string', default: '64' },
    depth: { type: 'string', default: '3' },
    batch: { type: 'string', default: '50' },
    lr: { type: 'string', default: '0.05' },
    'weight-decay': { type: 'string', default: '5e-4' },
    backend: { type: 'string', default: 'auto' },
  },
});
const k = 4;
const epochs = Number(args.epochs);
const batchSize = Number(args.batch);
const { train } = gaussianMixture({ k, d: 16, nPerClass: Number(args['n-per-class']), separation: 2, noise: 1, seed: 1 });
const [n, d] = train.shape;
const stepsPerEpoch = Math.ceil(n / batchSize);

const ctx = await createContext({ backend: args.backend });
const model = nn.mlp(ctx, { inputs: d, width: Number(args.width), depth: Number(args.depth), outputs: k, seed: 0 });
const objective = nn.crossEntropyObjective(ctx, train.labels, k);
const optimizer = nn.sgd({ lr: Number(args.lr), momentum: 0.9, weightDecay: Number(args['weight-decay']) });
console.log(`MLP ${d}-${args.width}x${args.depth}-${k} on ${n} samples, ${stepsPerEpoch} steps per epoch; backend ${ctx.name}`);
try {
  const result = await nn.trainNetwork(model, { X: train.X, n, features: d }, {
    optimizer,
    objective,
    steps: epochs * stepsPerEpoch,
    batchSize,
    evalEvery: stepsPerEpoch, // once per epoch (and before the first step)
    trainLabels: train.labels,
    onEval: async ({ step, loss, features, outputs, labels }) => {
      // accuracy from the outputs; collapse from the penultimate features and the head's weight
      const logits = await outputs.read();
      let correct = 0;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
        if (best === labels[i]) correct++;
      }
      const collapse = await nn.headCollapse(features, labels, model.head.weight.value, k);
      const record = { epoch: step / stepsPerEpoch, loss, accuracy: correct / n, ...collapse };
      const fmt = (v) => (Number.isFinite(v) ? v.toPrecision(3) : String(v));
      console.log(
        `epoch ${String(record.epoch).padStart(3)}  loss ${fmt(loss)}  train acc ${(100 * record.accuracy).toFixed(1)}%  ` +
          `NC1 ${fmt(collapse.nc1)}  NC2A ${fmt(collapse.nc2A)}  NC2B ${fmt(collapse.nc2B)}  NC3 ${fmt(collapse.nc3)}`,
      );
      return record; // kept in result.logs
    },
  });
  // result.logs holds every epoch's record, e.g. to save as JSON or plot
  const first = result.logs.find((l) => l.epoch === 1);
  const last = result.logs.at(-1);
  console.log(`NC1 from epoch 1 to ${last.epoch}: ${first.nc1.toPrecision(3)} -> ${last.nc1.toPrecision(3)}; ${result.seconds.toFixed(1)} s`);
  const records = result.logs.map(({ epoch, loss, accuracy, nc1, nc2A, nc2B, nc3 }) => ({ epoch, loss, accuracy, nc1, nc2A, nc2B, nc3 }));
  console.log(JSON.stringify({ backend: ctx.name, epochs: records }));
} finally {
  model.dispose();
  objective.dispose();
  optimizer.dispose();
  await ctx.dispose();
}
