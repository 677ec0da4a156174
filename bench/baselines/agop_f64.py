"""The f64 AGOP of a Laplace predictor over its own centers, against ncgpu's f32 results.

    python3 agop_f64.py X.npy alpha.npy BANDWIDTH G1.npy [G2.npy ...]

X (n x d) and alpha (n x k) are the f32 inputs ncgpu used; each G is an unnormalized AGOP
(d x d) ncgpu computed from them. Prints one JSON line: the cancellation rho^2 =
sum |T|^2 / sum |J|^2 (T the first term of each Jacobian row, over all centers, X centered)
and each G's relative Frobenius error against the f64 sum of J^T J.
"""
import json
import sys

import numpy as np


def laplace_weights(x, bandwidth):
    sq = (x * x).sum(1)
    r = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r > 1e-10, np.exp(-r / bandwidth) / r, 0.0)
    np.fill_diagonal(w, 0)
    return w


def main():
    x = np.load(sys.argv[1]).astype(np.float64)
    alpha = np.load(sys.argv[2]).astype(np.float64)
    bandwidth = float(sys.argv[3])
    x = x - x.mean(0)
    w = laplace_weights(x, bandwidth)
    s = w @ alpha
    g = np.zeros((x.shape[1], x.shape[1]))
    terms = jacobians = 0.0
    for c in range(alpha.shape[1]):
        t = w @ (alpha[:, c : c + 1] * x)
        j = t - s[:, c : c + 1] * x
        terms += (t * t).sum()
        jacobians += (j * j).sum()
        g += j.T @ j
    g /= bandwidth * bandwidth
    errors = [float(np.linalg.norm(np.load(p).astype(np.float64) - g) / np.linalg.norm(g)) for p in sys.argv[4:]]
    print(json.dumps({"cancellation": terms / jacobians, "relativeErrors": errors, "numpy": np.__version__}))


main()
