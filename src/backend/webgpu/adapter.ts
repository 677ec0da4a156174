/**
 * Finding a Dawn adapter: a hardware GPU first, the software GPU (OpenGL ES over Mesa llvmpipe)
 * only when asked for. Kept apart from the device so `ncgpu info` can probe without building one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AdapterDescription } from '../types.js';

type DawnModule = typeof import('webgpu');

let dawnModule: Promise<DawnModule> | undefined;

/** Loads dawn.node once and installs the WebGPU globals (GPUBufferUsage, ...) it expects. */
export async function loadDawn(): Promise<DawnModule> {
  dawnModule ??= import('webgpu').then((mod) => {
    Object.assign(globalThis, mod.globals);
    return mod;
  });
  return dawnModule;
}

const SOFTWARE_DEVICE = /llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic render/i;

/**
 * On Linux Dawn reaches hardware only through Vulkan. When no Vulkan loader is installed, asking
 * for an adapter only prints a loader warning, so skip the probe.
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return true; // cannot tell: let Dawn try
  }
}

export interface FoundAdapter {
  adapter: GPUAdapter;
  description: AdapterDescription;
  /** the object returned by Dawn's create(); must outlive the device and be dropped after it */
  gpu: GPU;
}

function describe(adapter: GPUAdapter, dawnBackend: string): AdapterDescription {
  const info = adapter.info;
  const device = info.device || info.description || 'unknown';
  return {
    device,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    dawnBackend,
    software: SOFTWARE_DEVICE.test(`${info.device} ${info.description}`),
  };
}

/** A hardware adapter, or undefined when Dawn finds none (software rasterizers do not count). */
export async function findHardwareAdapter(): Promise<FoundAdapter | undefined> {
  if (process.env.NCGPU_NO_HARDWARE_GPU === '1' || !vulkanLoaderPresent()) return undefined;
  const { create } = await loadDawn();
  const backend = process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
  const gpu = create([`backend=${backend}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const description = describe(adapter, backend);
  if (description.software) return undefined;
  return { adapter, description, gpu };
}

/** Dawn's OpenGL ES backend over Mesa llvmpipe: the shaders run on the CPU. For testing shaders. */
export async function findSoftwareAdapter(): Promise<FoundAdapter | undefined> {
  // Mesa needs a display-less EGL platform in a headless process.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const { create } = await loadDawn();
  const gpu = create(['backend=opengles']);
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  if (!adapter) return undefined;
  return { adapter, description: { ...describe(adapter, 'opengles'), software: true }, gpu };
}
