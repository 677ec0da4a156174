// Deep RFM from code, with progress: a callback as each phase of each layer finishes
// (normalize, metrics, the RFM fit as 'agop', sqrt, featureMap, ...) and one with each finished
// layer's record (NC1, NC2, accuracy, seconds).
//
//   node examples/deep-rfm-progress.mjs [--data mnist|gaussian] [--n-per-class 100]
//     [--test-per-class 20] [--layers 5] [--width 1024] [--backend auto]
//
// --data mnist (default) uses the MNIST digits bundled with the package; gaussian is a seeded
// 10-class Gaussian mixture in 64 dimensions. Prints each layer's record and phases while it
// runs, then the final accuracy. NC1 of X~ = X M^{1/2} falls layer after layer: the features
// collapse.
import { parseArgs } from 'node:util';
import { createContext, deepRfm, gaussianMixture, loadMnist } from 'ncgpu';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'mnist' },
    'n-per-class': { type: 'string', default: '100' },
    'test-per-class': { type: 'string', default: '20' },
    layers: { type: 'string', default: '5' },
    width: { type: 'string', default: '1024' },
    backend: { type: 'string', default: 'auto' },
  },
});
const nPerClass = Number(args['n-per-class']);
const testPerClass = Number(args['test-per-class']);
const { train, test } =
  args.data === 'mnist'
    ? loadMnist({ nPerClass, testPerClass, seed: 0 })
    : gaussianMixture({ k: 10, d: 64, nPerClass, testPerClass, separation: 1, noise: 1, seed: 0 });

const ctx = await createContext({ backend: args.backend });
const [n, d] = train.shape;
console.log(`Deep RFM on ${args.data}: ${n} train / ${test.shape[0]} test samples, ${d} features; backend ${ctx.name}`);
try {
  let phases = []; // the phases of the layer in progress, as they finish
  const result = await deepRfm(
    { X: ctx.matrix(train.X, train.shape, { name: 'train.X' }), labels: train.labels },
    { X: ctx.matrix(test.X, test.shape, { name: 'test.X' }), labels: test.labels },
    {
      layers: Number(args.layers),
      width: Number(args.width),
      seed: 0,
      // after each phase of each layer; layer L + 1 is the final kernel regression
      onPhase: (layer, phase) => phases.push(phase),
      // each finished layer's record, as soon as it is done
      onLayer: (r) => {
        const fmt = (v) => (v === null ? 'n/a' : v.toExponential(2));
        console.log(
          `layer ${r.layer}: NC1 X ${fmt(r.nc1.X)}  NC1 X~ ${fmt(r.nc1.MX)}  NC2 X~ ${fmt(r.nc2.MX)}  ` +
            `train ${(100 * r.trainAcc).toFixed(1)}%  test ${(100 * r.testAcc).toFixed(1)}%  ` +
            `${r.seconds.total.toFixed(2)} s`,
        );
        console.log(`  phases: ${phases.join(' ')}`);
        phases = [];
      },
      onWarning: (message) => console.log(`warning: ${message}`),
    },
  );
  console.log(`final: train ${(100 * result.final.trainAcc).toFixed(1)}%  test ${(100 * result.final.testAcc).toFixed(1)}%`);
  console.log(`  phases: ${phases.join(' ')}`);
} finally {
  await ctx.dispose();
}
