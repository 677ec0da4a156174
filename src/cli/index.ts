#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { collectInfo, formatInfo } from './info.js';
import type { SoftwareLane } from '../backend/types.js';
import { exitOnSignals } from './common/fail.js';
import { registerBenchCommand } from './bench.js';
import { registerRfmCommand } from './rfm.js';
import { registerMetricsCommand } from './metrics.js';
import { registerNnCommand } from './nn.js';
import { registerUfmCommand } from './ufm.js';
import { registerSweepCommand } from './sweep.js';
import { exitWhenOrphaned } from '../sweep/orphanGuard.js';

// a grid cell's process ends with the sweep process that started it
exitWhenOrphaned();

exitOnSignals();
const program = new Command();
program.name('ncgpu').description('Neural collapse and feature learning on the GPU').version(VERSION);

program
  .command('info')
  .description("show the backend 'auto' picks, the GPU adapter and its limits, and the BLAS in use")
  .option('--software', 'also probe the software GPU (OpenGL ES over Mesa llvmpipe, or the --software-lane)')
  .option('--software-lane <lane>', "the software GPU to probe: gles or vulkan (Vulkan over Mesa lavapipe); default NCGPU_SOFTWARE_LANE, else gles")
  .option('--json', 'print JSON')
  .action(async (opts: { software?: boolean; softwareLane?: string; json?: boolean }) => {
    const report = await collectInfo({ software: opts.software || opts.softwareLane !== undefined, softwareLane: opts.softwareLane as SoftwareLane | undefined });
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatInfo(report));
  });

registerMetricsCommand(program);
registerRfmCommand(program);
registerUfmCommand(program);
registerNnCommand(program);
registerBenchCommand(program);
// last: it checks grid files against the commands registered above
registerSweepCommand(program);

program.parseAsync().catch((e: Error) => {
  console.error(`ncgpu: ${e.message}`);
  process.exit(1);
});
