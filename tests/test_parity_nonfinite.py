"""Runs that go NaN or inf are never parity: compat.finite finds where, compat.parity says so.

The sides here are scripted (their training runs are given as arrays), so every step and
variable that goes non-finite is known in advance, and no TensorFlow runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tfparity.compat import parity
from tfparity.compat.finite import first_nonfinite

NAN = np.float32("nan")


def weights(w: float, b: float) -> parity.Weights:
    return {"W": np.full((2, 2), w, np.float32), "b": np.full(2, b, np.float32)}


# Four steps that blow up: the loss of step 2 is inf, and b (not W) is NaN after 3 updates.
BLOWS_UP = parity.Trajectory(
    np.array([1.0, 0.5, np.inf, np.nan]),
    {0: weights(0, 0), 1: weights(0.1, 0.1), 2: weights(0.2, 0.2), 3: weights(0.3, NAN), 4: weights(NAN, NAN)},
)
FINE = parity.Trajectory(np.array([1.0, 0.5, 0.25, 0.125]), {k: weights(0.1 * k, 0.1 * k) for k in range(5)})
BATCHES = [(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32))] * 4


class ScriptedSide:
    """A `compat.parity.Side` whose training run is `trajectory`, whatever it is given."""

    def __init__(self, name: str, trajectory: parity.Trajectory):
        self.name, self.trajectory = name, trajectory

    def inspect(self, sample_inputs: np.ndarray) -> parity.Inspection:
        specs = [parity.VariableSpec("W", (2, 2), "float32"), parity.VariableSpec("b", (2,), "float32")]
        return parity.Inspection(specs, weights(0, 0))

    def forward(self, w: parity.Weights, inputs: np.ndarray) -> np.ndarray:
        return inputs @ w["W"] + w["b"]

    def train(self, w: parity.Weights, batches, record_every: int = 1) -> parity.Trajectory:
        return self.trajectory


def test_first_nonfinite_finds_the_step_and_the_variable():
    found = first_nonfinite("run", BLOWS_UP.losses, BLOWS_UP.weights)
    assert (found.loss_step, found.loss_value, found.weight_step, found.variables) == (2, "inf", 3, ("b",))
    assert found.step == 2
    assert found.describe() == "run: non-finite loss inf from step 2; b from step 3"
    assert first_nonfinite("run", FINE.losses, FINE.weights) is None


def test_first_nonfinite_with_only_the_final_weights():
    # What `tfparity compare` has: every loss, and the weights after the last step.
    found = first_nonfinite("run", np.array([1.0, 2.0, 3.0]), {3: weights(NAN, 0)})
    assert (found.loss_step, found.weight_step, found.variables) == (None, 3, ("W",))
    assert found.describe() == "run: non-finite W in the final weights"


def test_both_runs_non_finite_is_never_parity():
    report = parity.check_parity(ScriptedSide("tf1", BLOWS_UP), ScriptedSide("tf2", BLOWS_UP), BATCHES)
    assert report.verdict == parity.NONFINITE
    assert not report.ok and not report.passes(allow_sensitive=True)
    assert not report.trajectory.bit_identical  # NaN equals nothing
    assert [(n.run, n.loss_step, n.weight_step, n.variables) for n in report.nonfinite] == [
        ("tf1", 2, 3, ("b",)),
        ("tf2", 2, 3, ("b",)),
    ]
    assert report.named() == {"loss", "b"}
    text = str(report)
    assert (
        text.splitlines()[0]
        == "parity: tf2 against tf1: NON-FINITE: both runs went non-finite from step 2: nothing to compare"
    )
    assert "lower the learning rate" in text and "softmax_cross_entropy_with_logits" in text
    assert "tf2: non-finite loss inf from step 2; b from step 3" in text
    assert (
        "training: 4 steps, not compared: both runs are non-finite from step 2" in text
        and "within tolerance" not in text
    )
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["verdict"] == "non-finite" and data["nonfinite"][0]["variables"] == ["b"]


def test_one_run_non_finite_is_a_bug_that_says_where():
    report = parity.check_parity(ScriptedSide("tf1", FINE), ScriptedSide("tf2", BLOWS_UP), BATCHES)
    assert report.verdict == parity.BUG
    assert any(
        r.startswith("only one side went non-finite: tf2: non-finite loss inf from step 2; b from step 3")
        for r in report.reasons
    ), report.reasons


def test_assert_parity_and_the_fixture_fail_on_non_finite_runs(parity_check):
    with pytest.raises(AssertionError, match=r"(?s)NON-FINITE.*lower the learning rate"):
        parity.assert_parity(
            ScriptedSide("tf1", BLOWS_UP), ScriptedSide("tf2", BLOWS_UP), BATCHES, allow_sensitive=True
        )
    with pytest.raises(pytest.fail.Exception, match=r"(?s)NON-FINITE.*b from step 3"):
        parity_check(ScriptedSide("tf1", BLOWS_UP), ScriptedSide("tf2", BLOWS_UP), BATCHES)
