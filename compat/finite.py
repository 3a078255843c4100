"""Runs that went numerically wrong: the first non-finite loss, and which weights followed.

NaN equals nothing: a run whose loss or weights went to NaN or inf has no result to compare,
so `tfparity compare` and `compat.parity` report it as such instead of as a match. This reads
what a run already recorded (the loss of every step, the weights at the steps it kept), so it
costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

FIX = (
    "lower the learning rate, or compute the loss with the fused "
    "tf.nn.softmax_cross_entropy_with_logits on logits (--loss mean) instead of log(softmax)"
)


@dataclass(frozen=True)
class NonFinite:
    """Where a run stopped being finite. Steps count updates: weights at step k are the weights
    after k updates, and loss k is computed at those weights (before update k+1)."""

    run: str
    loss_step: int | None  # first step whose loss is NaN or inf (None: every loss is finite)
    loss_value: str | None  # "nan", "inf" or "-inf" (a string: JSON has no NaN)
    weight_step: int | None  # first recorded step with a non-finite weight
    variables: tuple[str, ...]  # the variables non-finite at weight_step, in the run's order
    weights_at: str = "every"  # which steps recorded weights: "every", "some", or "last"

    @property
    def step(self) -> int:
        """The first step where anything was non-finite."""
        return min(s for s in (self.loss_step, self.weight_step) if s is not None)

    def describe(self) -> str:
        parts = []
        if self.loss_step is not None:
            parts.append(f"loss {self.loss_value} from step {self.loss_step}")
        if self.weight_step is not None:
            at = {
                "every": f"from step {self.weight_step}",
                "some": f"by step {self.weight_step}",
                "last": "in the final weights",
            }[self.weights_at]
            parts.append(f"{', '.join(self.variables)} {at}")
        return f"{self.run}: non-finite {'; '.join(parts)}"


def first_nonfinite(run: str, losses: np.ndarray, weights: Mapping[int, Mapping[str, np.ndarray]]) -> NonFinite | None:
    """The first non-finite loss and the first recorded weights with a non-finite variable, or None.

    `weights` maps a step to the weights recorded there: every step for a parity trajectory,
    only the last for a `RunResult` (so `weight_step` is then the last step).
    """
    losses = np.asarray(losses, np.float64)
    bad_loss = np.flatnonzero(~np.isfinite(losses))
    weight_step, variables = None, ()
    for k in sorted(weights):
        names = tuple(name for name, w in weights[k].items() if not np.isfinite(np.asarray(w)).all())
        if names:
            weight_step, variables = k, names
            break
    if not bad_loss.size and weight_step is None:
        return None
    loss_step = int(bad_loss[0]) if bad_loss.size else None
    recorded = "every" if len(weights) == len(losses) + 1 else "last" if list(weights) == [len(losses)] else "some"
    value = None if loss_step is None else str(float(losses[loss_step]))
    return NonFinite(run, loss_step, value, weight_step, variables, recorded)
