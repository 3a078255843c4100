"""Float32 sensitivity told apart from a bug: Fashion-MNIST with SGD at learning rate 0.5.

On this problem a 1-ulp perturbation of the start grows about 1.7x per step until it saturates,
so two correct implementations (the TF1 graph and keras.fit, which round differently by about
1e-7 per step) leave any tight tolerance within a few dozen steps. compat.parity must call
that a sensitive problem, not a bug, and must still call a planted bug a bug. MNIST at the same
settings is the stable regime (tests/test_styles_parity.py::test_mnist_sgd_is_a_stable_problem).
"""

from __future__ import annotations

import keras
import pytest

from tfparity.benchmarks import parity_sides
from tfparity.compat import TrainConfig, parity
from tfparity.tf2_eager import keras_style

CONFIG = TrainConfig(steps=300, batch_size=100, learning_rate=0.5, optimizer="sgd", loss="mean", init="zeros")
BUG = "keras_fit+label_smoothing"


class LabelSmoothingKeras(parity_sides.KerasFitSide):
    """keras.fit with `label_smoothing=1e-3` left in the loss: a 0.1% change of the targets."""

    def __init__(self, config: TrainConfig):
        super().__init__(config)
        self.name = BUG
        correct = self.make_model

        def make_model() -> keras.Model:
            model = correct()
            loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=1e-3)
            model.compile(
                optimizer=keras_style.make_optimizer(config), loss=loss, metrics=[keras_style.BatchLoss(loss)]
            )
            return model

        self.make_model = make_model


@pytest.fixture(scope="module")
def fashion_reports(fashion_mnist):
    candidates = {"keras_fit": parity_sides.KerasFitSide(CONFIG), BUG: LabelSmoothingKeras(CONFIG)}
    return parity_sides.check_styles(fashion_mnist, CONFIG, candidates)


def test_two_correct_implementations_are_a_sensitive_problem_not_a_bug(fashion_reports):
    report = fashion_reports["keras_fit"]
    assert report.verdict == parity.SENSITIVE, f"\n{report}"
    assert not report.ok and report.passes(allow_sensitive=True)
    assert report.forward.ok and report.trajectory.first_divergence.step > 0  # same weights agree; training drifts
    assert report.growth.sensitive and report.growth.amplification > 1e3  # 1 ulp alone leaves the tolerance
    assert report.envelope.explains
    assert "SENSITIVE PROBLEM, NO BUG" in str(report) and "float32 sensitivity" in str(report)


def test_planted_bug_is_still_a_bug_on_the_sensitive_problem(fashion_reports):
    report = fashion_reports[BUG]
    assert report.verdict == parity.BUG, f"\n{report}"
    first = report.trajectory.first_divergence
    assert report.growth.sensitive  # the same sensitive problem...
    assert first.step < report.growth.beyond_tolerance_at  # ...but the bug leaves the tolerance before 1 ulp can
    assert report.envelope.weight_violation is not None  # and above what 1 ulp grows to
    assert first.where in {"W", "b", "loss"} and f"step {first.step}: {first.where}" in str(report)


def test_same_report_through_assert_parity(fashion_mnist):
    """assert_parity passes a sensitive problem only when told to, and never a bug."""
    batches = parity_sides.batches_for(fashion_mnist, CONFIG.replace(steps=40))
    reference = parity_sides.tf1_graph_side(CONFIG)
    parity.assert_parity(reference, parity_sides.KerasFitSide(CONFIG), batches, allow_sensitive=True)
    with pytest.raises(AssertionError, match="SENSITIVE PROBLEM, NO BUG"):
        parity.assert_parity(reference, parity_sides.KerasFitSide(CONFIG), batches)
    with pytest.raises(AssertionError, match="BUG"):
        parity.assert_parity(reference, LabelSmoothingKeras(CONFIG), batches, allow_sensitive=True)
