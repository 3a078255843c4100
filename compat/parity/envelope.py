"""Sensitive problem or bug: the rule that judges a training divergence by the rounding family's spread."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfparity.compat.parity.sensitivity import GrowthEstimate
from tfparity.compat.parity.tolerance import Difference, Margin, Tolerance, weights_differences, worst_difference
from tfparity.compat.parity.trajectories import Trajectory, TrajectoryResult

SENSITIVITY_FACTOR = 100.0
# Beyond this margin over the reference family's envelope the candidate's own twins are not trained
# (three trainings that could not widen the envelope that far; docs/results/verdict-accuracy.md).
CANDIDATE_TWINS_BELOW = 1000.0
SENSITIVITY_RULE = (
    "A divergence is explained by float32 rounding when, at every recorded step k where the "
    "candidate is beyond tolerance, its largest weight difference from the reference D(k) stays "
    "within the envelope E(k) = K * S(k). S(k) is the largest weight distance at step k between any "
    "two runs of the rounding family: the reference and its twins, each trained from weights moved "
    "by 1 ulp on inputs each moved by 1 ulp (rounding entering at every step, as a port's "
    "other summation order makes it), and, when the reference's family alone does not explain the "
    "divergence but comes within 1000x of it, the candidate and its own twins. K is the sensitivity factor (100 by "
    "default): the factor by which a correct port may exceed the widest spread the twins showed (a port "
    "rounds differently in every layer and in the backward pass, a twin only at its inputs). Per-step losses "
    "follow the same rule with the family's loss distances, plus sqrt(batch size) float32 ulps of "
    "the loss value (a loss is rounded where it is computed, whatever the weights). A difference "
    "beyond tolerance and above its envelope is a bug; the margin is the largest difference / "
    "envelope. docs/results/verdict-accuracy.md measures how often the rule errs."
)


@dataclass
class Envelope:
    """The rule applied: E(k) per recorded step, where the candidate first crossed it, and the worst margin."""

    factor: float
    weight_envelope: list[float]  # K * S(k) at the recorded steps
    loss_envelope: list[float]
    weight_violation: Difference | None  # first step where a variable beyond tolerance is above its envelope
    loss_violation: Difference | None
    margin: Margin | None = None  # the largest difference / envelope over the steps beyond tolerance
    first_crossing: Margin | None = None  # the first step above the envelope (None: explained)

    @property
    def explains(self) -> bool:
        return self.weight_violation is None and self.loss_violation is None


def loss_rounding(losses: np.ndarray, batch_size: int) -> np.ndarray:
    """sqrt(batch size) float32 ulps of each loss value: the typical rounding of a float32 sum of that many terms."""
    return math.sqrt(batch_size) * np.spacing(np.abs(losses).astype(np.float32)).astype(np.float64)


def apply_sensitivity_rule(
    trajectory: TrajectoryResult,
    growth: GrowthEstimate,
    reference: Trajectory,
    candidate: Trajectory,
    tolerance: Tolerance,
    loss_tolerance: Tolerance,
    factor: float = SENSITIVITY_FACTOR,
    batch_size: int = 1,
) -> Envelope:
    """`SENSITIVITY_RULE`: every variable and loss beyond tolerance against its envelope."""
    index = {k: i for i, k in enumerate(growth.weight_steps)}
    steps = [k for k in trajectory.weight_steps if k in index]
    judged: list[tuple[Margin, Difference]] = []
    for k in steps:
        worst = weights_differences(reference.weights[k], candidate.weights[k], tolerance, step=k)
        if not worst or not worst[0].beyond:
            continue
        # The largest difference of any variable against the family's largest spread of any variable: a
        # per-variable envelope would judge a tensor Adam moves by a sign-like step (a bias at step 1) by
        # a spread rounding cannot reach, while the two Adams' epsilon placements do.
        largest = max(worst, key=lambda d: d.abs_diff)
        envelope = factor * growth.weight_divergence[index[k]]
        ratio = math.inf if envelope == 0 else largest.abs_diff / envelope
        diff = Difference(
            largest.where, largest.index, largest.reference, largest.candidate, largest.abs_diff, envelope, k
        )
        judged.append((Margin(float(ratio), "envelope", largest.where, largest.index, k), diff))
    weight_env = [factor * growth.weight_divergence[index[k]] for k in steps]
    loss_env = factor * (np.asarray(growth.loss_divergence) + loss_rounding(reference.losses, batch_size))
    d = np.asarray(trajectory.loss_divergence)
    for k in np.nonzero(d > loss_tolerance.allowed(reference.losses))[0]:
        k = int(k)
        ratio = math.inf if loss_env[k] == 0 else d[k] / loss_env[k]
        diff = worst_difference("loss", reference.losses[k], candidate.losses[k], loss_tolerance, step=k)
        judged.append((Margin(float(ratio), "envelope", "loss", (), k), diff))
    crossings = sorted((pair for pair in judged if pair[0].beyond), key=lambda pair: (pair[0].step, -pair[0].ratio))
    first = crossings[0] if crossings else None
    weight_violation = next((diff for m, diff in crossings if m.where != "loss"), None)
    loss_violation = next((diff for m, diff in crossings if m.where == "loss"), None)
    return Envelope(
        factor,
        weight_env,
        loss_env.tolist(),
        weight_violation,
        loss_violation,
        margin=max((m for m, _ in judged), key=lambda m: m.ratio, default=None),
        first_crossing=None if first is None else first[0],
    )
