"""The forward check: both sides at the same weights, each output against what float32 summation can produce.

A per-element `rtol` ignores cancellation: an output of 428.5 summed from terms in the
thousands carries rounding errors of the size of those terms, not of 428.5. The classic bound
for a dot product is |fl(x . w) - x . w| <= gamma_n * sum_i |x_i w_i|, gamma_n = n u / (1 - n u),
with n the length of the sum and u the unit roundoff. For a network of linear, convolution,
ReLU and pooling layers, the reference run on |inputs| with |weights| gives every output's
sum of absolute products through all its layers, and the summation lengths of its layers add up.
Any reordered or split summation stays within that bound; a transposed weight, a wrong
activation or a missing bias does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfparity.compat.parity.tolerance import Margin, Tolerance, largest_ratio
from tfparity.compat.parity.variables import VariableSpec, Weights

LOOSE_BOUND = 1e-2  # a bound above 1% of a typical output hides small forward bugs: the report says so
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
TF32_ROUNDOFF = 2.0**-11  # TensorFloat-32: float32 range, a 10-bit mantissa, on GPUs since Ampere


def summation_length(variables: Sequence[VariableSpec]) -> int:
    """n of the bound: each weight of rank >= 2 adds its fan-in (every axis but the last: a dense
    kernel's inputs, a convolution's window times its input channels), each other tensor one term."""
    return sum(int(np.prod(v.shape[:-1])) if len(v.shape) >= 2 else 1 for v in variables) or 1


def unit_roundoff(variables: Sequence[VariableSpec]) -> tuple[float, str]:
    """u for the variables' float types, and why: TF32's when a GPU is visible and TensorFlow allows it."""
    u = max((UNIT_ROUNDOFF.get(v.dtype, 0.0) for v in variables), default=0.0) or UNIT_ROUNDOFF["float32"]
    import tensorflow as tf

    if u == UNIT_ROUNDOFF["float32"] and tf.config.list_physical_devices("GPU"):
        if tf.config.experimental.tensor_float_32_execution_enabled():
            return TF32_ROUNDOFF, "TF32's (a GPU is visible and TensorFloat-32 is enabled)"
    kind = next((k for k, v in UNIT_ROUNDOFF.items() if v == u), "float32")
    return u, f"{kind}'s"


@dataclass
class RoundingBound:
    """gamma_n times each output's sum of absolute products: the most rounding can move it."""

    length: int  # n
    unit_roundoff: float  # u
    roundoff_kind: str
    magnitudes: np.ndarray  # the reference at |inputs| and |weights|

    @property
    def gamma(self) -> float:
        nu = self.length * self.unit_roundoff
        return nu / (1 - nu) if nu < 1 else float("inf")

    def allowed(self) -> np.ndarray:
        return self.gamma * np.abs(np.asarray(self.magnitudes, np.float64))

    def describe(self) -> str:
        return (
            f"gamma_n * sum|products| per output, n = {self.length} (the layers' summation lengths), "
            f"u = {self.unit_roundoff:.3g} ({self.roundoff_kind}): gamma_n = {self.gamma:.3g}"
        )


def rounding_bound(side: Any, variables: Sequence[VariableSpec], weights: Weights, inputs: np.ndarray) -> RoundingBound:
    """The bound for `side`'s outputs at `weights` on `inputs` (one extra forward pass, at absolute values)."""
    u, kind = unit_roundoff(variables)
    magnitudes = side.forward({n: np.abs(w) for n, w in weights.items()}, np.abs(inputs))
    return RoundingBound(summation_length(variables), u, kind, np.asarray(magnitudes))


def forward_margin(
    reference: np.ndarray, candidate: np.ndarray, tolerance: Tolerance, bound: RoundingBound | None
) -> Margin:
    """The output with the largest |diff| / allowed, allowed being the larger of the tolerance and the bound."""
    r = np.asarray(reference, np.float64)
    diff = np.abs(np.asarray(candidate, np.float64) - r)
    tol = tolerance.allowed(r)
    if bound is None or np.shape(bound.magnitudes) != r.shape:
        return largest_ratio("outputs", diff, tol, "tolerance")
    allowed = np.maximum(tol, bound.allowed())
    m = largest_ratio("outputs", diff, allowed, "tolerance")
    flat = np.ravel_multi_index(m.index, r.shape) if m.index else 0
    if bound.allowed().reshape(-1)[flat] > tol.reshape(-1)[flat]:
        return Margin(m.ratio, "rounding bound", m.where, m.index, m.step)
    return m


def probe_weights(weights: Weights, seed: int = 0) -> tuple[Weights, list[str]]:
    """`weights` with every constant tensor of more than one element (zero biases, unit scales) given a
    seeded N(0, 1) draw on top, and the names of those tensors.

    At zero a missing bias computes the same outputs as a present one; at distinct values it shows.
    """
    rng = np.random.default_rng(seed)
    out, changed = {}, []
    for name in sorted(weights):
        w = np.asarray(weights[name])
        if w.size > 1 and np.issubdtype(w.dtype, np.floating) and np.all(w == w.reshape(-1)[0]):
            out[name] = (w + rng.standard_normal(w.shape)).astype(w.dtype)
            changed.append(name)
        else:
            out[name] = w
    return {n: out[n] for n in weights}, changed
