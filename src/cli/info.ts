/** `ncgpu info`: which backend 'auto' picks, the GPU adapter and its limits, and the BLAS in use. */
import type { BackendInfo, GpuFeatureInfo, SoftwareLane } from '../backend/types.js';
import { addon } from '../backend/cpu/addon.js';
import { resolveDisabledFeatures } from '../context.js';
import { VERSION } from '../version.js';

export interface InfoReport {
  version: string;
  node: string;
  auto: 'cpu' | 'webgpu';
  hardwareAdapter: BackendInfo['adapter'] | null;
  softwareAdapter: BackendInfo['adapter'] | null;
  limits: Record<string, number> | null;
  /** the probed device's optional features and the shader variants they allow */
  gpuFeatures: GpuFeatureInfo | null;
  /** the tile cache a context would read, and its tuned GEMM tiles for the probed adapter */
  gemmTiles: BackendInfo['gemmTiles'] | null;
  blas: BackendInfo['blas'];
  /** what Dawn and its drivers printed while the adapters and devices were made */
  dawnMessages: string[];
}

export async function collectInfo(options: { software?: boolean; softwareLane?: SoftwareLane } = {}): Promise<InfoReport> {
  const { findHardwareAdapter, findSoftwareAdapter, resolveSoftwareLane } = await import('../backend/webgpu/adapter.js');
  const { dawnMessages } = await import('../backend/webgpu/dawnMessages.js');
  const hw = await findHardwareAdapter();
  const sw = options.software ? await findSoftwareAdapter(resolveSoftwareLane(options.softwareLane)) : undefined;
  const probe = hw ?? sw;
  let limits: Record<string, number> | null = null;
  let gpuFeatures: GpuFeatureInfo | null = null;
  let gemmTiles: InfoReport['gemmTiles'] = null;
  if (probe) {
    const { readTileCache, resolveTileCachePath } = await import('../backend/webgpu/tileCache.js');
    const read = readTileCache(resolveTileCachePath(undefined), probe.description);
    gemmTiles = { cache: read.path, ...(read.problem ? { problem: read.problem } : {}), tuned: read.tuned };
    const { GpuDevice } = await import('../backend/webgpu/device.js');
    const dev = await GpuDevice.create(probe, { withoutFeatures: resolveDisabledFeatures(undefined) });
    limits = dev.limits;
    gpuFeatures = dev.features;
    await dev.dispose();
  }
  return {
    version: VERSION,
    node: process.version,
    auto: hw ? 'webgpu' : 'cpu',
    hardwareAdapter: hw?.description ?? null,
    softwareAdapter: sw?.description ?? null,
    limits,
    gpuFeatures,
    gemmTiles,
    blas: addon().blasInfo(),
    dawnMessages: [...dawnMessages()],
  };
}

export function formatInfo(r: InfoReport): string {
  const lines = [
    `ncgpu ${r.version} (node ${r.node})`,
    `backend 'auto' -> ${r.auto}${r.auto === 'cpu' ? ' (no hardware GPU adapter found)' : ''}`,
  ];
  const adapter = (label: string, a: InfoReport['hardwareAdapter']) => {
    if (!a) return;
    const lane = a.lane ? `, lane ${a.lane}` : '';
    lines.push(`${label}: ${a.device}${a.vendor ? ` [${a.vendor}${a.architecture ? ` ${a.architecture}` : ''}]` : ''}, Dawn backend ${a.dawnBackend}${a.software ? ' (software)' : ''}${lane}`);
    if (a.description && a.description !== a.device) lines.push(`  ${a.description}`);
    lines.push(`  feature level ${a.featureLevel}; features: ${a.features.length > 0 ? a.features.join(', ') : 'none'}`);
  };
  adapter('hardware GPU', r.hardwareAdapter);
  adapter('software GPU', r.softwareAdapter);
  if (r.limits) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const l = r.limits;
    lines.push(
      `limits: storage binding ${mib(l.maxStorageBufferBindingSize!)}, buffer ${mib(l.maxBufferSize!)}, ` +
        `workgroup memory ${(l.maxComputeWorkgroupStorageSize! / 1024).toFixed(0)} KiB, ` +
        `${l.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${l.maxStorageBuffersPerShaderStage} storage buffers/stage`,
    );
  }
  if (r.gpuFeatures) lines.push(...formatGpuFeatures(r.gpuFeatures));
  if (r.gemmTiles) {
    const tuned = r.gemmTiles.tuned.map((t) => `${t.shader} ${t.size}: ${t.tiles}`).join(', ');
    lines.push(`tile cache: ${r.gemmTiles.cache ?? 'off'}; tuned GEMM tiles for this adapter: ${tuned || 'none (ncgpu bench --tune)'}${r.gemmTiles.problem ? ` (${r.gemmTiles.problem})` : ''}`);
  }
  lines.push(`BLAS: ${r.blas.name} ${r.blas.version}, ${r.blas.threads} thread(s)${r.blas.config ? ` (${r.blas.config})` : ''}`);
  if (r.dawnMessages.length > 0) lines.push(`Dawn messages (${r.dawnMessages.length}):`, ...r.dawnMessages.map((m) => `  ${m}`));
  return lines.join('\n');
}

/** The device's optional features and which shader variants ncgpu runs on it. */
function formatGpuFeatures(f: GpuFeatureInfo): string[] {
  const sizes = f.subgroupMinSize === undefined ? '' : ` (subgroup size ${f.subgroupMinSize === f.subgroupMaxSize ? f.subgroupMinSize : `${f.subgroupMinSize}..${f.subgroupMaxSize}`})`;
  const disabled = f.disabled.length > 0 ? `; disabled: ${f.disabled.join(', ')}` : '';
  return [
    `device features: ${f.enabled.length > 0 ? f.enabled.join(', ') : 'none'}${sizes}${disabled}`,
    `  reductions: ${f.subgroupReductions ? 'subgroup operations' : 'workgroup memory (no subgroups)'}; ` +
      `matmul precision 'f16': ${f.f16Gemm ? 'available' : 'unavailable (no shader-f16)'}; ` +
      `subgroup matrices: ${f.subgroupMatrix ? 'exposed by the adapter, unused by ncgpu' : 'not exposed'}`,
  ];
}
