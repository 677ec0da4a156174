/** Progress bars for long commands; quiet when stdout is not a terminal or in CI. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

export function progressBar(label: string, total: number): Progress {
  if (!process.stderr.isTTY || process.env.CI) {
    return { tick() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted} left`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1, payload) => bar.increment(n, payload),
    stop: () => bar.stop(),
  };
}
