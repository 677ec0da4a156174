/**
 * The reduced ODE of the deep UFM under Hadamard initialization (SPEC section 3), and an
 * adaptive Dormand-Prince 5(4) integrator for it.
 *
 * Derivation. Take the Hadamard initialization of init.ts, and suppose at some time every factor
 * has the form W_l = E A_l E^T (l < L), W_L = U A_L E^T, H = E A_0 U Y^T / sqrt(n) with diagonal
 * A_l = diag(a^(l)). Then Z = U diag(sigma) U Y^T with sigma_k = prod_l a_k^(l) / sqrt(n), so the
 * logit column of every sample of class c is z_c = U diag(sigma) U e_c, the class-mean logit matrix
 * is Zbar = U diag(sigma) U = (1/K) H_K diag(sigma) H_K, and its singular values are |sigma_k|.
 *
 * The softmax is diagonal in the same basis. With H_K(i, j) = (-1)^popcount(i & j),
 * H_K(j, k) H_K(c, k) = H_K(j xor c, k), so z_c(j) = z_0(j xor c): every column is a permutation
 * of z_0 = (1/K) H_K sigma (column 0 of H_K is all ones), and softmax(z_c)(j) = p(j xor c) with
 * p = softmax(H_K sigma / K). A matrix with entries p(j xor c) is (1/K) H_K diag(H_K p) H_K, so
 * softmax(Zbar) = U diag(q) U with q = H_K p, and the CE gradient G = (softmax(Z) - Y^T) / N is
 *
 *   G = (1/N) U diag(q - 1) U Y^T.
 *
 * q_0 = sum_j p_j = 1, so the all-ones mode sigma_0 gets no gradient and never moves; and
 * 1 - q_k = 2 sum_{j : popcount(j & k) odd} p_j >= 0.
 *
 * The gradient of a factor F_l in Z = A F_l B is A^T G B^T. For W_L, B = W_{L-1}...W_1 H =
 * E (A_{L-1}...A_0) U Y^T / sqrt(n); with Y^T Y = n I this gives
 * dW_L = (sqrt(n) / N) U diag((q - 1) prod_{m != L} a^(m)) E^T, again of the assumed form, and the
 * same holds for every factor. So the form is preserved under gradient flow (the singular vectors
 * stay fixed) and, componentwise,
 *
 *   d a_k^(l) / dt = (sqrt(n) / N) (1 - q_k) prod_{m != l} a_k^(m).
 *
 * Then d sigma_k / dt = (1/sqrt(n)) sum_l (d a_k^(l)/dt) prod_{m != l} a_k^(m)
 * = (1/N) (1 - q_k) sum_l (prod_{m != l} a_k^(m))^2. Balanced factors (every |a_k^(l)| equal to
 * s_k; a_k^(l)^2 - a_k^(m)^2 is conserved, so balance at t = 0 lasts) have
 * (prod_{m != l} a_k^(m))^2 = s_k^(2P - 2) for each of the P = L + 1 factors, and
 * s_k^P = sqrt(n) |sigma_k|, so with N = K n
 *
 *   d sigma_k / dt = (P / N) n^((P - 1)/P) |sigma_k|^(2 - 2/P) (1 - q_k)
 *                  = C |sigma_k|^(2 - 2/P) (1 - q_k),   C = P / (K n^(1/P)),
 *
 * for k = 1..K-1, with t = learning rate x steps for gradient descent on (1/N) sum CE.
 *
 * Signs: the sign of sigma_k is carried by W_L (init.ts), and the squares above make the rate
 * independent of it; that is why the ODE has |sigma_k|. Since 1 - q_k >= 0, every sigma_k
 * increases: a positive mode grows, a negative one shrinks towards 0 but never crosses it (its
 * rate vanishes there like |sigma_k|^(2 - 2/P)), so every mode keeps its sign. Discrete gradient
 * descent keeps the form and the balance exactly too: every factor of mode k receives the same
 * update up to the sign the mode carries.
 */

/** Which Hadamard index pairs (j, k) have H_K(j, k) = -1, as a flat K x K mask. */
function negativeMask(k: number): Uint8Array {
  const mask = new Uint8Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let x = i & j;
      let parity = 0;
      while (x) {
        parity ^= 1;
        x &= x - 1;
      }
      mask[i * k + j] = parity;
    }
  }
  return mask;
}

/** C = P / (K n^(1/P)) for depth L (P = L + 1). */
export function hadamardOdeConstant(classes: number, nPerClass: number, depth: number): number {
  const P = depth + 1;
  return P / (classes * nPerClass ** (1 / P));
}

