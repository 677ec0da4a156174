#!/usr/bin/env node
// `npm run build:prebuilt` (and `npm pack`): the prebuilt binary that ships in prebuilds/.
//
// On Linux x64 it is built with cmake-js and NCGPU_STATIC_BLAS=ON: OpenBLAS (with its LAPACK
// and the kernels of every CPU family) is linked into the addon, so a project that installs
// ncgpu needs no BLAS, LAPACK or Fortran runtime on its machines. The binary is then checked:
// its dynamic dependencies must be the C/C++ runtime only. Elsewhere prebuildify builds it
// against the platform's BLAS (Accelerate on macOS), as before.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(cmd, args) {
  console.log(`ncgpu build:prebuilt: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status})`);
}

/** shared libraries a self-contained binary may depend on: glibc, libstdc++, libgcc */
const SYSTEM_LIBRARY = /^(linux-vdso|ld-linux|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s)(?=[.-])/;

/** the non-system shared libraries `ldd` lists for a binary */
export function foreignDependencies(binary) {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name && !SYSTEM_LIBRARY.test(name.replace(/^.*\//, '')));
}

function prebuildLinuxX64() {
  const out = join(root, 'build-prebuild');
  run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'rebuild', '-O', out, '--CDNCGPU_STATIC_BLAS=ON']);
  const dir = join(root, 'prebuilds', 'linux-x64');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'ncgpu.node');
  copyFileSync(join(out, 'Release', 'ncgpu.node'), target);
  run('strip', ['--strip-unneeded', target]);
  const foreign = foreignDependencies(target);
  if (foreign.length > 0) throw new Error(`the prebuilt addon still depends on ${foreign.join(', ')}`);
  console.log(`ncgpu build:prebuilt: ${target} depends on the C/C++ runtime only`);
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.platform === 'linux' && process.arch === 'x64') prebuildLinuxX64();
  else run(process.execPath, [require.resolve('prebuildify/bin.js'), '--napi', '--strip']);
}
