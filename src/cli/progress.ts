/** Progress bars for long commands; quiet when stdout is not a terminal or in CI. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

/** With `detail`, the bar ends with the payload's `detail` text (e.g. the phase under way), set by tick(0, { detail }). */
export function progressBar(label: string, total: number, options: { detail?: boolean } = {}): Progress {
  if (!process.stderr.isTTY || process.env.CI) {
    return { tick() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted} left${options.detail ? '  {detail}' : ''}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    tick: (n = 1, payload) => bar.increment(n, payload),
    stop: () => bar.stop(),
  };
}
