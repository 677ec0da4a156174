"""Plain-numpy baseline for the MLP training step of bench/nn.ts.

The same step as ncgpu's trainer on a bias-free ReLU MLP (inputs -> width x depth -> K), in
float32: gather a random mini-batch of `batch` rows from an n x inputs training set, forward
(h_{l+1} = relu(h_l W_l^T), logits = h_L W_head^T), MSE loss (1/B) sum ||z - y||^2 with
gradient 2 (z - y) / B, backward (dW = dZ^T h, dh = dZ W, masked by h > 0), plain SGD update.
The loss of each step is kept as a numpy scalar (no print), like ncgpu's device-side history.

Usage: python3 mlp_step_numpy.py inputs width depth classes batch [seconds]
Prints one JSON line: {"inputs", "width", "depth", "classes", "batch", "steps", "seconds",
"stepsPerSecond", "samplesPerSecond", "numpy", "blas"}.
"""
import json
import sys

import numpy as np

from step_timing import blas_name, time_steps


def main():
    d, width, depth, k, batch = (int(v) for v in sys.argv[1:6])
    budget = float(sys.argv[6]) if len(sys.argv) > 6 else 2.0
    n = max(1000, batch)
    rng = np.random.default_rng(0)
    X = rng.random((n, d), dtype=np.float32)
    labels = rng.integers(0, k, n)
    Y = np.eye(k, dtype=np.float32)[labels]
    sizes = [d] + [width] * depth
    W = [(rng.standard_normal((sizes[l + 1], sizes[l])) * (0.3 / np.sqrt(sizes[l]))).astype(np.float32) for l in range(depth)]
    W.append((rng.standard_normal((k, width)) / np.sqrt(3 * width)).astype(np.float32))
    lr = np.float32(1e-3)
    losses = []

    def step():
        idx = rng.integers(0, n, batch)
        h = [X[idx]]
        for l in range(depth):
            h.append(np.maximum(h[-1] @ W[l].T, 0))
        z = h[-1] @ W[depth].T
        diff = z - Y[idx]
        losses.append(np.sum(diff * diff) / batch)
        dz = diff * np.float32(2 / batch)
        grads = [None] * (depth + 1)
        grads[depth] = dz.T @ h[depth]
        g = dz @ W[depth]
        for l in range(depth - 1, -1, -1):
            g = g * (h[l + 1] > 0)
            grads[l] = g.T @ h[l]
            if l > 0:
                g = g @ W[l]
        for l in range(depth + 1):
            W[l] -= lr * grads[l]

    steps, elapsed = time_steps(step, budget)
    print(json.dumps({
        "inputs": d, "width": width, "depth": depth, "classes": k, "batch": batch,
        "steps": steps, "seconds": elapsed, "stepsPerSecond": steps / elapsed, "samplesPerSecond": steps * batch / elapsed,
        "numpy": np.__version__, "blas": blas_name(),
    }))


if __name__ == "__main__":
    main()
