/**
 * OpenBLAS picks its kernels at load time from the CPU it recognizes. A distribution's OpenBLAS
 * older than the CPU (Debian 12's 0.3.21 on Sapphire Rapids, say) does not recognize it and falls
 * back to its generic 'Prescott' SSE3 kernels, 3-4x slower than the AVX2/AVX-512 ones the CPU
 * can run. So before the addon (and with it libopenblas) loads, ncgpu names the kernel family
 * from the CPU's own flags in OPENBLAS_CORETYPE, unless the user has set it. Builds without
 * DYNAMIC_ARCH, and other BLAS libraries, ignore the variable.
 */
import { readFileSync } from 'node:fs';

/** The kernel family the flags of /proc/cpuinfo support, or undefined to leave OpenBLAS's choice. */
export function openblasCoreFor(cpuFlags: ReadonlySet<string>): string | undefined {
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => cpuFlags.has(f))) return 'SkylakeX';
  if (cpuFlags.has('avx2') && cpuFlags.has('fma')) return 'Haswell';
  return undefined;
}

function cpuFlags(): Set<string> | undefined {
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return line ? new Set(line[1]!.trim().split(/\s+/)) : undefined;
  } catch {
    return undefined;
  }
}

/** The value ncgpu put in OPENBLAS_CORETYPE, if it did (benchmarks keep it away from their baselines). */
export let openblasCoreSetByNcgpu: string | undefined;

/** Sets OPENBLAS_CORETYPE on x64 Linux when the user has not; call before the addon loads. */
export function chooseOpenblasCore(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return;
  const flags = cpuFlags();
  const core = flags && openblasCoreFor(flags);
  if (!core) return;
  process.env.OPENBLAS_CORETYPE = core;
  openblasCoreSetByNcgpu = core;
}

/** The environment for a child process, without the OPENBLAS_CORETYPE ncgpu set for itself. */
export function environmentWithoutOwnCore(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (openblasCoreSetByNcgpu !== undefined && env.OPENBLAS_CORETYPE === openblasCoreSetByNcgpu) delete env.OPENBLAS_CORETYPE;
  return env;
}
