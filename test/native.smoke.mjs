// Smoke test for the ncgpu native addon: exercises every export once on tiny
// inputs against hand-computed or naive reference values and prints OK/FAIL
// per check. Exit code 1 when anything fails.
//
//   node test/native.smoke.mjs
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const nc = require('node-gyp-build')(root);

let failures = 0;
let checks = 0;
function check(name, ok, detail = '') {
  checks++;
  if (ok) {
    console.log(`OK   ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
}
function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN-safe: NaN makes m NaN
  }
  return m;
}
function close(name, got, want, tol) {
  const d = maxAbsDiff(Array.from(got), Array.from(want));
  check(name, d <= tol, `max |diff| = ${d} > ${tol}; got [${Array.from(got).slice(0, 12).map((v) => +v.toPrecision(6))}] want [${Array.from(want).slice(0, 12).map((v) => +v.toPrecision(6))}]`);
}
function throwsWith(name, fn, ctor, start) {
  try {
    fn();
    check(name, false, 'did not throw');
  } catch (e) {
    const okType = !ctor || e instanceof ctor;
    const okMsg = typeof start === 'string' ? e.message.startsWith(start) : start.test(e.message);
    check(name, okType && okMsg, `got ${e.constructor.name}: ${e.message}`);
  }
}
async function rejectsWith(name, promise, ctor, start) {
  try {
    await promise;
    check(name, false, 'did not reject');
  } catch (e) {
    const okType = !ctor || e instanceof ctor;
    const okMsg = typeof start === 'string' ? e.message.startsWith(start) : start.test(e.message);
    check(name, okType && okMsg, `got ${e.constructor.name}: ${e.message}`);
  }
}

// Row-major helpers on plain arrays (double precision references).
function matmul(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    c[i * n + j] = s;
  }
  return c;
}
function transpose(a, rows, cols) {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
function eye(n) {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}
function diagScaleCols(a, rows, cols, d) {
  const r = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) r[i * cols + j] = a[i * cols + j] * d[j];
  return r;
}
const F = (arr) => Float32Array.from(arr);
const D = (arr) => Float64Array.from(arr);

// ---------------------------------------------------------------------------
// blasInfo / setThreads
// ---------------------------------------------------------------------------
{
  const info = nc.blasInfo();
  check('blasInfo', typeof info.name === 'string' && typeof info.version === 'string' &&
    typeof info.config === 'string' && info.threads >= 1, JSON.stringify(info));
  console.log(`     ${info.name} ${info.version} threads=${info.threads} (${info.config})`);
  const before = info.threads;
  nc.setThreads(1);
  const one = nc.blasInfo().threads;
  nc.setThreads(before);
  check('setThreads', (info.name !== 'OpenBLAS' || one === 1) && nc.blasInfo().threads === before, `got ${one}`);
  throwsWith('setThreads(0) throws', () => nc.setThreads(0), RangeError, 'setThreads: ');
  check('adviseHugePages leaves a small array alone', nc.adviseHugePages(new Float32Array(16)) === false);
  throwsWith('adviseHugePages of a non-array throws', () => nc.adviseHugePages([1]), TypeError, 'adviseHugePages: ');
}

// ---------------------------------------------------------------------------
// gemm / sgemmDirect
// ---------------------------------------------------------------------------
{
  const m = 2, k = 3, n = 4;
  const A = [1, 2, 3, 4, 5, 6];                 // 2x3
  const B = [1, 0, -1, 2, 0.5, 1, 3, -2, 2, 1, 0, 1]; // 3x4
  const C0 = [1, 1, 1, 1, 2, 2, 2, 2];
  const alpha = 1.5, beta = 0.5;
  const AB = matmul(A, B, m, k, n);
  const want = AB.map((v, i) => alpha * v + beta * C0[i]);
  for (const ta of [false, true]) for (const tb of [false, true]) {
    const a = F(ta ? transpose(A, m, k) : A);
    const b = F(tb ? transpose(B, k, n) : B);
    const c = F(C0);
    const r = nc.gemm(ta, tb, m, n, k, alpha, a, b, beta, c, 1, 0, 0, 0);
    close(`gemm transA=${ta} transB=${tb}`, c, want, 1e-5);
    if (ta && tb) check('gemm returns undefined', r === undefined);
    const cd = F(C0);
    nc.sgemmDirect(ta, tb, m, n, k, alpha, a, b, beta, cd, 1, 0, 0, 0);
    close(`sgemmDirect transA=${ta} transB=${tb}`, cd, want, 1e-5);
    // Float64Array operands run in double (dgemm): exact here, where every value is a short binary fraction
    const c64 = D(C0);
    nc.gemm(ta, tb, m, n, k, alpha, D(ta ? transpose(A, m, k) : A), D(tb ? transpose(B, k, n) : B), beta, c64, 1, 0, 0, 0);
    close(`gemm f64 transA=${ta} transB=${tb}`, c64, want, 0);
  }
  // f64 keeps what f32 rounds away: 1 + 2^-30 is 1 in f32
  const tiny = D([1 + 2 ** -30]);
  const c1 = new Float64Array(1);
  nc.gemm(false, false, 1, 1, 1, 1, tiny, D([1]), 0, c1, 1, 0, 0, 0);
  check('gemm f64 keeps 1 + 2^-30', c1[0] === 1 + 2 ** -30);

  // batch of 3, B broadcast (strideB = 0), distinct A_i
  const batch = 3;
  const As = [], wantB = [];
  for (let i = 0; i < batch; i++) {
    const Ai = A.map((v) => v * (i + 1) - i);
    As.push(...Ai);
    wantB.push(...matmul(Ai, B, m, k, n));
  }
  const cb = new Float32Array(batch * m * n);
  nc.gemm(false, false, m, n, k, 1, F(As), F(B), 0, cb, batch, m * k, 0, m * n);
  close('gemm batch 3, strideB 0 (broadcast B)', cb, wantB, 1e-4);
  // broadcast A instead, B transposed per batch
  const Bs = [], wantA = [];
  for (let i = 0; i < batch; i++) {
    const Bi = B.map((v) => v + i);
    Bs.push(...transpose(Bi, k, n));
    wantA.push(...matmul(A, Bi, m, k, n));
  }
  const ca = new Float32Array(batch * m * n);
  nc.gemm(false, true, m, n, k, 1, F(A), F(Bs), 0, ca, batch, 0, n * k, m * n);
  close('gemm batch 3, strideA 0, transB', ca, wantA, 1e-4);

  // k = 0: C = beta * C
  const ck = F([1, 2, 3, 4]);
  nc.gemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 3, ck, 1, 0, 0, 0);
  close('gemm k=0 gives beta*C', ck, [3, 6, 9, 12], 0);
  nc.gemm(false, false, 0, 2, 3, 1, new Float32Array(0), new Float32Array(6), 0, new Float32Array(0), 1, 0, 0, 0);
  check('gemm m=0 is a no-op', true);

  throwsWith('gemm short a', () => nc.gemm(false, false, 3, 2, 4, 1, new Float32Array(10), new Float32Array(8), 0, new Float32Array(6), 1, 0, 0, 0),
    RangeError, "gemm: argument 'a' has 10 elements, needs at least 12 (batch 1, 3x4)");
  throwsWith('gemm mixed dtypes', () => nc.gemm(false, false, 1, 1, 1, 1, new Float64Array(1), new Float32Array(1), 0, new Float64Array(1), 1, 0, 0, 0),
    TypeError, "gemm: argument 'b' must be a Float64Array like 'a', got Float32Array");
  throwsWith('gemm mixed dtypes in c', () => nc.gemm(false, false, 1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float64Array(1), 1, 0, 0, 0),
    TypeError, "gemm: argument 'c' must be a Float32Array like 'a', got Float64Array");
  throwsWith('gemm wrong dtype', () => nc.gemm(false, false, 1, 1, 1, 1, new Int32Array(1), new Float32Array(1), 0, new Float32Array(1), 1, 0, 0, 0),
    TypeError, "gemm: argument 'a' must be a Float32Array or Float64Array, got Int32Array");
  throwsWith('gemm f64 short c', () => nc.gemm(false, false, 2, 2, 1, 1, new Float64Array(2), new Float64Array(2), 0, new Float64Array(3), 1, 0, 0, 0),
    RangeError, "gemm: argument 'c' has 3 elements, needs at least 4 (batch 1, 2x2)");
  throwsWith('gemm negative dim', () => nc.gemm(false, false, -1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1), 1, 0, 0, 0),
    RangeError, "gemm: argument 'm' must be a non-negative integer, got -1");
  const shared = new Float32Array(8);
  throwsWith('gemm c overlapping a', () => nc.gemm(false, false, 2, 2, 2, 1, shared, F([1, 0, 0, 1]), 0, shared.subarray(2), 1, 0, 0, 0),
    RangeError, "gemm: argument 'c' must not overlap argument 'a'");
}

// ---------------------------------------------------------------------------
// pairwise
// ---------------------------------------------------------------------------
{
  const n = 3, m = 2, d = 2;
  const X = [1, 2, -1, 0.5, 0, 0];
  const Z = [0.5, -1, 2, 1];
  const M = [2, 0.5, 0.5, 1];
  const L = 1.5;
  function naive(kernel, mahal) {
    const out = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
      const diff = [X[i * d] - Z[j * d], X[i * d + 1] - Z[j * d + 1]];
      let r2;
      if (mahal) {
        r2 = 0;
        for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) r2 += diff[p] * M[p * d + q] * diff[q];
      } else {
        r2 = diff[0] * diff[0] + diff[1] * diff[1];
      }
      out[i * m + j] = [r2, Math.exp(-Math.sqrt(r2) / L), Math.exp(-r2 / (2 * L * L)), Math.exp(-r2 / L)][kernel];
    }
    return out;
  }
  const names = ['distance', 'laplace', 'gaussian', 'gaussian-rfm'];
  for (const mahal of [false, true]) for (let kernel = 0; kernel < 4; kernel++) {
    const out = new Float32Array(n * m);
    nc.pairwise(F(X), n, F(Z), m, d, mahal ? F(M) : null, kernel, L, out);
    close(`pairwise ${names[kernel]}${mahal ? ' with M' : ''}`, out, naive(kernel, mahal), 2e-5 * (kernel === 0 ? 20 : 1));
  }
  // identical points: r2 clamps to exactly >= 0, Laplace gives 1 on the diagonal
  const S = F([0.1, 0.2, 0.3, 1e3, -2e3, 5e2]);
  const self = new Float32Array(4);
  nc.pairwise(S, 2, S, 2, 3, null, 0, 1, self);
  check('pairwise self-distance non-negative', self.every((v) => v >= 0), `[${self}]`);
  throwsWith('pairwise bandwidth -1', () => nc.pairwise(F(X), n, F(Z), m, d, null, 1, -1, new Float32Array(6)),
    RangeError, 'pairwise: bandwidth must be > 0, got -1');
  throwsWith('pairwise short out', () => nc.pairwise(F(X), n, F(Z), m, d, null, 0, 1, new Float32Array(5)),
    RangeError, "pairwise: argument 'out' has 5 elements, needs at least 6 (3x2)");
}

// ---------------------------------------------------------------------------
// Row-wise ops
// ---------------------------------------------------------------------------
{
  const x = F([3, 4, 0, 0, 0, 0, 1, 2, 2]); // 3x3
  const norms = new Float32Array(3);
  nc.rowNorms(x, 3, 3, norms, false);
  close('rowNorms', norms, [5, 0, 3], 1e-6);
  nc.rowNorms(x, 3, 3, norms, true);
  close('rowNorms squared', norms, [25, 0, 9], 1e-5);
  const out = new Float32Array(9);
  nc.rowNormalize(x, 3, 3, out);
  close('rowNormalize (zero row stays zero)', out, [0.6, 0.8, 0, 0, 0, 0, 1 / 3, 2 / 3, 2 / 3], 1e-6);
  const inplace = F(x);
  nc.rowNormalize(inplace, 3, 3, inplace);
  close('rowNormalize in place', inplace, out, 0);
  const dots = new Float32Array(3);
  nc.rowDot(x, F([1, 1, 1, 5, 5, 5, -1, 0, 1]), 3, 3, dots);
  close('rowDot', dots, [7, 0, 1], 1e-6);
}

// ---------------------------------------------------------------------------
// Elementwise ops
// ---------------------------------------------------------------------------
{
  const x = F([-1, 0, 0.5, 2]);
  const out = new Float32Array(4);
  nc.unary(0, x, out, 0);
  close('unary relu', out, [0, 0, 0.5, 2], 0);
  nc.unary(1, x, out, 0);
  close('unary cos', out, [-1, 0, 0.5, 2].map(Math.cos), 1e-6);
  nc.unary(2, x, out, -3);
  close('unary scale', out, [3, 0, -1.5, -6], 0);
  nc.unary(3, x, out, 0);
  close('unary exp', out, [-1, 0, 0.5, 2].map(Math.exp), 1e-6);
  const alias = F(x);
  nc.unary(0, alias, alias, 0);
  close('unary relu in place', alias, [0, 0, 0.5, 2], 0);
  throwsWith('unary bad op', () => nc.unary(7, x, out, 0), RangeError, "unary: argument 'op' must be 0");

  const y = F([1, 1, 1, 1]);
  nc.axpy(2, x, y, out);
  close('axpy', out, [-1, 1, 2, 5], 0);
  nc.axpy(2, x, y, y);
  close('axpy out = y', y, [-1, 1, 2, 5], 0);
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------
{
  const x = F([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 4x3
  const cs = new Float32Array(3);
  nc.colSums(x, 4, 3, cs);
  close('colSums', cs, [22, 26, 30], 0);
  // a tall input that goes through the thread pool
  const rows = 70000, cols = 3;
  const big = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) { big[i * cols] = 1; big[i * cols + 1] = 0.5; big[i * cols + 2] = i % 2 ? 1 : -1; }
  const bs = new Float32Array(cols);
  nc.colSums(big, rows, cols, bs);
  close('colSums 70000 rows', bs, [70000, 35000, 0], 0);

  const labels = Int32Array.from([1, 0, 1, 2]);
  const cls = new Float32Array(9);
  nc.classSums(x, 4, 3, labels, 3, cls);
  close('classSums', cls, [4, 5, 6, 8, 10, 12, 10, 11, 12], 0);
  throwsWith('classSums bad label', () => nc.classSums(x, 4, 3, Int32Array.from([0, 1, 5, 0]), 3, cls),
    RangeError, /^classSums: .*labels\[2\] = 5/);
  const dev = nc.classDeviations(x, 4, 3, labels, 3, F([4, 5, 6, 4, 5, 6, 10, 11, 12]));
  close('classDeviations sums', dev.sums, [0, 0, 0, 0, 0, 0, 0, 0, 0], 0);
  close('classDeviations sq', dev.sq, [0, 54, 0], 0);
  throwsWith('classDeviations bad label', () => nc.classDeviations(x, 4, 3, Int32Array.from([0, 1, 5, 0]), 3, new Float32Array(9)),
    RangeError, /^classDeviations: .*labels\[2\] = 5/);

  check('max', nc.max(F([-3, 7.5, 2])) === 7.5);
  check('max with NaN', Number.isNaN(nc.max(F([1, NaN, 2]))));
  check('max empty', nc.max(new Float32Array(0)) === -Infinity);
  const bigMax = new Float32Array(300000).fill(-1);
  bigMax[123457] = 42;
  check('max threaded', nc.max(bigMax) === 42);
  const nf = new Float32Array(300000);
  nf[5] = NaN; nf[200000] = Infinity; nf[299999] = -Infinity;
  check('countNonFinite', nc.countNonFinite(nf) === 3 && nc.countNonFinite(F([1, 2])) === 0);
}

// ---------------------------------------------------------------------------
// Mixed-precision kernel systems
// ---------------------------------------------------------------------------
{
  const spd = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2];
  const B = [1, 2, 0, 1, -1, 3]; // 3x2
  const r = nc.mixedSolve(F(spd), 3, F(B), 2, 0.5, 30);
  const shifted = spd.map((v, i) => (i % 4 === 0 ? v + 0.5 : v));
  close('mixedSolve ridge 0.5: (A + 0.5 I) X = B', matmul(shifted, r.x, 3, 3, 2), B, 1e-6);
  close('mixedSolve fitted = A X', r.fitted, matmul(spd, r.x, 3, 3, 2), 1e-6);
  check('mixedSolve converges', r.status === 'converged' && r.residual < 1e-6 && r.shift === 0, JSON.stringify(r.status));
  const q = nc.symmetricResidual(F(spd), 3, r.x, 2, F(B), 0.5);
  check('symmetricResidual of that solve', q.residual < 1e-6, String(q.residual));
  throwsWith('mixedSolve short a throws', () => nc.mixedSolve(F([1, 2]), 3, F(B), 2, 0, 30), RangeError, /'a' has 2 elements, needs 9/);
}

// ---------------------------------------------------------------------------
// LAPACK
// ---------------------------------------------------------------------------
for (const [dtype, Arr, tol] of [['f64', D, 1e-10], ['f32', F, 2e-4]]) {
  // solve
  const spd = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2];
  const B = [1, 2, 0, 1, -1, 3]; // 3x2
  {
    const r = nc.solve(Arr(spd), 3, Arr(B), 2, 'cholesky');
    close(`solve ${dtype} SPD cholesky: A X = B`, matmul(spd, r.x, 3, 3, 2), B, tol);
    check(`solve ${dtype} SPD method`, r.method === 'cholesky' && r.rcond > 0 && r.rcond <= 1 && r.x instanceof (dtype === 'f64' ? Float64Array : Float32Array), JSON.stringify({ m: r.method, rc: r.rcond }));
    const ra = nc.solve(Arr(spd), 3, Arr(B), 2, 'auto');
    check(`solve ${dtype} SPD auto -> cholesky`, ra.method === 'cholesky', ra.method);
  }
  {
    // f32 arrays factored in f64 with a ridge added there: (A + 0.5 I) X = B, X comes back as f32
    const r = nc.solve(Arr(spd), 3, Arr(B), 2, 'auto', 'f64', 0.5);
    const shifted = spd.map((v, i) => (i % 4 === 0 ? v + 0.5 : v));
    close(`solve ${dtype} promoted, ridge 0.5: (A + 0.5 I) X = B`, matmul(shifted, r.x, 3, 3, 2), B, dtype === 'f64' ? tol : 1e-6);
    check(`solve ${dtype} promoted keeps the array type`, r.x instanceof (dtype === 'f64' ? Float64Array : Float32Array));
    throwsWith(`solve ${dtype} negative ridge throws`, () => nc.solve(Arr(spd), 3, Arr(B), 2, 'auto', 'f64', -1), RangeError, /ridge must be a finite number >= 0/);
  }
  {
    const ind = [1, 2, 0, 2, 1, 0, 0, 0, 3]; // symmetric indefinite
    const r = nc.solve(Arr(ind), 3, Arr(B), 2, 'auto');
    check(`solve ${dtype} indefinite auto -> lu`, r.method === 'lu', r.method);
    close(`solve ${dtype} indefinite: A X = B`, matmul(ind, r.x, 3, 3, 2), B, tol);
    throwsWith(`solve ${dtype} indefinite cholesky throws`, () => nc.solve(Arr(ind), 3, Arr(B), 2, 'cholesky'),
      Error, /^solve: matrix is not positive definite \(LAPACK potrf info=\d+\); add a ridge or use method 'lu'$/);
    const ns = [2, 1, 0, -1, 3, 1, 0.5, 0, 1]; // non-symmetric
    const rl = nc.solve(Arr(ns), 3, Arr(B), 2, 'lu');
    close(`solve ${dtype} non-symmetric lu: A X = B`, matmul(ns, rl.x, 3, 3, 2), B, tol);
    const rn = nc.solve(Arr(ns), 3, Arr(B), 2, 'auto');
    check(`solve ${dtype} non-symmetric auto -> lu`, rn.method === 'lu', rn.method);
  }
  {
    const sing = [1, 2, 3, 2, 4, 6, 1, 0, 1];
    throwsWith(`solve ${dtype} singular throws`, () => nc.solve(Arr(sing), 3, Arr(B), 2, 'auto'), Error,
      /^solve: matrix is singular to working precision \(rcond=.*, LAPACK (getrf|potrf) info=\d+\); add a ridge \(lambda > 0\) or solve in f64$/);
    const singSym = [1, 2, 2, 4];
    throwsWith(`solve ${dtype} singular symmetric throws`, () => nc.solve(Arr(singSym), 2, Arr([1, 1]), 1), Error, /add a ridge \(lambda > 0\)/);
    const a = Arr(spd), b = Arr(B);
    nc.solve(a, 3, b, 2, 'lu');
    check(`solve ${dtype} leaves inputs unchanged`, maxAbsDiff(a, Arr(spd)) === 0 && maxAbsDiff(b, Arr(B)) === 0);
    const e = nc.solve(Arr([]), 0, Arr([]), 0);
    check(`solve ${dtype} n=0`, e.x.length === 0);
  }

  // eigh
  {
    const A = [4, 1, -2, 1, 2, 0, -2, 0, 3];
    const { values, vectors } = nc.eigh(Arr(A), 3);
    check(`eigh ${dtype} ascending`, values[0] <= values[1] && values[1] <= values[2], `[${values}]`);
    close(`eigh ${dtype} V diag(w) V^T = A`, matmul(diagScaleCols(vectors, 3, 3, values), transpose(vectors, 3, 3), 3, 3, 3), A, tol * 10);
    close(`eigh ${dtype} V^T V = I`, matmul(transpose(vectors, 3, 3), vectors, 3, 3, 3), eye(3), tol * 10);
    // A V[:, j] = w_j V[:, j]
    const AV = matmul(A, vectors, 3, 3, 3);
    close(`eigh ${dtype} A v_j = w_j v_j`, AV, diagScaleCols(vectors, 3, 3, values), tol * 10);
  }

  // svd (square, wide, tall)
  for (const [m, n] of [[3, 3], [3, 5], [5, 3]]) {
    const A = Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.7 + 0.3) * 2 + (i % 3));
    const r = Math.min(m, n);
    const { u, s, vt } = nc.svd(Arr(A), m, n);
    check(`svd ${dtype} ${m}x${n} shapes`, u.length === m * r && s.length === r && vt.length === r * n);
    let desc = true;
    for (let i = 1; i < r; i++) desc = desc && s[i - 1] >= s[i] && s[i] >= 0;
    check(`svd ${dtype} ${m}x${n} s descending`, desc, `[${s}]`);
    close(`svd ${dtype} ${m}x${n} U diag(s) Vt = A`, matmul(diagScaleCols(u, m, r, s), vt, m, r, n), A, tol * 10);
    close(`svd ${dtype} ${m}x${n} U^T U = I`, matmul(transpose(u, m, r), u, r, m, r), eye(r), tol * 10);
    close(`svd ${dtype} ${m}x${n} Vt Vt^T = I`, matmul(vt, transpose(vt, r, n), r, n, r), eye(r), tol * 10);
  }

  // qr (tall, wide)
  for (const [m, n] of [[5, 3], [3, 5], [3, 3]]) {
    const A = Array.from({ length: m * n }, (_, i) => Math.cos(i * 0.9) * 3 + (i % 4) - 1);
    const r = Math.min(m, n);
    const { q, r: R } = nc.qr(Arr(A), m, n);
    check(`qr ${dtype} ${m}x${n} shapes`, q.length === m * r && R.length === r * n);
    close(`qr ${dtype} ${m}x${n} Q R = A`, matmul(q, R, m, r, n), A, tol * 10);
    close(`qr ${dtype} ${m}x${n} Q^T Q = I`, matmul(transpose(q, m, r), q, r, m, r), eye(r), tol * 10);
    let upper = true;
    for (let i = 0; i < r; i++) for (let j = 0; j < Math.min(i, n); j++) upper = upper && R[i * n + j] === 0;
    check(`qr ${dtype} ${m}x${n} R upper triangular`, upper);
  }

  // pinv: Moore-Penrose conditions, full rank and rank deficient
  for (const [label, m, n, A] of [
    ['4x3 full rank', 4, 3, [1, 2, 0, 0, 1, 1, 2, 0, 1, 1, 1, 1]],
    ['3x4 rank 2', 3, 4, [1, 2, 3, 4, 2, 4, 6, 8, 0, 1, 0, 1]],
  ]) {
    const P = nc.pinv(Arr(A), m, n, 0);
    check(`pinv ${dtype} ${label} shape`, P.length === n * m);
    close(`pinv ${dtype} ${label} A P A = A`, matmul(matmul(A, P, m, n, m), A, m, m, n), A, tol * 20);
    close(`pinv ${dtype} ${label} P A P = P`, matmul(matmul(P, A, n, m, n), P, n, n, m), P, tol * 20);
    const AP = matmul(A, P, m, n, m);
    close(`pinv ${dtype} ${label} (A P)^T = A P`, transpose(AP, m, m), AP, tol * 20);
  }

  // pinvSym on a singular symmetric matrix
  {
    const A = [2, 1, 3, 1, 1, 2, 3, 2, 5]; // rank 2 (row3 = row1 + row2)
    const P = nc.pinvSym(Arr(A), 3, 0);
    close(`pinvSym ${dtype} A P A = A`, matmul(matmul(A, P, 3, 3, 3), A, 3, 3, 3), A, tol * 50);
    close(`pinvSym ${dtype} P A P = P`, matmul(matmul(P, A, 3, 3, 3), P, 3, 3, 3), P, tol * 50);
    close(`pinvSym ${dtype} symmetric`, transpose(P, 3, 3), P, 0);
  }

  // gramRows: the Gram of the 2 x 2 column block [1, 3) of a 2 x 4 matrix (row stride 4)
  {
    const A = [9, 1, 2, 9, 9, 3, 4, 9];
    const G = nc.gramRows(Arr(A), 2, 2, 4, 1);
    close(`gramRows ${dtype} block Gram`, Array.from(G), [5, 11, 11, 25], tol);
    throwsWith(`gramRows ${dtype} bad lda`, () => nc.gramRows(Arr(A), 2, 3, 2, 0), RangeError, /lda/);
  }

  // sqrtPsd
  {
    const A = [5, 2, 1, 2, 4, 0.5, 1, 0.5, 3];
    const { root, clipped } = nc.sqrtPsd(Arr(A), 3);
    close(`sqrtPsd ${dtype} R R = A`, matmul(root, root, 3, 3, 3), A, tol * 10);
    check(`sqrtPsd ${dtype} symmetric, clipped 0`, maxAbsDiff(transpose(root, 3, 3), root) === 0 && clipped === 0, `clipped=${clipped}`);
    const ind = [1, 0, 0, -2]; // eigenvalues -2, 1
    const r2 = nc.sqrtPsd(Arr(ind), 2);
    check(`sqrtPsd ${dtype} clips negative eigenvalue`, r2.clipped === 1, `clipped=${r2.clipped}`);
    close(`sqrtPsd ${dtype} clipped root`, r2.root, [1, 0, 0, 0], tol);
  }
}

// sqrtPsd of an f32 matrix computed in double: f32 out, as accurate as the f64 path up to that
// rounding, where f32 arithmetic loses the small eigenvalues
{
  const n = 24;
  // A = Q diag(lambda) Q^T with eigenvalues from 1 down to 1e-7 and Q from a QR of a fixed matrix
  const { q } = nc.qr(Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 1.7 + 0.3)), n, n);
  const A = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const lambda = 10 ** (-7 * k / (n - 1));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] += lambda * q[i * n + k] * q[j * n + k];
  }
  const a32 = Float32Array.from(A);
  const ref = nc.sqrtPsd(Float64Array.from(a32), n).root;
  const mixed = nc.sqrtPsd(a32, n, 'f64');
  const single = nc.sqrtPsd(a32, n, 'f32');
  const err = (r) => maxAbsDiff(Array.from(r), Array.from(ref));
  check('sqrtPsd f32 in, f64 inside: returns a Float32Array', mixed.root instanceof Float32Array, String(mixed.root?.constructor?.name));
  check('sqrtPsd f32 in, f64 inside: within f32 rounding of the f64 root', err(mixed.root) < 1e-6, `max diff ${err(mixed.root)}`);
  check('sqrtPsd f32 arithmetic is less accurate on small eigenvalues', err(single.root) > 10 * err(mixed.root), `f32 ${err(single.root)} vs ${err(mixed.root)}`);
  throwsWith('sqrtPsd bad precision', () => nc.sqrtPsd(a32, n, 'f16'), RangeError, /'precision' must be 'f32' or 'f64'/);
  throwsWith('sqrtPsd f32 precision on f64', () => nc.sqrtPsd(Float64Array.from(a32), n, 'f32'), RangeError, /needs a Float32Array/);
}

// ---------------------------------------------------------------------------
// Async variants
// ---------------------------------------------------------------------------
{
  const A = F([1, 2, 3, 4]), B = F([5, 6, 7, 8]);
  const c = new Float32Array(4);
  const p = nc.gemmAsync(false, false, 2, 2, 2, 1, A, B, 0, c, 1, 0, 0, 0);
  check('gemmAsync returns a Promise', p instanceof Promise);
  const v = await p;
  check('gemmAsync resolves undefined', v === undefined);
  close('gemmAsync result', c, [19, 22, 43, 50], 0);
  await rejectsWith('gemmAsync rejects on bad args', nc.gemmAsync(false, false, 3, 2, 4, 1, new Float32Array(10), new Float32Array(8), 0, new Float32Array(6), 1, 0, 0, 0),
    RangeError, "gemm: argument 'a' has 10 elements, needs at least 12 (batch 1, 3x4)");
  const cd = new Float32Array(4);
  await nc.sgemmDirectAsync(false, false, 2, 2, 2, 1, A, B, 0, cd, 1, 0, 0, 0);
  close('sgemmDirectAsync result', cd, [19, 22, 43, 50], 0);

  const spd = D([4, 1, 1, 3]);
  const r = await nc.solveAsync(spd, 2, D([1, 2]), 1, 'auto');
  check('solveAsync resolves', r.method === 'cholesky' && Math.abs(4 * r.x[0] + r.x[1] - 1) < 1e-12 && Math.abs(r.x[0] + 3 * r.x[1] - 2) < 1e-12);
  await rejectsWith('solveAsync singular rejects', nc.solveAsync(F([1, 2, 2, 4]), 2, F([1, 1]), 1, 'lu'), Error,
    /^solve: matrix is singular to working precision .*add a ridge/);
  await rejectsWith('pairwiseAsync bandwidth rejects', nc.pairwiseAsync(F([1]), 1, F([1]), 1, 1, null, 2, 0, new Float32Array(1)),
    RangeError, 'pairwise: bandwidth must be > 0, got 0');
  await rejectsWith('classSumsAsync bad label rejects', nc.classSumsAsync(F([1, 2]), 2, 1, Int32Array.from([0, -1]), 1, new Float32Array(1)),
    RangeError, /^classSums: .*labels\[1\] = -1/);

  // Several async calls in flight at once (pool contention), plus the rest.
  const x = new Float32Array(400 * 64).map((_, i) => Math.sin(i));
  const outs = [0, 1, 2].map(() => new Float32Array(400 * 400));
  await Promise.all(outs.map((o, i) => nc.pairwiseAsync(x, 400, x, 400, 64, null, i, 2, o)));
  const ref = new Float32Array(400 * 400);
  nc.pairwise(x, 400, x, 400, 64, null, 2, 2, ref);
  close('pairwiseAsync x3 concurrently', outs[2], ref, 0);
  const e = await nc.eighAsync(D([2, 1, 1, 2]), 2);
  close('eighAsync', e.values, [1, 3], 1e-12);
  const sv = await nc.svdAsync(D([3, 0, 0, 4]), 2, 2);
  close('svdAsync', sv.s, [4, 3], 1e-12);
  const q = await nc.qrAsync(D([1, 0, 0, 1]), 2, 2);
  close('qrAsync', matmul(q.q, q.r, 2, 2, 2), [1, 0, 0, 1], 1e-12);
  close('pinvAsync', await nc.pinvAsync(D([2, 0, 0, 4]), 2, 2), [0.5, 0, 0, 0.25], 1e-12);
  close('pinvSymAsync', await nc.pinvSymAsync(D([2, 0, 0, 4]), 2), [0.5, 0, 0, 0.25], 1e-12);
  close('sqrtPsdAsync', (await nc.sqrtPsdAsync(D([4, 0, 0, 9]), 2)).root, [2, 0, 0, 3], 1e-12);
  const n3 = new Float32Array(2);
  await nc.rowNormsAsync(F([3, 4, 6, 8]), 2, 2, n3, false);
  close('rowNormsAsync', n3, [5, 10], 1e-6);
  check('maxAsync / countNonFiniteAsync', (await nc.maxAsync(F([1, 9, 3]))) === 9 && (await nc.countNonFiniteAsync(F([NaN, 1]))) === 1);
  const o2 = new Float32Array(2);
  await nc.unaryAsync(0, F([-1, 1]), o2, 0);
  await nc.axpyAsync(1, o2, F([1, 1]), o2);
  close('unaryAsync + axpyAsync', o2, [1, 2], 0);
  const o3 = new Float32Array(2);
  await nc.rowNormalizeAsync(F([3, 4]), 1, 2, o3);
  await nc.rowDotAsync(o3, o3, 1, 2, o3.subarray(0, 1).slice());
  await nc.colSumsAsync(F([1, 2, 3, 4]), 2, 2, o2);
  close('rowNormalizeAsync / colSumsAsync', [...o3, ...o2], [0.6, 0.8, 4, 6], 1e-6);
}

// ---------------------------------------------------------------------------
// Timing: pairwise Laplace vs a bare sgemm of the same shape
// ---------------------------------------------------------------------------
{
  const N = 2000, d = 784;
  const X = new Float32Array(N * d);
  for (let i = 0; i < X.length; i++) X[i] = Math.sin(i * 0.37) * 0.1;
  const Z = X.slice();
  const out = new Float32Array(N * N);
  const best = (fn) => {
    fn();
    let b = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      fn();
      b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return b;
  };
  const tGemm = best(() => nc.sgemmDirect(false, true, N, N, d, -2, X, Z, 0, out, 1, 0, 0, 0));
  const tPair = best(() => nc.pairwise(X, N, Z, N, d, null, 1, 10, out));
  const ratio = tPair / tGemm;
  console.log(`     timing ${N}x${N}x${d}: pairwise laplace ${tPair.toFixed(1)} ms, sgemmDirect ${tGemm.toFixed(1)} ms, ratio ${ratio.toFixed(2)}x`);
  check('pairwise laplace within 2x of sgemm', ratio <= 2, `ratio ${ratio.toFixed(2)}`);
}

console.log(`${failures === 0 ? 'ALL OK' : `${failures} FAILED`} (${checks} checks)`);
process.exitCode = failures === 0 ? 0 : 1;