/** The sizes the reduced ODE depends on. */
export interface HadamardOdeShape {
  classes: number;
  nPerClass: number;
  depth: number;
}

/**
 * The right-hand side d sigma / dt of the reduced ODE as a reusable function (state sigma_0..
 * sigma_{K-1}; the rate of sigma_0 is 0).
 */
export function hadamardOdeRate(shape: HadamardOdeShape): (sigma: Float64Array, out: Float64Array) => void {
  const { classes: k, nPerClass: n, depth } = shape;
  if (!Number.isInteger(k) || k < 2 || (k & (k - 1)) !== 0) throw new RangeError(`hadamardOde: K must be a power of 2 >= 2, got ${k}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`hadamardOde: 'nPerClass' must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`hadamardOde: 'depth' must be an integer >= 1, got ${depth}`);
  const P = depth + 1;
  const C = hadamardOdeConstant(k, n, depth);
  const exponent = 2 - 2 / P;
  const mask = negativeMask(k);
  const z = new Float64Array(k);
  const p = new Float64Array(k);
  return (sigma, out) => {
    // z_0 = H_K sigma / K
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += mask[j * k + q] ? -sigma[q]! : sigma[q]!;
      z[j] = acc / k;
    }
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, z[j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += p[j] = Math.exp(z[j]! - max);
    for (let j = 0; j < k; j++) p[j] = p[j]! / sum;
    out[0] = 0;
    for (let m = 1; m < k; m++) {
      // 1 - (H_K p)_m = 2 sum of p_j over the -1 entries of row m: no cancellation when p is peaked
      let neg = 0;
      for (let j = 0; j < k; j++) if (mask[m * k + j]) neg += p[j]!;
      out[m] = C * Math.abs(sigma[m]!) ** exponent * 2 * neg;
    }
  };
}

/** Options of the adaptive Dormand-Prince integrator. */
export interface DormandPrinceOptions {
  /** relative tolerance (default 1e-10) */
  rtol?: number;
  /** absolute tolerance (default 1e-12) */
  atol?: number;
  /** first trial step (default: from the size of y and f(y)) */
  initialStep?: number;
  /** give up after this many accepted + rejected steps (default 10^7) */
  maxSteps?: number;
  /** called after every accepted step with (t, y) */
  onStep?: (t: number, y: Float64Array) => void;
}

/** The states of an ODE solve at the requested times, with the accepted and rejected step counts. */
export interface OdeSolution {
  /** the requested output times */
  times: number[];
  /** state at each output time */
  states: Float64Array[];
  accepted: number;
  rejected: number;
}

// Dormand-Prince 5(4) tableau (the system is autonomous, so the nodes c_i are not needed)
const A21 = 1 / 5;
const A31 = 3 / 40, A32 = 9 / 40;
const A41 = 44 / 45, A42 = -56 / 15, A43 = 32 / 9;
const A51 = 19372 / 6561, A52 = -25360 / 2187, A53 = 64448 / 6561, A54 = -212 / 729;
const A61 = 9017 / 3168, A62 = -355 / 33, A63 = 46732 / 5247, A64 = 49 / 176, A65 = -5103 / 18656;
const B1 = 35 / 384, B3 = 500 / 1113, B4 = 125 / 192, B5 = -2187 / 6784, B6 = 11 / 84;
// fifth-order weights minus the embedded fourth-order ones
const E1 = 71 / 57600, E3 = -71 / 16695, E4 = 71 / 1920, E5 = -17253 / 339200, E6 = 22 / 525, E7 = -1 / 40;

/**
 * Integrates y' = f(y) from y0 at t = 0 through the (non-decreasing, non-negative) output times
 * with the Dormand-Prince 5(4) pair: local extrapolation (the fifth-order solution is kept), the
 * error of the embedded fourth-order solution measured against atol + rtol |y| in the RMS norm,
 * a step accepted when that norm is <= 1, the next step scaled by 0.9 err^(-1/5) within
 * [0.2, 5], and first-same-as-last reuse of the final stage. Steps are cut to land on every
 * output time exactly.
 */
