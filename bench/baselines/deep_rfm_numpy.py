#!/usr/bin/env python3
"""Deep RFM written with plain numpy: the baseline for bench/rfm.ts.

The same algorithm and phases as ncgpu's DeepRfm with its defaults (Laplace kernel, ridgeless,
max-normalized AGOP over the training points of the M = I predictor, whose train and test
accuracy is the layer's, ReLU random features), in float32 with the solve and the square root in
float64:

  python3 deep_rfm_numpy.py X.npy y.npy T.npy yt.npy LAYERS WIDTH [BANDWIDTH] [SEED]

prints one JSON line: seconds per phase summed over the layers, and per layer.
numpy has no Cholesky solve of its own, so the solves use np.linalg.solve (LU).
"""
import json
import sys
import time

import numpy as np

PHASES = ["normalize", "kernel", "solve", "agop", "predict", "sqrt", "featureMap", "metrics"]
AGOP_MEMORY_BYTES = 256 * 2**20


def normalize_rows(a):
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return (a / norms).astype(np.float32, copy=False)


def sq_dist(a, b, m=None):
    """||a_i - b_j||_M^2 in the GEMM form, clamped at 0."""
    am = a if m is None else a @ m
    bm = b if m is None else b @ m
    sa = np.einsum("ij,ij->i", am, a)
    sb = np.einsum("ij,ij->i", bm, b)
    d2 = am @ b.T
    d2 *= -2
    d2 += sa[:, None]
    d2 += sb[None, :]
    np.maximum(d2, 0, out=d2)
    return d2


def laplace(a, b, bandwidth, m=None):
    d2 = sq_dist(a, b, m)
    np.sqrt(d2, out=d2)
    d2 *= -1.0 / bandwidth
    np.exp(d2, out=d2)
    return d2


def solve(k, y):
    return np.linalg.solve(k.astype(np.float64), y.astype(np.float64)).astype(np.float32)


def agop(x, alpha, bandwidth):
    """sum over training points and outputs of grad f_c grad f_c^T, in point batches."""
    n, d = x.shape
    k = alpha.shape[1]
    batch = max(1, AGOP_MEMORY_BYTES // (4 * (n + k * d + d + k)))
    g = np.zeros((d, d), np.float64)
    for i0 in range(0, n, batch):
        p = x[i0 : i0 + batch]
        b = p.shape[0]
        r = sq_dist(p, x)
        np.sqrt(r, out=r)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.exp(-r / bandwidth) / r
        w[r < 1e-10] = 0
        w[np.arange(b), i0 + np.arange(b)] = 0
        walpha = w @ alpha
        for c in range(k):
            jac = w @ (alpha[:, c : c + 1] * x)
            jac -= walpha[:, c : c + 1] * p
            g += jac.T @ jac
    return g / bandwidth**2


def sqrt_psd(m):
    vals, vecs = np.linalg.eigh(m.astype(np.float64))
    vals = np.sqrt(np.clip(vals, 0, None))
    return ((vecs * vals) @ vecs.T).astype(np.float32)


def collapse(x, y, k):
    """NC1 = tr(Sigma_W) / tr(Sigma_B) and NC2 (class-mean Gram vs the simplex ETF)."""
    n = x.shape[0]
    means = np.stack([x[y == c].astype(np.float64).mean(axis=0) for c in range(k)])
    tr_w = sum(((x[y == c] - means[c]) ** 2).sum() for c in range(k)) / n
    centered = means - means.mean(axis=0)
    tr_b = (centered**2).sum() / k
    u = centered / np.linalg.norm(centered, axis=1, keepdims=True)
    etf = np.eye(k) * (1 + 1 / (k - 1)) - np.ones((k, k)) / (k - 1)
    return tr_w / tr_b, float(((u @ u.T - etf) ** 2).mean())


def accuracy(pred, y):
    return float((pred.argmax(axis=1) == y).mean())


def main():
    xp, yp, tp, typ, layers, width = sys.argv[1:7]
    bandwidth = float(sys.argv[7]) if len(sys.argv) > 7 else 2.0
    seed = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    x = np.load(xp).astype(np.float32)
    y = np.load(yp).astype(np.int64)
    t = np.load(tp).astype(np.float32)
    yt = np.load(typ).astype(np.int64)
    layers, width = int(layers), int(width)
    k = int(y.max()) + 1
    n = x.shape[0]
    targets = -np.ones((n, k), np.float32)
    targets[np.arange(n), y] = 1
    rng = np.random.default_rng(seed)

    mean = x.mean(axis=0)
    std = x.std(axis=0)
    inv = np.where(std > 1e-6 * np.abs(x).max(axis=0), 1 / np.where(std > 0, std, 1), 0).astype(np.float32)
    x = ((x - mean) * inv).astype(np.float32)
    t = ((t - mean) * inv).astype(np.float32)

    per_layer = []
    totals = dict.fromkeys(PHASES, 0.0)
    for _ in range(layers):
        sec = dict.fromkeys(PHASES, 0.0)
        clock = [time.perf_counter()]

        def lap(name):
            now = time.perf_counter()
            sec[name] += now - clock[0]
            clock[0] = now

        x = normalize_rows(x)
        t = normalize_rows(t)
        lap("normalize")
        collapse(x, y, k)
        lap("metrics")
        kxx = laplace(x, x, bandwidth)
        lap("kernel")
        alpha = solve(kxx, targets)
        lap("solve")
        accuracy(kxx @ alpha, y)
        del kxx
        accuracy(laplace(t, x, bandwidth) @ alpha, yt)
        lap("predict")
        g = agop(x, alpha, bandwidth)
        m = (g / g.max()).astype(np.float32)
        lap("agop")
        s = sqrt_psd(m)
        lap("sqrt")
        mx = x @ s
        mt = t @ s
        lap("featureMap")
        collapse(mx, y, k)
        lap("metrics")
        d = mx.shape[1]
        w = rng.uniform(-1 / np.sqrt(d), 1 / np.sqrt(d), (width, d)).astype(np.float32)
        x = np.maximum(mx @ w.T, 0)
        t = np.maximum(mt @ w.T, 0)
        lap("featureMap")
        collapse(x, y, k)
        lap("metrics")
        per_layer.append(sec)
        for p in PHASES:
            totals[p] += sec[p]
    totals["total"] = sum(totals[p] for p in PHASES)
    print(json.dumps({"numpy": np.__version__, "layers": layers, "n": n, "seconds": totals, "perLayer": per_layer}))


if __name__ == "__main__":
    main()
