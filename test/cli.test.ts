import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

// the software GPU these tests run on (CI runs the webgpu test files on both lanes)
const lane = process.env.NCGPU_SOFTWARE_LANE === 'vulkan' ? 'vulkan' : 'gles';
const dawnBackend = lane === 'vulkan' ? 'vulkan' : 'opengles';

describe('ncgpu info', () => {
  it('names the backend auto picks, the software adapter with its limits, and the BLAS', () => {
    const r = run(['info', '--software', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(['cpu', 'webgpu']).toContain(info.auto);
    expect(info.softwareAdapter.dawnBackend).toBe(dawnBackend);
    expect(info.softwareAdapter.software).toBe(true);
    expect(info.softwareAdapter.lane).toBe(lane);
    expect(info.softwareAdapter.featureLevel).toBe(lane === 'vulkan' ? 'core' : 'compatibility');
    // the Vulkan lane is the one with the core-mode features
    if (lane === 'vulkan') expect(info.softwareAdapter.features).toEqual(expect.arrayContaining(['subgroups', 'shader-f16', 'timestamp-query']));
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(info.blas.name).toMatch(/OpenBLAS|Accelerate|BLAS/);
    expect(info.blas.threads).toBeGreaterThan(0);
  });

  it('prints a readable report', () => {
    const r = run(['info', '--software']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ncgpu \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/backend 'auto' -> (cpu|webgpu)/);
    expect(r.stdout).toMatch(new RegExp(`software GPU: .*Dawn backend ${dawnBackend} \\(software\\), lane ${lane}`));
    expect(r.stdout).toMatch(/feature level (core|compatibility); features: /);
    expect(r.stdout).toMatch(/BLAS: \S+/);
  });

  it('fails with a clear message for an unknown command', () => {
    const r = run(['frobnicate']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('backend selection', () => {
  it("NCGPU_BACKEND picks the backend when none is given, and 'auto' falls back to cpu without a GPU", async () => {
    const script = `
      import { createContext } from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      const a = await createContext(); const an = a.name; await a.dispose();
      const b = await createContext({ backend: 'auto' }); console.log(an, b.name, b.info().adapter?.software ?? 'none'); await b.dispose();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NCGPU_BACKEND: 'webgpu-software', NCGPU_NO_HARDWARE_GPU: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('webgpu cpu none');
  });
});
