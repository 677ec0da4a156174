/**
 * --resume is a contract: a checkpoint records the run's complete settings, a resumed run takes
 * them from it, and a flag that disagrees with them is refused with both values named, unless the
 * user lists it in --override (every override is recorded in results.json).
 */

/** One setting changed on resume with --override. */
export interface Override {
  option: string;
  checkpoint: unknown;
  now: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const show = (v: unknown) => (v === null || v === undefined ? 'unset' : Array.isArray(v) ? v.join(',') : String(v));

export class ResumedSettings {
  readonly overrides: Override[] = [];
  private readonly unused: Set<string>;

  /**
   * `saved`: the settings the checkpoint recorded, or undefined for a fresh run. `override`: the
   * option names of --override. `fixed`: options that define the model itself and so can never
   * be overridden.
   */
  constructor(
    private readonly savedSettings: Record<string, unknown> | undefined,
    private readonly from: string | undefined,
    override: readonly string[],
    private readonly fixed: ReadonlySet<string> = new Set(),
  ) {
    if (override.length && !savedSettings) throw new Error('--override is only meaningful with --resume');
    this.unused = new Set(override);
  }

  /** The value of a setting: the checkpoint's on resume (a differing flag is refused unless overridden), else the flag's or the default. */
  pick<T>(flag: string, key: string, given: string | undefined, parse: (v: string) => T, fallback: () => T): T {
    if (!this.savedSettings || !(key in this.savedSettings)) return given !== undefined ? parse(given) : fallback();
    const kept = (this.savedSettings[key] ?? undefined) as T;
    if (given === undefined) return kept;
    const now = parse(given);
    if (same(now, kept)) return kept;
    if (this.fixed.has(flag) || !this.unused.has(flag)) {
      const how = this.fixed.has(flag) ? 'it fixes the model, so it cannot change on resume' : `pass --override ${flag} to change it`;
      throw new Error(`--${flag} ${show(now)} conflicts with the checkpoint ${this.from}, whose run has --${flag} ${show(kept)}; leave --${flag} out to keep ${show(kept)}, or ${how}`);
    }
    this.unused.delete(flag);
    this.overrides.push({ option: flag, checkpoint: kept ?? null, now });
    return now;
  }

  /** What the checkpoint recorded under `key` (undefined on a fresh run or when it recorded nothing). */
  saved<T>(key: string): T | undefined {
    return (this.savedSettings?.[key] ?? undefined) as T | undefined;
  }

  /** Refuses --override names that changed nothing (a typo must not pass silently). */
  finish(): void {
    if (this.unused.size) {
      throw new Error(`--override ${[...this.unused].join(',')}: ${this.unused.size === 1 ? 'this option is' : 'these options are'} not a setting that differs from the checkpoint ${this.from}`);
    }
  }
}

/** The names in --override a,b,c. */
export function overrideList(v: string | undefined): string[] {
  if (v === undefined) return [];
  const names = v.split(',').map((s) => s.trim().replace(/^--/, '')).filter(Boolean);
  if (!names.length) throw new Error(`--override must be a comma-separated list of option names, got '${v}'`);
  return names;
}

/** --steps must take a resumed run past its checkpoint. */
export function checkResumeSteps(steps: number, checkpointStep: number, from: string): void {
  if (steps <= checkpointStep) {
    throw new Error(`--steps ${steps} is not beyond the checkpoint ${from}, which is at step ${checkpointStep}; pass --steps > ${checkpointStep} to continue it`);
  }
}
