/**
 * Row-panelled matrices: an N x M matrix kept as panels of consecutive rows, for kernel matrices
 * past one allocation (N = 50,000 is 2.5e9 entries, 10 GB in f32: more than 2^31 elements and more
 * than any single GPU buffer). Every op that touches such a matrix works panel by panel. On the
 * cpu backend the panels are views into one host array, so LAPACK can factor the whole matrix in
 * place; on a GPU they are separate buffers.
 */
import type { Context } from '../context.js';
import { Matrix } from '../tensor.js';
import type { Kernel } from './kernels.js';
import { KERNELS } from './kernels.js';
import { matmul } from './matmul.js';
import { checkOpInput, live, positive, ShapeError, unbatched } from './validate.js';

/** Default panel size: 2^28 values (1 GiB of f32), or what one allocation of the backend allows. */
export const DEFAULT_PANEL_ELEMENTS = 2 ** 28;

export function defaultPanelRows(ctx: Context, cols: number): number {
  return Math.max(1, Math.floor(Math.min(DEFAULT_PANEL_ELEMENTS, ctx.backend.maxElements) / Math.max(cols, 1)));
}

/** Validates a user's panel size (in rows) for a matrix of `cols` columns. */
export function checkPanelRows(op: string, ctx: Context, panelRows: number, cols: number): void {
  if (!Number.isInteger(panelRows) || panelRows < 1) throw new RangeError(`${op}: 'panelRows' must be a positive integer, got ${panelRows}`);
  if (panelRows * cols > ctx.backend.maxElements) {
    throw new RangeError(
      `${op}: 'panelRows' ${panelRows} x ${cols} columns exceeds the ${ctx.backend.name} backend's ${ctx.backend.maxElements} elements per allocation`,
    );
  }
}

export class RowPanels {
  /** @param host the whole matrix as one host array whose panels are views (cpu backend) */
  constructor(
    readonly context: Context,
    readonly rows: number,
    readonly cols: number,
    readonly panelRows: number,
    readonly panels: Matrix[],
    readonly host?: Float32Array,
  ) {}

  /** first row of panel p */
  panelStart(p: number): number {
    return p * this.panelRows;
  }

  /** Storage for a rows x cols matrix in panels of panelRows rows; contents unspecified. */
  static allocate(ctx: Context, rows: number, cols: number, panelRows: number): RowPanels {
    const { panels, host } = ctx.backend.allocPanels(rows, cols, panelRows);
    const matrices = panels.map((s, p) => new Matrix(ctx, s, [Math.min(panelRows, rows - p * panelRows), cols]));
    return new RowPanels(ctx, rows, cols, panelRows, matrices, host);
  }

  /** The whole matrix on the host: the cpu backend's own array (no copy, valid until dispose), a GPU's panels read one by one. */
  async readAll(): Promise<Float32Array> {
    if (this.host) return this.host;
    const out = new Float32Array(this.rows * this.cols);
    for (let p = 0; p < this.panels.length; p++) out.set(await this.panels[p]!.read(), this.panelStart(p) * this.cols);
    return out;
  }

  dispose(): void {
    for (const p of this.panels) p.dispose();
  }
}

/** Rows r0..r1-1 of X as a new matrix. */
export async function rowSlice(X: Matrix, r0: number, r1: number): Promise<Matrix> {
  const s = live('rowSlice', 'X', X);
  unbatched('rowSlice', 'X', X);
  if (!(Number.isInteger(r0) && Number.isInteger(r1) && r0 >= 0 && r0 <= r1 && r1 <= X.rows)) {
    throw new RangeError(`rowSlice: rows ${r0}..${r1} are not within the ${X.rows} rows of X`);
  }
  const out = X.context.empty([r1 - r0, X.cols]);
  await X.backend.copy(s, out.storage(), (r1 - r0) * X.cols, r0 * X.cols, 0);
  return out;
}

export interface KernelPanelsOptions {
  /** Mahalanobis matrix (d x d); the identity when absent */
  M?: Matrix;
  /** rows per panel (default: 1 GiB of f32 or the backend's allocation limit) */
  panelRows?: number;
  /** row i of X is row rowOffset + i of Z (a block of K(Z, Z)): those entries are made exact like a diagonal */
  rowOffset?: number;
}

/** K(X, Z) (X.rows x Z.rows) in row panels; with X === Z the diagonal is exact, as in kernelMatrix. */
export async function kernelPanels(X: Matrix, Z: Matrix, kernel: Kernel, bandwidth: number, options: KernelPanelsOptions = {}): Promise<RowPanels> {
  const op = 'kernelPanels';
  live(op, 'X', X);
  const sz = live(op, 'Z', Z, X);
  unbatched(op, 'X', X);
  unbatched(op, 'Z', Z);
  if (X.cols !== Z.cols) throw new ShapeError(`${op}: 'X' is ${X.describe()} and 'Z' is ${Z.describe()}; they need the same number of columns`);
  if (!KERNELS.includes(kernel)) throw new RangeError(`${op}: kernel must be one of ${KERNELS.join(', ')}, got '${kernel}'`);
  positive(op, 'bandwidth', bandwidth);
  const ctx = X.context;
  const { M } = options;
  let sm;
  if (M) {
    sm = live(op, 'M', M, X);
    if (M.batch !== 1 || M.rows !== X.cols || M.cols !== X.cols) {
      throw new ShapeError(`${op}: 'M' must be ${X.cols}x${X.cols} to match the ${X.cols} features, got ${M.describe()}`);
    }
  }
  const panelRows = options.panelRows ?? defaultPanelRows(ctx, Z.rows);
  checkPanelRows(op, ctx, panelRows, Z.rows);
  for (const [name, m] of [['X', X], ['Z', Z], ['M', M]] as const) if (m) await checkOpInput(op, name, m);
  const out = RowPanels.allocate(ctx, X.rows, Z.rows, panelRows);
  try {
    for (let p = 0; p < out.panels.length; p++) {
      const r0 = out.panelStart(p);
      const panel = out.panels[p]!;
      const rows = out.panels.length === 1 ? X : await rowSlice(X, r0, r0 + panel.rows);
      try {
        await ctx.backend.pairwise({
          x: rows.storage(), z: sz, n: panel.rows, m: Z.rows, d: X.cols, mahal: sm, kernel, bandwidth,
          out: panel.storage(), selfOffset: X === Z ? r0 : options.rowOffset !== undefined ? options.rowOffset + r0 : undefined,
        });
      } finally {
        if (rows !== X) rows.dispose();
      }
    }
    return out;
  } catch (e) {
    out.dispose();
    throw e;
  }
}

/** P V for a panelled P (rows x cols) and V (cols x r): one GEMM per panel, on the device. */
export async function panelsMatmul(P: RowPanels, V: Matrix): Promise<Matrix> {
  const op = 'panelsMatmul';
  live(op, 'V', V);
  unbatched(op, 'V', V);
  if (V.context !== P.context) throw new Error(`${op}: 'V' belongs to a different context than the panels`);
  if (V.rows !== P.cols) throw new ShapeError(`${op}: the panels have ${P.cols} columns but 'V' is ${V.describe()}`);
  if (P.panels.length === 1) return matmul(P.panels[0]!, V);
  const ctx = P.context;
  const out = ctx.empty([P.rows, V.cols]);
  try {
    for (let p = 0; p < P.panels.length; p++) {
      // GEMM writes whole matrices, so each panel's block lands through a copy at its row offset
      const block = await matmul(P.panels[p]!, V);
      await ctx.backend.copy(block.storage(), out.storage(), block.size, 0, P.panelStart(p) * V.cols);
      block.dispose();
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}
