/**
 * WGSL sources ship as files in the package's shaders/ folder and are read at run time, so users
 * can read and benchmark exactly what runs. A line `//!include NAME` pulls in shaders/NAME.wgsl
 * once (WGSL has no includes; declarations may appear in any order, so prepending is enough).
 *
 * Shader variants swap includes: with `{ row_reduce: 'row_reduce_subgroups' }` every
 * `//!include row_reduce`, however deep, pulls in the subgroup version instead, so the kernels that
 * sit on a shared core are written once. A variant's directives (`enable subgroups;`,
 * `requires ...;`) must come before every declaration, so they are moved to the top.
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
const DIRECTIVE = /^\s*(?:enable|requires|diagnostic)\b[^;]*;\s*$/gm;

/** Includes to replace, by the name the `//!include` line gives: { original: replacement }. */
export type IncludeSwaps = Readonly<Record<string, string>>;

/** The WGSL of shaders/NAME.wgsl with its includes resolved (and swapped where `swaps` says). */
export function shaderSource(name: string, swaps: IncludeSwaps = {}): string {
  const key = `${name}:${JSON.stringify(swaps)}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  shaderDir ??= findShaderDir();
  const seen = new Set<string>();
  const load = (n: string): string => {
    const file = swaps[n] ?? n;
    if (seen.has(file)) return '';
    seen.add(file);
    const path = join(shaderDir!, `${file}.wgsl`);
    if (!existsSync(path)) throw new Error(`ncgpu: shader '${file}' not found at ${path}`);
    const text = readFileSync(path, 'utf8');
    const includes = [...text.matchAll(INCLUDE)].map((m) => load(m[1]!));
    return [...includes, text.replace(INCLUDE, '')].join('\n');
  };
  const body = load(name);
  const directives = [...new Set([...body.matchAll(DIRECTIVE)].map((m) => m[0].trim()))];
  const code = directives.length > 0 ? [...directives, body.replace(DIRECTIVE, '')].join('\n') : body;
  cache.set(key, code);
  return code;
}
