/**
 * A turn of the event loop for long loops of small ops. On the cpu backend small ops run inline,
 * so an `await` on them resolves at once and timers, file writes (results.json as a run
 * progresses) and signal handlers (Ctrl-C) would wait for the whole loop; training loops call
 * this once per block of steps.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
