"""Small numeric helpers shared by the styles, the tests and the reports."""

from __future__ import annotations

from typing import Mapping

import numpy as np


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax equals the integer label."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def max_abs_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Largest absolute elementwise difference per variable name (names must match)."""
    if set(a) != set(b):
        raise KeyError(f"variable names differ: {sorted(a)} vs {sorted(b)}")
    return {name: float(np.max(np.abs(np.asarray(a[name], np.float64) - np.asarray(b[name], np.float64)))) for name in a}


def step_timing(t_start: float, t_first: float, t_end: float, steps: int) -> tuple[float, float]:
    """(first-step ms, steady ms per step) from three clock readings around a training loop.

    The first step carries graph building, tracing or compilation, so it is reported alone
    and left out of the per-step figure.
    """
    first_ms = (t_first - t_start) * 1e3
    steady_ms = (t_end - t_first) * 1e3 / (steps - 1) if steps > 1 else first_ms
    return first_ms, steady_ms
