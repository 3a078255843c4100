"""How far two arrays may differ (`Tolerance`), and where they differ most (`Difference`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfparity.compat.metrics import abs_diff
from tfparity.compat.parity.variables import Weights


@dataclass(frozen=True)
class Tolerance:
    """`|candidate - reference| <= atol + rtol * |reference|`, elementwise (numpy.isclose's rule).

    The defaults are the guide's: rtol 1e-6, atol 1e-5.
    """

    rtol: float = 1e-6
    atol: float = 1e-5

    def allowed(self, reference: np.ndarray) -> np.ndarray:
        """The largest |difference| allowed at each element of `reference`."""
        return self.atol + self.rtol * np.abs(np.asarray(reference, np.float64))

    def __str__(self) -> str:
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


GUIDE_TOLERANCE = Tolerance()


@dataclass(frozen=True)
class Difference:
    """One element where two arrays differ: which array, which element, both values."""

    where: str  # a variable name, "loss" or "outputs"
    index: tuple[int, ...]
    reference: float
    candidate: float
    abs_diff: float
    allowed: float
    step: int | None = None

    @property
    def beyond(self) -> bool:
        return self.abs_diff > self.allowed

    def describe(self) -> str:
        at = f"{self.where}[{', '.join(map(str, self.index))}]" if self.index else self.where
        step = f"step {self.step}: " if self.step is not None else ""
        rel = ">" if self.beyond else "<="
        return (
            f"{step}{at}: reference {self.reference:.9g}, candidate {self.candidate:.9g}, "
            f"|diff| {self.abs_diff:.3g} {rel} allowed {self.allowed:.3g}"
        )


def worst_difference(
    where: str, reference: np.ndarray, candidate: np.ndarray, tolerance: Tolerance, step: int | None = None
) -> Difference:
    """The element with the largest excess over the tolerance (the largest |diff| when none exceeds)."""
    r, c = np.asarray(reference), np.asarray(candidate)
    d = abs_diff(r, c)
    excess = d - tolerance.allowed(r)
    flat = int(np.argmax(excess)) if excess.max(initial=-np.inf) > 0 else int(np.argmax(d)) if d.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, r.shape)) if r.ndim else ()
    if not r.size:
        return Difference(where, (), math.nan, math.nan, 0.0, tolerance.atol, step)
    return Difference(
        where,
        index,
        float(r.reshape(-1)[flat]),
        float(c.reshape(-1)[flat]),
        float(d.reshape(-1)[flat]),
        float(tolerance.allowed(r.reshape(-1)[flat])),
        step,
    )


def weights_differences(
    reference: Weights, candidate: Weights, tolerance: Tolerance, step: int | None = None
) -> list[Difference]:
    """The worst element of every variable, largest |diff| first."""
    diffs = [worst_difference(name, reference[name], candidate[name], tolerance, step) for name in reference]
    return sorted(diffs, key=lambda d: (not d.beyond, -d.abs_diff))
