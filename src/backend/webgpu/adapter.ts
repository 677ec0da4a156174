/**
 * Finding a Dawn adapter: a hardware GPU first, the software GPU (OpenGL ES over Mesa llvmpipe)
 * only when asked for. Kept apart from the device so `ncgpu info` can probe without building one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AdapterDescription, SoftwareLane } from '../types.js';
import { withDawnMessages } from './dawnMessages.js';

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

/**
 * One Dawn instance per backend flag for the whole process. Each create() call makes a new
 * instance (an EGL display or Vulkan instance with its driver state) that is not given back when
 * it is dropped: a loop of createContext / dispose grew by about 4 MiB per context. Reusing the
 * instance keeps a long-lived process flat; a destroyed device leaves nothing that keeps the
 * process alive, so it still exits on its own.
 */
const instances = new Map<string, GPU>();

async function dawnInstance(flag: string): Promise<GPU> {
  const { create } = await loadDawn();
  let gpu = instances.get(flag);
  if (!gpu) {
    // unquantized timestamps: ncgpu's pass timer measures kernels of microseconds
    gpu = create([flag, 'disable-dawn-features=timestamp_quantization']);
    instances.set(flag, gpu);
  }
  return gpu;
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

function describe(adapter: GPUAdapter, dawnBackend: string, featureLevel: AdapterDescription['featureLevel']): AdapterDescription {
  const info = adapter.info;
  const device = info.device || info.description || 'unknown';
  return {
    device,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    dawnBackend,
    software: SOFTWARE_DEVICE.test(`${info.device} ${info.description}`),
    featureLevel,
    features: [...adapter.features].map(String).sort(),
  };
}

/** A hardware adapter, or undefined when Dawn finds none (software rasterizers do not count). */
export async function findHardwareAdapter(): Promise<FoundAdapter | undefined> {
  if (process.env.NCGPU_NO_HARDWARE_GPU === '1' || !vulkanLoaderPresent()) return undefined;
  const backend = process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
  const { gpu, adapter } = await withDawnMessages(`${backend} adapter`, async () => {
    const gpu = await dawnInstance(`backend=${backend}`);
    return { gpu, adapter: await gpu.requestAdapter({ powerPreference: 'high-performance' }) };
  });
  if (!adapter) return undefined;
  const description = describe(adapter, backend, 'core');
  if (description.software) return undefined;
  return { adapter, description, gpu };
}

/** The software lane asked for: the argument, else NCGPU_SOFTWARE_LANE, else 'gles'. */
export function resolveSoftwareLane(lane: SoftwareLane | undefined): SoftwareLane {
  const picked = lane ?? (process.env.NCGPU_SOFTWARE_LANE as SoftwareLane | undefined) ?? 'gles';
  if (picked !== 'gles' && picked !== 'vulkan') {
    throw new RangeError(`createContext: softwareLane must be 'gles' or 'vulkan'; got '${picked}'${lane ? '' : ' from NCGPU_SOFTWARE_LANE'}`);
  }
  return picked;
}

/**
 * The software GPU: the shaders run on the CPU, for testing them. Lane 'gles' is Dawn's OpenGL ES
 * backend over Mesa llvmpipe (compatibility mode); 'vulkan' is Dawn's Vulkan backend over Mesa
 * lavapipe (core mode), found through the Vulkan loader as usual (VK_ICD_FILENAMES selects a
 * private lavapipe, see scripts/install-lavapipe.sh). Undefined when the lane is not installed.
 */
export async function findSoftwareAdapter(lane: SoftwareLane = 'gles'): Promise<FoundAdapter | undefined> {
  if (lane === 'vulkan') {
    const { gpu, adapter } = await withDawnMessages('vulkan software adapter', async () => {
      const gpu = await dawnInstance('backend=vulkan');
      return { gpu, adapter: await gpu.requestAdapter({ featureLevel: 'core' }) };
    });
    if (!adapter) return undefined;
    const description = describe(adapter, 'vulkan', 'core');
    // a hardware GPU is not the software lane: tests on this lane must run on lavapipe
    if (!description.software) return undefined;
    return { adapter, description: { ...description, lane }, gpu };
  }
  // Mesa needs a display-less EGL platform in a headless process.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const { gpu, adapter } = await withDawnMessages('opengles software adapter', async () => {
    const gpu = await dawnInstance('backend=opengles');
    return { gpu, adapter: await gpu.requestAdapter({ featureLevel: 'compatibility' }) };
  });
  if (!adapter) return undefined;
  return { adapter, description: { ...describe(adapter, 'opengles', 'compatibility'), software: true, lane }, gpu };
}
