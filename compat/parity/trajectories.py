"""Training trajectories: what a side records while it trains, and how two recordings compare."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.metrics import abs_diff, largest_abs_diff
from tfparity.compat.parity.tolerance import (
    Difference,
    Margin,
    Tolerance,
    largest_ratio,
    weights_differences,
    worst_difference,
)
from tfparity.compat.parity.variables import Weights


@dataclass
class Trajectory:
    """`losses[k]`: the loss of batch k at the weights before update k+1.
    `weights[k]`: the weights after k updates (`weights[0]` is the start), at the recorded steps."""

    losses: np.ndarray
    weights: dict[int, Weights]

    @property
    def steps(self) -> int:
        return int(len(self.losses))

    @property
    def final(self) -> Weights:
        return self.weights[max(self.weights)]


RECORDED_BYTES = 512 * 2**20  # by default, one run's recorded weights stay under this


def record_every_within(steps: int, weights: Weights, budget: int = RECORDED_BYTES) -> int:
    """The smallest `record_every` whose recorded copies of `weights` over `steps` fit in `budget`
    bytes: every step for small models, every few steps for a large one over a long run (the check
    keeps several runs' weights at once: the reference, the candidate, the twins)."""
    per_copy = sum(np.asarray(w).nbytes for w in weights.values())
    return max(1, math.ceil(steps * per_copy / budget))


def recorded_steps(steps: int, record_every: int) -> set[int]:
    """0, every `record_every`-th step, and the last one."""
    return set(range(0, steps + 1, max(1, record_every))) | {steps}


def record_trajectory(
    train_step: Callable[[np.ndarray, np.ndarray], float],
    read: Callable[[], Weights],
    batches: Sequence[Batch],
    record_every: int = 1,
    after_step: Callable[[int], Weights] | None = None,
) -> Trajectory:
    """Run `train_step(inputs, labels) -> loss` on every batch, reading the weights at the recorded steps;
    `after_step(step)`, when given, runs after each update and returns the weights it left (recorded
    instead of reading them again)."""
    record = recorded_steps(len(batches), record_every)
    losses = np.empty(len(batches), np.float64)
    trail = {0: read()}
    for step, (x, y) in enumerate(batches):
        losses[step] = float(train_step(x, y))
        moved = after_step(step) if after_step is not None else None
        if step + 1 in record:
            trail[step + 1] = moved if moved is not None else read()
    return Trajectory(losses, trail)


@dataclass
class TrajectoryResult:
    """Reference vs candidate over the run; per recorded step, D(k) = largest weight |diff|."""

    steps: int
    record_every: int
    weight_steps: list[int]
    weight_divergence: list[float]  # D(k) at weight_steps
    loss_divergence: list[float]  # |loss diff| at every step
    reference_losses: list[float]
    candidate_losses: list[float]
    first_divergence: Difference | None
    final: list[Difference]  # worst element per variable after the last step
    bit_identical: bool
    tolerance_margin: Margin | None = None  # the largest |diff| / allowed over every step, weights and losses

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    @property
    def max_weight_divergence(self) -> float:
        return max(self.weight_divergence, default=0.0)

    @property
    def final_weight_divergence(self) -> float:
        return self.weight_divergence[-1] if self.weight_divergence else 0.0

    @property
    def max_loss_divergence(self) -> float:
        return max(self.loss_divergence, default=0.0)


def compare_trajectories(
    reference: Trajectory, candidate: Trajectory, tolerance: Tolerance, loss_tolerance: Tolerance, record_every: int
) -> TrajectoryResult:
    """D(k) at every step both recorded, the loss differences, and the first step beyond tolerance."""
    steps = sorted(set(reference.weights) & set(candidate.weights))
    weight_div = [largest_abs_diff(reference.weights[k], candidate.weights[k]) for k in steps]
    loss_div = abs_diff(reference.losses, candidate.losses)
    first: Difference | None = None
    for k in steps:
        worst = weights_differences(reference.weights[k], candidate.weights[k], tolerance, step=k)
        if worst and worst[0].beyond:
            first = worst[0]
            break
    loss_beyond = np.nonzero(loss_div > loss_tolerance.allowed(reference.losses))[0]
    if loss_beyond.size and (first is None or int(loss_beyond[0]) < first.step):
        k = int(loss_beyond[0])
        first = worst_difference("loss", reference.losses[k], candidate.losses[k], loss_tolerance, step=k)
    last = steps[-1] if steps else 0
    final = weights_differences(reference.weights[last], candidate.weights[last], tolerance, step=last) if steps else []
    margins = [
        largest_ratio(name, abs_diff(r, candidate.weights[k][name]), tolerance.allowed(r), "tolerance", k)
        for k in steps
        for name, r in reference.weights[k].items()
    ]
    if len(loss_div):
        margins.append(largest_ratio("loss", loss_div, loss_tolerance.allowed(reference.losses), "tolerance"))
        if margins[-1].index:  # the loss's index is its step
            margins[-1] = Margin(margins[-1].ratio, "tolerance", "loss", (), margins[-1].index[0])
    identical = bool(np.array_equal(reference.losses, candidate.losses)) and all(
        all(np.array_equal(reference.weights[k][n], candidate.weights[k][n]) for n in reference.weights[k])
        for k in steps
    )
    return TrajectoryResult(
        steps=reference.steps,
        record_every=record_every,
        weight_steps=steps,
        weight_divergence=weight_div,
        loss_divergence=loss_div.tolist(),
        reference_losses=reference.losses.tolist(),
        candidate_losses=candidate.losses.tolist(),
        first_divergence=first,
        final=final,
        bit_identical=identical,
        tolerance_margin=max(margins, key=lambda m: m.ratio, default=None),
    )
