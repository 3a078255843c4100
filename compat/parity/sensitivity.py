"""Sensitive problem or bug: how far a 1-ulp perturbation grows, and the rule that judges a divergence by it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tfparity.compat.metrics import abs_diff, largest_abs_diff
from tfparity.compat.parity.tolerance import Difference, Tolerance, weights_differences, worst_difference
from tfparity.compat.parity.trajectories import Trajectory, TrajectoryResult
from tfparity.compat.parity.variables import Weights

SENSITIVITY_FACTOR = 10.0
SENSITIVITY_RULE = (
    "A divergence is explained by float32 sensitivity when, at every recorded step k where the "
    "candidate is beyond tolerance, its largest difference from the reference D(k) stays within "
    "the envelope E(k) = K * sum_{j<=k} P(j), where P(j) is how far the reference's own 1-ulp "
    "perturbed twin has drifted at step j and K is the sensitivity factor (10 by default). "
    "E(k) is what a 1-ulp rounding difference made at every step grows to on this problem. "
    "Per-step losses follow the same rule with P(j) the twin's loss difference, plus K times the "
    "loss's own rounding, sqrt(batch size) float32 ulps of the loss value (a loss is rounded where "
    "it is computed, whatever the weights). "
    "A difference beyond tolerance and above E(k), or any difference beyond tolerance in the "
    "variables, the initial values or the forward pass, is a bug."
)


# --- the 1-ulp perturbation ----------------------------------------------------------------


def weight_scales(trajectory: Trajectory) -> dict[str, float]:
    """Each tensor's largest magnitude at the first recorded step where it is not all zero.

    A zero-initialized tensor takes its scale from the first update; one that stays zero gets 1.0.
    """
    scales: dict[str, float] = {}
    for k in sorted(trajectory.weights):
        for name, w in trajectory.weights[k].items():
            top = float(np.max(np.abs(w), initial=0.0)) if np.isfinite(w).all() else 0.0
            if name not in scales and top > 0:
                scales[name] = top
    return {name: scales.get(name, 1.0) for name in trajectory.weights[min(trajectory.weights)]}


def perturb_one_ulp(weights: Weights, scales: Mapping[str, float] | None = None, seed: int = 0) -> Weights:
    """Every element moved by one ulp at its tensor's scale, with a random sign.

    The step is `np.spacing(scale)` in the tensor's own dtype, with `scale` the tensor's
    largest magnitude (`weight_scales`: at step 0, or after the first update for a tensor that
    starts at zero), so its largest element moves to its float neighbour and the others by the
    same absolute amount: the size of a rounding difference in the weights.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(weights):
        w = np.asarray(weights[name])
        scale = (scales or {}).get(name) or float(np.max(np.abs(w), initial=0.0)) or 1.0
        step = np.spacing(w.dtype.type(scale))
        out[name] = (w + rng.choice(np.array([-1, 1], w.dtype), size=w.shape) * step).astype(w.dtype)
    return out


# --- its growth ----------------------------------------------------------------------------


@dataclass
class GrowthEstimate:
    """How far the reference's 1-ulp perturbed twin drifts from the reference: P(k)."""

    perturbation: float  # largest element move at step 0
    weight_steps: list[int]
    weight_divergence: list[float]  # P(k) at weight_steps
    loss_divergence: list[float]  # |loss diff| at every step
    growth_per_step: float  # exp(slope) of a least-squares line through log P(k), k <= fitted_until (NaN: < 3 points)
    fitted_until: int  # the first step where P reaches half its maximum
    amplification: float  # max_k P(k) / P(0)
    beyond_tolerance_at: int | None  # first step where the twin itself leaves the tolerance

    @property
    def sensitive(self) -> bool:
        """True when 1 ulp alone grows beyond the tolerance within the run."""
        return self.beyond_tolerance_at is not None

    def describe(self) -> str:
        steps = self.weight_steps[-1] if self.weight_steps else 0
        rate = (
            f"x{self.growth_per_step:.4g} per step up to step {self.fitted_until}"
            if math.isfinite(self.growth_per_step)
            else f"no growth phase to fit: half its maximum by step {self.fitted_until}"
        )
        head = (
            f"a 1-ulp perturbation ({self.perturbation:.2g}) grows x{self.amplification:.3g} "
            f"over {steps} steps ({rate})"
        )
        if self.beyond_tolerance_at == 0:
            return f"{head}; the tolerance is finer than one ulp of the weights, so any rounding leaves it"
        if self.sensitive:
            return f"{head}; it leaves the tolerance at step {self.beyond_tolerance_at}: a sensitive problem"
        return f"{head}; it stays within the tolerance: a stable problem"


