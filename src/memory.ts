/**
 * Host memory checks made before large allocations, so that a run too big for the machine stops
 * at once with the option to change, instead of after minutes of work or in an out-of-memory kill.
 */
import { freemem, totalmem } from 'node:os';

/** Bytes the process can still take: the kernel's available-memory estimate (page cache counts as free). */
export function availableMemoryBytes(): number {
  return freemem();
}

export const formatBytes = (bytes: number): string =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * Throws a RangeError when `bytes` more would not fit in this machine's memory. `what` says what
 * needs them and `hint` which option sets the size.
 */
export function checkHostMemory(bytes: number, what: string, hint: string): void {
  const available = availableMemoryBytes();
  if (bytes > available) {
    throw new RangeError(
      `${what} needs ${formatBytes(bytes)} but ${formatBytes(available)} of this machine's ${formatBytes(totalmem())} are available; ${hint}`,
    );
  }
}
