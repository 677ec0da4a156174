/** How a command ends on an error: one line naming the command on stderr and exit status 1. */
export function failWith(command: string): (e: unknown) => never {
  return (e: unknown) => {
    console.error(`${command}: ${(e as Error)?.message ?? String(e)}`);
    process.exit(1);
  };
}

let hooked = false;

/**
 * Ctrl-C (and SIGTERM) end the process through process.exit, so the exit hooks run: temporary
 * checkpoint files are removed, results.json is marked interrupted and the --out lock is released.
 */
export function exitOnSignals(): void {
  if (hooked) return;
  hooked = true;
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}
