"""Baseline for bench/metrics.ts: the same metric formulas written with plain numpy.

Usage: python3 bench/baselines/metrics_numpy.py N p K [repeats]
Prints one JSON object: median seconds per stage and in total, and the metric values.
Random data as in the TypeScript benchmark (class centers plus unit noise, float32).
"""
import json
import sys
import time

import numpy as np


def metrics(X, y, K, W, F):
    out = {}
    t = time.perf_counter()
    N, p = X.shape
    counts = np.bincount(y, minlength=K).astype(np.float64)
    onehot = np.eye(K, dtype=np.float32)[y]
    means = (onehot.T @ X).astype(np.float64) / counts[:, None]
    Xc = X - means.astype(np.float32)[y]
    Sw = (Xc.T @ Xc).astype(np.float64) / N
    muG = means.mean(axis=0)
    M = means - muG
    Sb = M.T @ M / K
    out["classStats"] = time.perf_counter() - t

    t = time.perf_counter()
    nc1 = np.trace(Sw) / np.trace(Sb)
    papyan = np.trace(Sw @ np.linalg.pinv(Sb, hermitian=True)) / K
    out["nc1"] = time.perf_counter() - t

    t = time.perf_counter()
    U = M / np.linalg.norm(M, axis=1, keepdims=True)
    S = (1 + 1 / (K - 1)) * np.eye(K) - np.ones((K, K)) / (K - 1)
    nc2 = np.mean((U @ U.T - S) ** 2)
    out["nc2"] = time.perf_counter() - t

    t = time.perf_counter()
    Wy = W[y]
    cos = np.einsum("ij,ij->i", X, Wy) / (np.linalg.norm(X, axis=1) * np.linalg.norm(Wy, axis=1))
    nc3 = 1 - cos.mean()
    out["nc3"] = time.perf_counter() - t

    t = time.perf_counter()
    A = X - X.mean(axis=0)
    B = F - F.mean(axis=0)
    cka = np.linalg.norm(B.T @ A) ** 2 / (np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B))
    out["cka"] = time.perf_counter() - t
    values = {"nc1": float(nc1), "nc1Papyan": float(papyan), "nc2": float(nc2), "nc3": float(nc3), "cka": float(cka)}
    return out, values


def main():
    N, p, K = (int(a) for a in sys.argv[1:4])
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    rng = np.random.default_rng(1)
    y = rng.integers(0, K, size=N)
    centers = (3 * rng.standard_normal((K, p))).astype(np.float32)
    X = centers[y] + rng.standard_normal((N, p), dtype=np.float32)
    W = rng.standard_normal((K, p), dtype=np.float32)
    F = X @ W.T
    metrics(X, y, K, W, F)  # warm-up
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        stages, values = metrics(X, y, K, W, F)
        stages["total"] = time.perf_counter() - t
        runs.append(stages)
    median = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    print(json.dumps({"N": N, "p": p, "K": K, "numpy": np.__version__, "seconds": median, "values": values}))


if __name__ == "__main__":
    main()
