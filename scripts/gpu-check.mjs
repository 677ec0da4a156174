#!/usr/bin/env node
// `npm run gpu-check`: every GPU figure from one run on a borrowed GPU machine, in one JSON file.
//
//   npm run gpu-check -- [--out gpu-check.json] [--backend webgpu] [--tests FILE,...] [--sizes N,...]
//                        [--tune-cache FILE]
//
// 1. `ncgpu info --json`: the adapter, its limits, features and shader variants, and Dawn's messages;
// 2. the shader test files on that adapter (NCGPU_TEST_GPU=hardware makes the tests' software-GPU
//    contexts use the hardware adapter), as vitest's JSON report;
// 3. `ncgpu bench all --tune` on it: every GEMM tile configuration of gemm and kernel timed at each
//    size, the winners recorded in the tile cache (--tune-cache, default the user's), then every op
//    on the tuned tiles (GFLOPS, bandwidth, fraction of FP32 peak, check against the cpu).
// Each step's failure is recorded and the next step still runs. `--backend webgpu-software`
// rehearses the script on the software GPU. Needs `npm run build` first (dist/).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'gpu-check.json' }, backend: { type: 'string', default: 'webgpu' }, tests: { type: 'string' }, sizes: { type: 'string' },
    'tune-cache': { type: 'string' },
  },
});
const cli = join(root, 'dist', 'cli', 'index.js');
const work = mkdtempSync(join(tmpdir(), 'ncgpu-gpu-check-'));

function step(name, cmd, argv, env = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 2 ** 20 });
  const seconds = (Date.now() - t0) / 1000;
  console.log(`gpu-check: ${name}: exit ${r.status} in ${seconds.toFixed(0)} s`);
  return { status: r.status, seconds, stdout: r.stdout, stderr: r.stderr.slice(-4000) };
}

// the test files that run shaders (through the BACKENDS helper or a software-GPU context)
const shaderTests = args.tests?.split(',') ?? readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts') && f !== 'gpu-check.test.ts')
  .map((f) => join('test', f))
  .filter((f) => /BACKENDS|webgpu-software/.test(readFileSync(join(root, f), 'utf8')));
const testEnv = args.backend === 'webgpu' ? { NCGPU_TEST_GPU: 'hardware' } : {};

const report = { createdAt: new Date().toISOString(), backend: args.backend, steps: {} };
try {
  const { stdout: infoJson, ...info } = step('info', process.execPath, [cli, 'info', '--software', '--json']);
  report.steps.info = { ...info, report: info.status === 0 ? JSON.parse(infoJson) : null };
  const testsJson = join(work, 'tests.json');
  const { stdout: _testsOut, ...tests } = step('tests', process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...shaderTests, '--reporter=json', `--outputFile=${testsJson}`], testEnv);
  let summary = null;
  try {
    const t = JSON.parse(readFileSync(testsJson, 'utf8'));
    summary = {
      files: shaderTests.length, passed: t.numPassedTests, failed: t.numFailedTests, total: t.numTotalTests,
      failures: t.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => ({ file: f.name.replace(root, ''), test: a.fullName, message: (a.failureMessages[0] ?? '').slice(0, 500) }))),
    };
  } catch {
    // vitest wrote no report: its stderr is in the step
  }
  report.steps.tests = { ...tests, summary };
  const benchJson = join(work, 'bench.json');
  const benchArgs = [
    cli, 'bench', 'all', '--backend', args.backend, '--tune', ...(args['tune-cache'] ? ['--tune-cache', args['tune-cache']] : []),
    ...(args.sizes ? ['--sizes', args.sizes] : []), '--json', benchJson,
  ];
  const { stdout: benchOut, ...bench } = step('bench', process.execPath, benchArgs);
  const benchReport = bench.status === 0 ? JSON.parse(readFileSync(benchJson, 'utf8')) : null;
  report.steps.bench = {
    ...bench, gpuFeatures: benchReport?.gpuFeatures ?? null, rows: benchReport?.rows ?? null, tuning: benchReport?.tuning ?? null, tuned: benchReport?.tuned ?? null, tileCache: benchReport?.tileCache ?? null,
    // the printed table, as a person reads it
    table: benchOut.split('\n').filter(Boolean),
  };
} finally {
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
  console.log(`gpu-check: wrote ${args.out}`);
}
