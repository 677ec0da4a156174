"""Shared by the step baselines (ufm_step_numpy.py, mlp_step_numpy.py): which BLAS numpy uses,
and steps per second of a step function over a time budget."""
import time

import numpy as np


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: no dict mode
        return "unknown"


def time_steps(step, budget):
    """Runs step() 3 times to warm up, then until `budget` seconds and at least 5 steps have
    passed; returns (steps, seconds)."""
    for _ in range(3):
        step()
    steps = 0
    t0 = time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= budget and steps >= 5:
            return steps, elapsed
