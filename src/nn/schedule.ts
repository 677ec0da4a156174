/**
 * Learning-rate schedules as pure functions of the step, so that a resumed run recomputes the
 * rate from the step count alone (nothing to checkpoint).
 *
 * - constant: lr at every step.
 * - cosine: linear warm-up from lr / warmupSteps to lr over the first `warmupSteps` steps, then
 *   lr_min + (lr - lr_min) (1 + cos(pi t / T)) / 2 with t the steps after warm-up and T the
 *   steps left, ending at lr_min (default 0) on the last step.
 */
export type ScheduleKind = 'constant' | 'cosine';
/** Every ScheduleKind, e.g. for validating a command-line option. */
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'cosine'];

/** A learning-rate schedule with its settings. */
export interface Schedule {
  kind: ScheduleKind;
  /** cosine: warm-up steps (default 0) */
  warmupSteps?: number;
  /** cosine: the final rate as a fraction of the base rate (default 0) */
  minFraction?: number;
}

/** Validates a schedule (a kind or a Schedule) and returns it as a Schedule; errors name `op`. */
export function checkSchedule(op: string, s: Schedule | ScheduleKind): Schedule {
  const sched = typeof s === 'string' ? { kind: s } : s;
  if (!sched || !SCHEDULE_KINDS.includes(sched.kind)) {
    throw new RangeError(`${op}: 'schedule' must be one of ${SCHEDULE_KINDS.join(', ')}, got '${typeof s === 'string' ? s : sched?.kind}'`);
  }
  const { warmupSteps = 0, minFraction = 0 } = sched;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new RangeError(`${op}: 'warmupSteps' must be an integer >= 0, got ${warmupSteps}`);
  if (!(minFraction >= 0 && minFraction <= 1)) throw new RangeError(`${op}: 'minFraction' must be in [0, 1], got ${minFraction}`);
  return { kind: sched.kind, warmupSteps, minFraction };
}

/** The rate used by step `step` (0-based) of a run of `totalSteps` steps. */
export function learningRateAt(schedule: Schedule | ScheduleKind, baseRate: number, step: number, totalSteps: number): number {
  const s = checkSchedule('learningRateAt', schedule);
  if (!(baseRate > 0) || !Number.isFinite(baseRate)) throw new RangeError(`learningRateAt: 'baseRate' must be a finite number > 0, got ${baseRate}`);
  if (s.kind === 'constant') return baseRate;
  const warm = s.warmupSteps!;
  if (step < warm) return (baseRate * (step + 1)) / warm;
  const span = totalSteps - warm - 1;
  if (span <= 0) return baseRate;
  const t = Math.min(step - warm, span) / span;
  const low = baseRate * s.minFraction!;
  return low + (baseRate - low) * 0.5 * (1 + Math.cos(Math.PI * t));
}
