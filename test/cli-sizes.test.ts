/** Sizes first: a run too large for a matrix or for memory is refused from its options, naming the option, before any work or output. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: '1' } });
const dir = mkdtempSync(join(tmpdir(), 'ncgpu-sizes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sizes are checked before memory is taken', () => {
  const cases: [string, string[], RegExp][] = [
    ['rfm --width', ['rfm', '--dataset', 'gaussian', '--n-per-class', '10', '--test-per-class', '2', '--width', '100000000', '--backend', 'cpu', '--quiet'], /--width 100000000: .* exceed/],
    ['ufm ode --points', ['ufm', 'ode', '--points', '100000000'], /--points 100000000 .*needs .* GiB.*lower --points/],
    ['ufm train --width', ['ufm', 'train', '--width', '1000000000', '--steps', '10', '--backend', 'cpu'], /--width 1000000000: .* exceeds/],
    ['nn svd-nc1 --width', ['nn', 'svd-nc1', '--width', '1000000000', '--steps', '10', '--backend', 'cpu'], /--width 1000000000: .* exceeds the 2147483647 elements/],
    ['nn svd-nc1 --depth', ['nn', 'svd-nc1', '--depth', '100000', '--steps', '10', '--backend', 'cpu'], /depth 100000 .*\(--depth, --width\) needs .* GiB/],
    ['nn depth-sweep --width', ['nn', 'depth-sweep', '--width', '1000000000', '--steps', '10', '--backend', 'cpu'], /--width 1000000000: .* exceeds/],
    ['nn richness --width', ['nn', 'richness', '--width', '1000000000', '--steps', '10', '--n-per-class', '20', '--backend', 'cpu'], /--width 1000000000: .* exceeds/],
  ];
  for (const [name, args, message] of cases) {
    it(`${name}: refused at once, naming the option, with nothing written`, () => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      const started = Date.now();
      const r = run([...args, '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    });
  }
});