export function dormandPrince(
  f: (y: Float64Array, out: Float64Array) => void,
  y0: ArrayLike<number>,
  times: readonly number[],
  options: DormandPrinceOptions = {},
): OdeSolution {
  const { rtol = 1e-10, atol = 1e-12, maxSteps = 1e7, onStep } = options;
  if (!(rtol > 0) || !(atol > 0)) throw new RangeError(`dormandPrince: rtol and atol must be > 0, got ${rtol}, ${atol}`);
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (!Number.isFinite(t) || t < 0 || (i > 0 && t < times[i - 1]!)) {
      throw new RangeError(`dormandPrince: output times must be finite, >= 0 and non-decreasing; time ${i} is ${t}`);
    }
  }
  const n = y0.length;
  let y = Float64Array.from(y0);
  for (let i = 0; i < n; i++) if (!Number.isFinite(y[i]!)) throw new RangeError(`dormandPrince: initial value ${i} is ${y[i]}`);
  const k1 = new Float64Array(n), k2 = new Float64Array(n), k3 = new Float64Array(n), k4 = new Float64Array(n);
  const k5 = new Float64Array(n), k6 = new Float64Array(n), k7 = new Float64Array(n);
  const tmp = new Float64Array(n);
  let yNew = new Float64Array(n);
  f(y, k1);

  const norm = (v: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (v[i]! / (atol + rtol * Math.abs(y[i]!))) ** 2;
    return Math.sqrt(s / n);
  };
  let h = options.initialStep ?? 0;
  if (!(h > 0)) {
    const d0 = norm(y);
    const d1 = norm(k1);
    h = d0 > 1e-5 && d1 > 1e-5 ? 0.01 * (d0 / d1) : 1e-6;
  }

  const states: Float64Array[] = [];
  let t = 0;
  let accepted = 0;
  let rejected = 0;
  for (const target of times) {
    while (t < target) {
      if (accepted + rejected >= maxSteps) {
        throw new Error(`dormandPrince: ${maxSteps} steps were not enough to reach t = ${target} (at t = ${t}); the problem may be stiff or blow up`);
      }
      const last = t + h >= target;
      const step = last ? target - t : h;
      const stage = (out: Float64Array, a: number[], ks: Float64Array[]) => {
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let j = 0; j < a.length; j++) acc += a[j]! * ks[j]![i]!;
          tmp[i] = y[i]! + step * acc;
        }
        f(tmp, out);
      };
      stage(k2, [A21], [k1]);
      stage(k3, [A31, A32], [k1, k2]);
      stage(k4, [A41, A42, A43], [k1, k2, k3]);
      stage(k5, [A51, A52, A53, A54], [k1, k2, k3, k4]);
      stage(k6, [A61, A62, A63, A64, A65], [k1, k2, k3, k4, k5]);
      for (let i = 0; i < n; i++) {
        yNew[i] = y[i]! + step * (B1 * k1[i]! + B3 * k3[i]! + B4 * k4[i]! + B5 * k5[i]! + B6 * k6[i]!);
      }
      f(yNew, k7);
      let errSq = 0;
      let finite = true;
      for (let i = 0; i < n; i++) {
        const e = step * (E1 * k1[i]! + E3 * k3[i]! + E4 * k4[i]! + E5 * k5[i]! + E6 * k6[i]! + E7 * k7[i]!);
        const sc = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(yNew[i]!));
        errSq += (e / sc) ** 2;
        if (!Number.isFinite(yNew[i]!)) finite = false;
      }
      const err = finite ? Math.sqrt(errSq / n) : Infinity;
      if (err <= 1) {
        t = last ? target : t + step;
        [y, yNew] = [yNew, y];
        k1.set(k7);
        accepted++;
        onStep?.(t, y);
        // do not let a short final step (cut to the output time) shrink the next one
        const grow = err === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * err ** -0.2));
        h = last ? Math.max(h, step * grow) : step * grow;
      } else {
        rejected++;
        h = step * (Number.isFinite(err) ? Math.max(0.2, 0.9 * err ** -0.2) : 0.2);
        if (!(h > 1e-300) || t + h === t) throw new Error(`dormandPrince: the step size underflowed at t = ${t}; the solution may blow up there`);
      }
    }
    states.push(Float64Array.from(y));
  }
  return { times: [...times], states, accepted, rejected };
}

/** Options of the reduced ODE: the sizes, the initial sigma, the output times and the integrator. */
export interface HadamardOdeOptions extends HadamardOdeShape, DormandPrinceOptions {
  /** sigma_0..sigma_{K-1} at t = 0 */
  sigma: ArrayLike<number>;
  /** output times (t = learning rate x steps for gradient descent) */
  times: readonly number[];
}

/** sigma(t) of the reduced Hadamard ODE at the requested times. */
export function solveHadamardOde(options: HadamardOdeOptions): OdeSolution {
  const { classes: k, sigma } = options;
  const rate = hadamardOdeRate(options);
  if (!sigma || sigma.length !== k) throw new RangeError(`hadamardOde: 'sigma' must hold K = ${k} values, got ${sigma?.length}`);
  return dormandPrince(rate, sigma, options.times, options);
}
