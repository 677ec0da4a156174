/**
 * results.json of one CLI run, written as the run goes: after every layer, logged step or run the
 * command hands over what it has, and the file always says where the run stands
 * (status running | complete | failed | interrupted; on failure the error and where it happened).
 * A plot that cannot be drawn becomes a warning here instead of losing the run.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../data/atomicFile.js';
import { claimRunFolder, RESULTS_FILE, type PreviousRun, type RunFolder } from './runFolder.js';

export type RunStatus = 'running' | 'complete' | 'failed' | 'interrupted';

/** JSON with NaN / Infinity written as null (JSON has neither) and typed arrays as arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float64Array) : v),
    2,
  );
}

/** { layer: 102, after: 'agop' } -> "layer 102, after agop"; { afterStep: 400 } -> "after step 400". */
export function describeWhere(where: Record<string, unknown>): string {
  return Object.entries(where).map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)} ${String(v)}`).join(', ');
}

export class RunRecord {
  readonly path: string;
  status: RunStatus = 'running';
  readonly warnings: string[] = [];
  readonly files = new Set<string>();
  private fields: Record<string, unknown> = {};
  private where: Record<string, unknown> | undefined;
  private error: string | undefined;
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;

  private readonly interrupted = () => this.markInterrupted();

  constructor(readonly out: string, readonly command: string, readonly runId: string, private readonly folder?: RunFolder) {
    this.path = join(out, RESULTS_FILE);
    process.on('exit', this.interrupted);
  }

  /**
   * Records a failure and returns the error to throw: it says where the run failed and where its
   * partial results are, so both the message and the exit code tell the user.
   */
  async failed(e: unknown): Promise<Error> {
    const where = this.where;
    await this.fail(e);
    const message = (e as Error)?.message ?? String(e);
    return new Error(`${where ? `at ${describeWhere(where)}: ` : ''}${message} (partial results in ${this.path})`, { cause: e });
  }

  /** failed() and close() together, for a failure before the command's own try/finally. */
  async abandon(e: unknown): Promise<Error> {
    const error = await this.failed(e);
    this.close();
    return error;
  }

  /** Releases --out for other runs (the record stays as written). */
  close(): void {
    process.off('exit', this.interrupted);
    this.folder?.release();
  }

  /** Merges `fields` into the record and queues a write of results.json. */
  update(fields: Record<string, unknown>): Promise<void> {
    Object.assign(this.fields, fields);
    return this.flush();
  }

  /** Where the run is now; a failure from here on is reported at this place. */
  at(where: Record<string, unknown> | undefined): void {
    this.where = where;
  }

  get failedAt(): Record<string, unknown> | undefined {
    return this.where;
  }

  /** Writes a file into --out and lists it as this run's (so --overwrite can remove it later). */
  async writeFile(name: string, data: string | Uint8Array): Promise<string> {
    this.files.add(name);
    await writeFileAtomic(join(this.out, name), data);
    return name;
  }

  /** Draws a plot into name.png (and name.svg when drawn); a failure to draw it is a warning in results.json, never a lost run. */
  async plot(name: string, draw: () => Promise<{ png: Uint8Array; svg?: string }>): Promise<string | undefined> {
    try {
      const { png, svg } = await draw();
      if (svg !== undefined) await this.writeFile(`${name}.svg`, svg);
      return await this.writeFile(`${name}.png`, png);
    } catch (e) {
      this.warnings.push(`plot ${name} not drawn: ${(e as Error).message}`);
      return undefined;
    }
  }

  async complete(fields: Record<string, unknown> = {}): Promise<void> {
    this.status = 'complete';
    this.where = undefined;
    await this.update(fields);
  }

  async fail(e: unknown): Promise<void> {
    this.status = 'failed';
    this.error = (e as Error)?.message ?? String(e);
    await this.flush().catch(() => {});
  }

  /** Waits for queued writes; rethrows the first write that failed. */
  async settle(): Promise<void> {
    await this.writes;
    if (this.writeError) throw this.writeError;
  }

  private snapshot(): string {
    const failure = this.status === 'running' || this.status === 'complete' ? {} : { error: this.error ?? null, failedAt: this.where ?? null };
    return `${toJson({ status: this.status, ...failure, runId: this.runId, ...this.fields, warnings: this.warnings, files: [...this.files] })}\n`;
  }

  private flush(): Promise<void> {
    this.writes = this.writes.then(() => writeFileAtomic(this.path, this.snapshot())).catch((e) => {
      this.writeError ??= e;
    });
    return this.writes;
  }

  /** At exit without an ending (Ctrl-C): mark the record interrupted, synchronously. */
  markInterrupted(): void {
    if (this.status !== 'running') return;
    this.status = 'interrupted';
    this.error = 'interrupted before it finished';
    try {
      writeFileSync(this.path, this.snapshot());
    } catch {
      // nothing more can be done while exiting
    }
  }
}

export interface RunOptions {
  out: string;
  /** e.g. 'ncgpu ufm train' */
  command: string;
  overwrite?: boolean;
  /** the id of the run a checkpoint continues: its folder may be reused without --overwrite */
  resumeOf?: string;
}

/**
 * Claims --out (see runFolder.ts) and starts the run's results.json with status running. End it
 * with complete(), or with `throw await run.failed(e)`, and always close().
 */
export async function openRun(o: RunOptions): Promise<RunRecord> {
  const sameRun = (prev: PreviousRun) => o.resumeOf !== undefined && prev.runId === o.resumeOf;
  const folder = await claimRunFolder(o.out, { overwrite: o.overwrite ?? false, sameRun });
  const run = new RunRecord(o.out, o.command, o.resumeOf ?? randomUUID(), folder);
  try {
    await run.update({});
    await run.settle();
  } catch (e) {
    run.close();
    throw e;
  }
  return run;
}

/** openRun, `body`, and the ending: complete, or failed with the error and where it happened. */
export async function runInFolder(o: RunOptions, body: (run: RunRecord) => Promise<void>): Promise<void> {
  const run = await openRun(o);
  try {
    await body(run);
    if (run.status === 'running') await run.complete();
    await run.settle();
  } catch (e) {
    throw await run.failed(e);
  } finally {
    run.close();
  }
}
