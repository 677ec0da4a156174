/** `ncgpu info`: which backend 'auto' picks, the GPU adapter and its limits, and the BLAS in use. */
import type { BackendInfo } from '../backend/types.js';
import { addon } from '../backend/cpu/addon.js';
import { VERSION } from '../version.js';

export interface InfoReport {
  version: string;
  node: string;
  auto: 'cpu' | 'webgpu';
  hardwareAdapter: BackendInfo['adapter'] | null;
  softwareAdapter: BackendInfo['adapter'] | null;
  limits: Record<string, number> | null;
  blas: BackendInfo['blas'];
}

export async function collectInfo(options: { software?: boolean } = {}): Promise<InfoReport> {
  const { findHardwareAdapter, findSoftwareAdapter } = await import('../backend/webgpu/adapter.js');
  const hw = await findHardwareAdapter();
  const sw = options.software ? await findSoftwareAdapter() : undefined;
  const probe = hw ?? sw;
  let limits: Record<string, number> | null = null;
  if (probe) {
    const { GpuDevice } = await import('../backend/webgpu/device.js');
    const dev = await GpuDevice.create(probe);
    limits = dev.limits;
    await dev.dispose();
  }
  return {
    version: VERSION,
    node: process.version,
    auto: hw ? 'webgpu' : 'cpu',
    hardwareAdapter: hw?.description ?? null,
    softwareAdapter: sw?.description ?? null,
    limits,
    blas: addon().blasInfo(),
  };
}

export function formatInfo(r: InfoReport): string {
  const lines = [
    `ncgpu ${r.version} (node ${r.node})`,
    `backend 'auto' -> ${r.auto}${r.auto === 'cpu' ? ' (no hardware GPU adapter found)' : ''}`,
  ];
  const adapter = (label: string, a: InfoReport['hardwareAdapter']) => {
    if (!a) return;
    lines.push(`${label}: ${a.device}${a.vendor ? ` [${a.vendor}${a.architecture ? ` ${a.architecture}` : ''}]` : ''}, Dawn backend ${a.dawnBackend}${a.software ? ' (software)' : ''}`);
    if (a.description && a.description !== a.device) lines.push(`  ${a.description}`);
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
  lines.push(`BLAS: ${r.blas.name} ${r.blas.version}, ${r.blas.threads} thread(s)${r.blas.config ? ` (${r.blas.config})` : ''}`);
  return lines.join('\n');
}
