/**
 * A cell's process ends when the sweep runner or worker that started it is gone. Otherwise a
 * SIGKILLed worker would leave its cell running as an orphan, writing into the same folder as
 * the worker that takes the cell over. Linux re-parents an orphan, so a changed parent id is
 * the signal; the checkpoint files are written by rename, so exiting at any moment is safe.
 */
export const PARENT_ENV = 'NCGPU_SWEEP_PARENT';

export function exitWhenOrphaned(): void {
  const parent = Number(process.env[PARENT_ENV]);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      console.error(`ncgpu: the sweep process ${parent} that started this cell is gone; stopping`);
      process.exit(1);
    }
  }, 250);
  timer.unref();
}
