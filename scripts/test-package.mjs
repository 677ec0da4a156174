#!/usr/bin/env node
// `npm run test:package` (CI runs it after the tests): the package as a user gets it.
//
// Packs ncgpu (which builds the self-contained prebuilt addon), installs the tarball into a new
// project with install scripts disabled (so nothing can be compiled there), checks that the
// installed binary depends on no BLAS, LAPACK or Fortran runtime, and from that project runs
// the addon's smoke test, the CLI and a script that computes collapse metrics and a short Deep
// RFM through `import 'ncgpu'`. Exits 1 with the reason when any step fails.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { foreignDependencies } from './build-prebuilt.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args, cwd, env = {}) {
  console.log(`test-package: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// what the installed package must do: a metric and a short Deep RFM, through the public API
const CONSUMER = `
import { createContext, computeAllMetrics, deepRfm, gaussianMixture, nativeAddon } from 'ncgpu';
const ctx = await createContext({ backend: 'cpu' });
const { train, test } = gaussianMixture({ k: 3, d: 12, nPerClass: 40, testPerClass: 10, seed: 1 });
const metrics = await computeAllMetrics({ features: ctx.matrix(train.X, train.shape), labels: train.labels });
const nc1 = metrics.values.nc1;
if (!(nc1 > 0 && Number.isFinite(nc1))) throw new Error('NC1 of the mixture is ' + nc1);
const r = await deepRfm({ X: ctx.matrix(train.X, train.shape), labels: train.labels },
  { X: ctx.matrix(test.X, test.shape), labels: test.labels }, { layers: 2, width: 32, seed: 0 });
if (r.layers.length !== 2 || !(r.final.testAcc > 0.5)) throw new Error('Deep RFM test accuracy ' + r.final.testAcc);
console.log(JSON.stringify({ nc1, testAcc: r.final.testAcc, blas: nativeAddon().blasInfo().config }));
await ctx.dispose();
`;

function main() {
  const work = mkdtempSync(join(tmpdir(), 'ncgpu-package-'));
  try {
    run('npm', ['pack', '--pack-destination', work], root);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}`);
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-ncgpu', private: true, type: 'module' }));
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)], project);

    const pkg = join(project, 'node_modules', 'ncgpu');
    if (existsSync(join(pkg, 'build'))) throw new Error('the installed package has a build/ folder: the test would not show the prebuilt binary');
    const binary = join(pkg, 'prebuilds', 'linux-x64', 'ncgpu.node');
    if (!existsSync(binary)) throw new Error(`the tarball has no prebuilt addon at prebuilds/linux-x64/ncgpu.node`);
    const foreign = foreignDependencies(binary);
    if (foreign.length > 0) throw new Error(`the installed addon depends on ${foreign.join(', ')}`);
    console.log('test-package: the installed addon depends on the C/C++ runtime only');

    // every addon export (LAPACK's eigen, SVD and QR paths included) on the installed binary
    mkdirSync(join(pkg, 'test'));
    copyFileSync(join(root, 'test', 'native.smoke.mjs'), join(pkg, 'test', 'native.smoke.mjs'));
    console.log(run(process.execPath, [join(pkg, 'test', 'native.smoke.mjs')], project).split('\n').filter((l) => !l.startsWith('OK ')).join('\n').trim());

    writeFileSync(join(project, 'consumer.mjs'), CONSUMER);
    console.log(run(process.execPath, ['consumer.mjs'], project).trim());
    console.log(run(process.execPath, [join(pkg, 'dist', 'cli', 'index.js'), 'info'], project).trim());
    console.log('test-package: OK');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log('test-package: the self-contained prebuilt addon is built for linux-x64 only; nothing to test here');
} else {
  main();
}
