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


@dataclass(frozen=True)
class Margin:
    """How far one difference is from what is allowed: `ratio` = |diff| / allowed, above 1 is beyond.

    `against` says what allowed it: the tolerance, the rounding envelope of the training run
    (`SENSITIVITY_RULE`), or the float32 rounding bound of the forward pass.
    """

    ratio: float
    against: str  # "tolerance", "envelope" or "rounding bound"
    where: str  # a variable name, "loss" or "outputs"
    index: tuple[int, ...] = ()
    step: int | None = None

    @property
    def beyond(self) -> bool:
        return not self.ratio <= 1.0  # NaN counts as beyond

    def short(self) -> str:
        """'37x envelope (step 4, hidden/kernel)': for a table cell."""
        at = ", ".join(p for p in (None if self.step is None else f"step {self.step}", self.where) if p)
        return f"{_ratio(self.ratio)} {self.against} ({at})"

    def describe(self) -> str:
        """'37x the envelope at step 4, hidden/kernel[3, 5]'."""
        at = f"{self.where}[{', '.join(map(str, self.index))}]" if self.index else self.where
        step = f" at step {self.step}" if self.step is not None else ""
        return f"{_ratio(self.ratio)} the {self.against}{step}, {at}"


def _ratio(ratio: float) -> str:
    if math.isinf(ratio):
        return "infinitely over"  # nothing was allowed: the family never moved there
    return f"{ratio:.3g}x" if ratio >= 0.01 else f"{ratio:.1e}x"


def largest_ratio(
    where: str, difference: np.ndarray, allowed: np.ndarray, against: str, step: int | None = None
) -> Margin:
    """The element of `difference` with the largest ratio to `allowed` (same shapes; 0/0 counts as 0)."""
    d = np.asarray(difference, np.float64)
    a = np.broadcast_to(np.asarray(allowed, np.float64), d.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d == 0, 0.0, d / a)
    if not ratio.size:
        return Margin(0.0, against, where, (), step)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    flat = int(np.argmax(ratio))
    index = tuple(int(i) for i in np.unravel_index(flat, d.shape)) if d.ndim else ()
    return Margin(float(ratio.reshape(-1)[flat]), against, where, index, step)