def estimate_growth(reference: Trajectory, perturbed: Trajectory, tolerance: Tolerance) -> GrowthEstimate:
    """P(k) of the perturbed twin against the reference, and the rate of its growth phase."""
    steps = sorted(set(reference.weights) & set(perturbed.weights))
    div = [largest_abs_diff(reference.weights[k], perturbed.weights[k]) for k in steps]
    beyond = next(
        (k for k in steps if weights_differences(reference.weights[k], perturbed.weights[k], tolerance)[0].beyond), None
    )
    # Fit the growth phase only: up to the first step where P reaches half its maximum (a
    # chaotic problem saturates there, and a line through the plateau would hide the rate).
    top = max(div, default=0.0)
    fit_until = next((k for k, p in zip(steps, div) if p >= top / 2), 0)
    points = [(k, p) for k, p in zip(steps, div) if 0 < p and k <= fit_until]
    slope = (
        float(np.polyfit([k for k, _ in points], np.log([p for _, p in points]), 1)[0])
        if len(points) >= 3
        else math.nan
    )
    p0 = div[0] if div and div[0] > 0 else math.nan
    return GrowthEstimate(
        perturbation=div[0] if div else 0.0,
        weight_steps=steps,
        weight_divergence=div,
        loss_divergence=abs_diff(reference.losses, perturbed.losses).tolist(),
        growth_per_step=math.exp(slope),
        fitted_until=fit_until,
        amplification=top / p0 if div else math.nan,
        beyond_tolerance_at=beyond,
    )


# --- the rule ------------------------------------------------------------------------------


@dataclass
class Envelope:
    """The sensitivity rule applied: E(k) per recorded step and where D(k) exceeded it."""

    factor: float
    weight_envelope: list[float]
    loss_envelope: list[float]
    weight_violation: Difference | None  # first step beyond tolerance and above E(k)
    loss_violation: Difference | None

    @property
    def explains(self) -> bool:
        return self.weight_violation is None and self.loss_violation is None


def cumulative_envelope(steps: Sequence[int], growth: Sequence[float], factor: float) -> list[float]:
    """E(k) = factor * sum over recorded j <= k of P(j) * (steps since the previous record).

    With weights recorded every step this is `factor * cumsum(P)`: the divergence that a
    1-ulp difference made at every step, each growing as the measured twin did, adds up to.
    """
    gaps = np.diff(np.asarray([steps[0] - 1, *steps], np.float64)) if len(steps) else np.array([])
    return (factor * np.cumsum(np.asarray(growth, np.float64) * gaps)).tolist()


def apply_sensitivity_rule(
    trajectory: TrajectoryResult,
    growth: GrowthEstimate,
    reference: Trajectory,
    candidate: Trajectory,
    tolerance: Tolerance,
    loss_tolerance: Tolerance,
    factor: float,
    batch_size: int = 1,
) -> Envelope:
    """`SENSITIVITY_RULE`: the first step beyond tolerance whose divergence exceeds the envelope."""
    p_by_step = dict(zip(growth.weight_steps, growth.weight_divergence))
    steps = [k for k in trajectory.weight_steps if k in p_by_step]
    env = cumulative_envelope(steps, [p_by_step[k] for k in steps], factor)
    weight_violation = None
    for k, e in zip(steps, env):
        worst = weights_differences(reference.weights[k], candidate.weights[k], tolerance, step=k)[0]
        if worst.beyond and trajectory.weight_divergence[trajectory.weight_steps.index(k)] > e:
            weight_violation = worst
            break
    # A loss is also rounded where it is computed, whatever the weights: two implementations
    # reduce a batch of per-example terms in different orders and formulas. The loss envelope
    # holds K times that rounding, taken as sqrt(batch size) float32 ulps of the loss value
    # (the typical rounding error of a float32 sum of that many terms).
    own_rounding = math.sqrt(batch_size) * np.spacing(np.abs(reference.losses).astype(np.float32)).astype(np.float64)
    loss_env = (factor * (np.cumsum(growth.loss_divergence) + own_rounding)).tolist()
    loss_violation = None
    d = np.asarray(trajectory.loss_divergence)
    over = np.nonzero((d > loss_tolerance.allowed(reference.losses)) & (d > np.asarray(loss_env)))[0]
    if over.size:
        k = int(over[0])
        loss_violation = worst_difference("loss", reference.losses[k], candidate.losses[k], loss_tolerance, step=k)
    return Envelope(factor, env, loss_env, weight_violation, loss_violation)
