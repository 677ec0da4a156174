/**
 * `npm run bench [-- --quick] [-- --gpu webgpu|webgpu-software|none] [-- --scale]`: prints figures
 * and writes bench/results/<name>.json with the machine, backend and adapter they were measured
 * on. `--scale` adds Deep RFM at N = 20,000 and 50,000 (bench/rfmScale.ts: about an hour here).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { VERSION, nativeAddon } from '../src/index.js';
import { findHardwareAdapter } from '../src/backend/webgpu/adapter.js';
import { benchAgop } from './agop.js';
import { benchAgopAccuracy } from './agopAccuracy.js';
import { benchCore } from './core.js';
import { benchMetrics } from './metrics.js';
import { benchNn } from './nn.js';
import { benchRfm } from './rfm.js';
import { benchRfmScale } from './rfmScale.js';
import { benchUfm } from './ufm.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, gpu: { type: 'string' }, scale: { type: 'boolean', default: false } },
});
const gpu = (values.gpu ?? ((await findHardwareAdapter()) ? 'webgpu' : 'webgpu-software')) as 'webgpu' | 'webgpu-software' | 'none';

const started = new Date().toISOString();
const options = { quick: values.quick!, gpu };
const results = [
  ...(await benchCore(options)), ...(await benchMetrics(options)), ...(await benchUfm(options)), ...(await benchAgop(options)), ...(await benchAgopAccuracy(options)),
  ...(await benchRfm(options)), ...(await benchNn(options)), ...(values.scale ? await benchRfmScale() : []),
];
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL('bench.json', dir);
writeFileSync(
  file,
  JSON.stringify(
    {
      ncgpu: VERSION,
      started,
      machine: { cpus: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), platform: `${os.platform()}-${os.arch()}` },
      blas: nativeAddon().blasInfo(),
      quick: values.quick,
      results,
    },
    null,
    2,
  ),
);
console.log(`wrote ${file.pathname}`);
