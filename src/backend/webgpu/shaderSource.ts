/**
 * WGSL sources ship as files in the package's shaders/ folder and are read at run time, so users
 * can read and benchmark exactly what runs. A line `//!include NAME` pulls in shaders/NAME.wgsl
 * once (WGSL has no includes; declarations may appear in any order, so prepending is enough).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/backend/webgpu (or dist/backend/webgpu) -> package root */
function findShaderDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'shaders');
    if (existsSync(join(candidate, 'matmul.wgsl'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('ncgpu: cannot find the shaders/ folder of the installed package');
}

let shaderDir: string | undefined;
const cache = new Map<string, string>();
const INCLUDE = /^\s*\/\/!include\s+([\w-]+)\s*$/gm;

export function shaderSource(name: string): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  shaderDir ??= findShaderDir();
  const seen = new Set<string>();
  const load = (n: string): string => {
    if (seen.has(n)) return '';
    seen.add(n);
    const path = join(shaderDir!, `${n}.wgsl`);
    if (!existsSync(path)) throw new Error(`ncgpu: shader '${n}' not found at ${path}`);
    const text = readFileSync(path, 'utf8');
    const includes = [...text.matchAll(INCLUDE)].map((m) => load(m[1]!));
    return [...includes, text.replace(INCLUDE, '')].join('\n');
  };
  const code = load(name);
  cache.set(name, code);
  return code;
}
