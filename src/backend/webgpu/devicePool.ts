/**
 * Dawn devices kept between contexts. A Dawn device's driver state (an OpenGL ES context, a
 * Vulkan device, compiled shaders) is released only when its JavaScript wrapper is garbage
 * collected, not by destroy(), so a process that creates and disposes contexts in a loop grew by
 * several MiB per context until the next full collection. A disposed context therefore hands its
 * healthy device back here (its buffers destroyed, its compiled pipelines kept), and the next
 * context on the same kind of adapter takes it: memory stays flat and shaders compile once per
 * process. An idle device holds no buffers and does not keep the process alive.
 */
import { withDawnMessages } from './dawnMessages.js';
import type { FoundAdapter } from './adapter.js';

/** What the device's Dawn events are forwarded to: the GpuDevice using it now. */
export interface DeviceOwner {
  uncapturedError(message: string): void;
  lost(reason: string): void;
}

export interface PooledDevice {
  found: FoundAdapter;
  device: GPUDevice;
  /** compiled pipelines, by shader and constants: reused with the device */
  pipelines: Map<string, GPUComputePipeline>;
  owner?: DeviceOwner;
  /** set once Dawn reports the device lost; a lost device is never reused */
  lostReason?: string;
}

/** idle devices by adapter kind (see `adapterKind`); one per kind is enough for sequential use */
const idle = new Map<string, PooledDevice>();

/**
 * Optional features ncgpu asks for wherever the adapter has them: timestamp queries (ncgpu bench
 * times passes on the GPU itself), subgroups (the reductions' subgroup variants) and shader-f16
 * (matmul's f16 precision).
 */
export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

/**
 * Requests a device with the adapter's real limits (not WebGPU's small defaults) and the
 * OPTIONAL_FEATURES it has, less `withoutFeatures`.
 */
export async function requestDevice(found: FoundAdapter, limitNames: readonly string[], withoutFeatures: readonly string[] = []): Promise<PooledDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of limitNames) {
    if (name.startsWith('min')) continue; // alignment limits are minima: keep the default
    const value = (found.adapter.limits as unknown as Record<string, unknown>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => found.adapter.features.has(f) && !withoutFeatures.includes(f)) as GPUFeatureName[];
  const device = await withDawnMessages('device', () => found.adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'ncgpu' }));
  const entry: PooledDevice = { found, device, pipelines: new Map() };
  // one listener of each kind for the device's whole life, forwarding to whoever uses it now
  device.addEventListener('uncapturederror', (event) => entry.owner?.uncapturedError((event as GPUUncapturedErrorEvent).error.message));
  void device.lost.then((info) => {
    entry.lostReason = `${info.reason}: ${info.message}`;
    entry.owner?.lost(entry.lostReason);
  });
  return entry;
}

/** An idle device for this kind of adapter, taken out of the pool. */
export function takeIdleDevice(kind: string): PooledDevice | undefined {
  const entry = idle.get(kind);
  idle.delete(kind);
  return entry;
}

/**
 * Gives a device back after its owner freed its buffers: kept when it is healthy and no device of
 * its kind is idle, destroyed otherwise.
 */
export function returnDevice(kind: string, entry: PooledDevice, healthy: boolean): void {
  entry.owner = undefined;
  if (healthy && entry.lostReason === undefined && !idle.has(kind)) {
    idle.set(kind, entry);
    return;
  }
  entry.pipelines.clear();
  entry.device.destroy();
}
