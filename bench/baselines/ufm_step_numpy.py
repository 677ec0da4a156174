"""Plain-numpy baseline for the deep UFM gradient step of bench/ufm.ts.

The same step as src/ufm/step.ts, in float32, with the same association of the products:
P_l = W_L ... W_l (K x d), Z = P_1 H, G = (softmax(Z) - Y) / N, M_0 = G H^T, M_l = M_{l-1} W_l^T,
then H -= lr P_1^T G, W_l -= lr P_{l+1}^T M_{l-1}, W_L -= lr M_{L-1}. The loss of each step is
kept (as a numpy scalar, no host print), like the device-side history of ncgpu.

Usage: python3 ufm_step_numpy.py K n d L [seconds]
Prints one JSON line: {"classes", "nPerClass", "width", "depth", "steps", "seconds", "stepsPerSecond", "numpy", "blas"}.
"""
import json
import sys

import numpy as np

from step_timing import blas_name, time_steps


def main():
    k, n, d, depth = (int(v) for v in sys.argv[1:5])
    budget = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    N = k * n
    rng = np.random.default_rng(0)
    std = np.float32(0.3 / np.sqrt(d))
    H = (rng.standard_normal((d, N)) * std).astype(np.float32)
    W = [(rng.standard_normal((d, d)) * std).astype(np.float32) for _ in range(depth - 1)]
    W.append((rng.standard_normal((k, d)) * std).astype(np.float32))
    labels = np.arange(N) // n
    cols = np.arange(N)
    lr = np.float32(1e-3)
    losses = []

    def step():
        nonlocal H
        P = [None] * (depth + 2)
        P[depth] = W[depth - 1]
        for l in range(depth - 1, 0, -1):
            P[l] = P[l + 1] @ W[l - 1]
        Z = P[1] @ H
        m = Z.max(axis=0)
        E = np.exp(Z - m)
        s = E.sum(axis=0)
        losses.append(np.mean(np.log(s) + m - Z[labels, cols]))
        G = E / s
        G[labels, cols] -= 1
        G /= N
        M = [G @ H.T]
        for l in range(1, depth):
            M.append(M[l - 1] @ W[l - 1].T)
        H -= lr * (P[1].T @ G)
        for l in range(1, depth):
            W[l - 1] -= lr * (P[l + 1].T @ M[l - 1])
        W[depth - 1] -= lr * M[depth - 1]

    steps, elapsed = time_steps(step, budget)
    print(json.dumps({
        "classes": k, "nPerClass": n, "width": d, "depth": depth,
        "steps": steps, "seconds": elapsed, "stepsPerSecond": steps / elapsed,
        "numpy": np.__version__, "blas": blas_name(),
    }))


if __name__ == "__main__":
    main()
