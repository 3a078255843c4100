"""Small numeric helpers shared by the styles, the parity check, the tests and the reports."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax matches the label (integer labels or one-hot rows)."""
    labels = np.asarray(labels)
    truth = labels.argmax(axis=1) if labels.ndim == 2 else labels
    return float(np.mean(np.argmax(outputs, axis=1) == truth))


def abs_diff(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """|candidate - reference| in float64; NaN against NaN counts as equal, NaN against a number as inf."""
    r, c = np.asarray(reference), np.asarray(candidate)
    if r.dtype.kind != "f" or c.dtype.kind != "f":
        r, c = r.astype(np.float64), c.astype(np.float64)
    with np.errstate(invalid="ignore"):
        d = np.empty(np.broadcast_shapes(r.shape, c.shape), np.float64)
        np.subtract(c, r, out=d)  # each element cast as it is read: no float64 copies of the inputs
        np.abs(d, out=d)
    if not np.isnan(d).any():  # the common case, without the two passes below
        return d
    both_nan = np.isnan(r) & np.isnan(c)
    return np.where(both_nan, 0.0, np.where(np.isnan(d), np.inf, d))


def max_abs_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Largest `abs_diff` per variable name (names must match)."""
    if set(a) != set(b):
        raise KeyError(f"variable names differ: {sorted(a)} vs {sorted(b)}")
    return {name: float(abs_diff(a[name], b[name]).max(initial=0.0)) for name in a}


def largest_abs_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    """The largest `abs_diff` over every element of every variable (0.0 for no variables)."""
    return max(max_abs_diff(a, b).values(), default=0.0)


def step_timing(t_start: float, t_first: float, t_end: float, steps: int) -> tuple[float, float]:
    """(first-step ms, steady ms per step) from three clock readings around a training loop.

    The first step carries graph building, tracing or compilation, so it is reported alone
    and left out of the per-step figure.
    """
    first_ms = (t_first - t_start) * 1e3
    steady_ms = (t_end - t_first) * 1e3 / (steps - 1) if steps > 1 else first_ms
    return first_ms, steady_ms
