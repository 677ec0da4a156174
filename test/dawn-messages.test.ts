import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const runScript = (script: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env },
  });

// what a native library does: write to file descriptor 2 directly, past process.stderr
const SCRIPT = `
import { writeSync } from 'node:fs';
import { withDawnMessages, dawnMessages } from './src/backend/webgpu/dawnMessages.ts';
const value = await withDawnMessages('device', async () => {
  writeSync(2, 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16\\n');
  await new Promise((r) => setTimeout(r, 5));
  writeSync(2, 'a line of the application\\n');
  writeSync(2, 'MESA: warning: something from the driver\\n');
  return 42;
});
console.log(JSON.stringify({ value, messages: dawnMessages() }));
`;

describe("Dawn's messages", () => {
  it('are kept for ncgpu info instead of printed; other stderr lines pass through', () => {
    const r = runScript(SCRIPT);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.value).toBe(42);
    expect(out.messages).toEqual([
      'device: Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16',
      'device: MESA: warning: something from the driver',
    ]);
    expect(r.stderr).toBe('a line of the application\n');
  });

  it('NCGPU_DAWN_MESSAGES=1 prints them as they come', () => {
    const r = runScript(SCRIPT, { NCGPU_DAWN_MESSAGES: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('ncgpu: Dawn (device): Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced');
    expect(r.stderr).toContain('a line of the application');
  });

  it('creating a software GPU context prints nothing on stderr', () => {
    const r = runScript(`
import { createContext, matmul } from './src/index.ts';
const ctx = await createContext({ backend: 'webgpu-software' });
const a = ctx.matrix(new Float32Array([1, 2, 3, 4]), [2, 2]);
console.log(Array.from(await (await matmul(a, a)).read()).join(','));
await ctx.dispose();
`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('7,10,15,22');
    expect(r.stderr).toBe('');
  });
});
