/** The provenance every results file records: command, version, backend, adapter, BLAS, time, seed, config. */
import type { Context } from '../../context.js';
import { VERSION } from '../../version.js';

export function provenance(ctx: Context | undefined, command: string, config: Record<string, unknown>, seed: number | number[] | null) {
  const info = ctx?.info();
  return {
    command,
    version: VERSION,
    backend: info?.name ?? 'host (f64 ODE integration)',
    adapter: info?.adapter ?? null,
    blas: info?.blas ?? null,
    node: process.version,
    createdAt: new Date().toISOString(),
    seed,
    config,
  };
}

/** 'webgpu [device, software]' or the backend's name, for the first line a command prints. */
export function adapterLabel(ctx: Context): string {
  const a = ctx.info().adapter;
  return a ? `webgpu [${a.device}${a.software ? ', software' : ''}]` : ctx.info().name;
}
