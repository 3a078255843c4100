"""The four styles agree: same init, same batches, same loss and optimizer -> same weights.

Tolerances are the ones the project claims (README, issue #2): eager and tf.function equal the
TF1 graph to 1e-6 (bit-identical on CPU today), keras.fit to 1e-5, per-step losses to 1e-5.
MNIST at these learning rates is a *stable* problem: a 1-ulp difference does not grow, so
tight absolute tolerances are meaningful here (see compat.parity for sensitive problems).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import styles
from compat import TrainConfig, max_abs_diff

WEIGHT_TOL = {"eager": 1e-6, "function": 1e-6, "keras_fit": 1e-5}
SGD = TrainConfig(steps=1000, batch_size=100, learning_rate=0.5, optimizer="sgd", loss="mean", init="zeros")
ADAM = TrainConfig(steps=1000, learning_rate=0.001, optimizer="adam", adam_epsilon=1e-8)
TUTORIAL = TrainConfig.tutorial(steps=1000)


def run_all(data, config):
    return {name: train(data, config) for name, train in styles.STYLES.items()}


@pytest.fixture(scope="module")
def sgd_runs(mnist):
    return run_all(mnist, SGD)


@pytest.fixture(scope="module")
def adam_runs(mnist):
    return run_all(mnist, ADAM)


@pytest.fixture(scope="module")
def tutorial_runs(mnist):
    return run_all(mnist, TUTORIAL)


@pytest.mark.parametrize("style", ["eager", "function", "keras_fit"])
def test_sgd_weights_match_tf1(sgd_runs, style):
    ref, run = sgd_runs["tf1_graph"], sgd_runs[style]
    assert run.plan_fingerprint == ref.plan_fingerprint  # same examples, same order
    diff = max_abs_diff(ref.weights, run.weights)
    assert max(diff.values()) <= WEIGHT_TOL[style], diff
    np.testing.assert_allclose(run.losses, ref.losses, rtol=0, atol=1e-5)
    assert abs(run.test_accuracy - ref.test_accuracy) <= 0.001


def test_sgd_tf1_reaches_tutorial_accuracy(sgd_runs):
    assert all(r.test_accuracy > 0.91 for r in sgd_runs.values()), {k: r.test_accuracy for k, r in sgd_runs.items()}


def test_gradient_tape_styles_are_bit_identical_to_tf1_on_cpu(sgd_runs):
    ref = sgd_runs["tf1_graph"].weights
    for style in ("eager", "function"):
        for name in ref:
            assert np.array_equal(ref[name], sgd_runs[style].weights[name]), (style, name)


@pytest.mark.parametrize("style", ["eager", "function", "keras_fit"])
def test_adam_with_stated_epsilon_matches_tf1(adam_runs, style):
    diff = max_abs_diff(adam_runs["tf1_graph"].weights, adam_runs[style].weights)
    assert max(diff.values()) <= 1e-5, diff
    assert abs(adam_runs[style].test_accuracy - adam_runs["tf1_graph"].test_accuracy) <= 0.001


def test_adam_default_epsilons_drift_apart(mnist, adam_runs):
    """TF1 AdamOptimizer's default epsilon is 1e-8, Keras Adam's 1e-7: left at defaults they drift."""
    import keras
    import tensorflow as tf

    assert keras.optimizers.Adam().epsilon == 1e-7
    assert tf.compat.v1.train.AdamOptimizer()._epsilon == 1e-8
    keras_default = styles.STYLES["keras_fit"](mnist, ADAM.replace(adam_epsilon=1e-7))
    drift = max(max_abs_diff(adam_runs["tf1_graph"].weights, keras_default.weights).values())
    agree = max(max_abs_diff(adam_runs["tf1_graph"].weights, adam_runs["keras_fit"].weights).values())
    assert drift > 1e-2 > 100 * agree, (drift, agree)


def test_seed_faithful_tutorial_config(tutorial_runs):
    accs = {k: r.test_accuracy for k, r in tutorial_runs.items()}
    assert min(accs.values()) >= 0.90, accs
    assert max(accs.values()) - min(accs.values()) <= 0.002, accs
    for name, run in tutorial_runs.items():
        assert np.isfinite(run.losses).all(), f"{name} saw a NaN/inf loss"


@pytest.mark.parametrize("order", [["keras_fit", "function", "tf1_graph", "eager"], ["eager", "tf1_graph", "keras_fit", "function"]])
def test_styles_run_in_one_process_in_any_order(mnist, sgd_runs, order):
    """The TF1 graph is private (no disable_eager_execution): any order gives the same weights."""
    config = SGD.replace(steps=50)
    runs = {name: styles.STYLES[name](mnist, config) for name in order}
    ref = runs["tf1_graph"].weights
    for name, run in runs.items():
        assert max(max_abs_diff(ref, run.weights).values()) <= WEIGHT_TOL.get(name, 0.0)
    import tensorflow as tf

    assert tf.executing_eagerly()
