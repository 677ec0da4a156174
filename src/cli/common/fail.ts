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
 * A command with its own handler (`sweep run` stops its cells first) takes precedence.
 */
export function exitOnSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      process.exit(code);
    });
  }
}
