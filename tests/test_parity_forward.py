"""The forward check knows floating point: rounding-only rewrites pass, real model bugs do not.

The issue's case: an MLP with N(0, 1) weights has logits in the thousands, so a split matmul
moves them by ~1e-3, far beyond the guide's rtol 1e-6, while each stays within float32's
summation bound. No training: `train=False` runs the guide's steps 1-3 only.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfparity.compat import parity

SIZES = (784, 256, 256, 10)
NAMES = [f"{kind}{i}" for i in (1, 2, 3) for kind in ("w", "b")]


def start(scale: str = "unit") -> dict[str, np.ndarray]:
    """N(0, 1) weights (the issue's MLP: logits in the thousands), or N(0, 1/fan-in) ones (a typical net)."""
    rng = np.random.default_rng(0)
    weights = {}
    for i, (n_in, n_out) in enumerate(zip(SIZES, SIZES[1:]), 1):
        std = 1.0 if scale == "unit" else 1 / np.sqrt(n_in)
        weights[f"w{i}"] = (std * rng.standard_normal((n_in, n_out))).astype(np.float32)
        weights[f"b{i}"] = np.zeros(n_out, np.float32)
    return weights


def build_tf1() -> parity.TF1Graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, SIZES[0]])
    h = x
    for i, (n_in, n_out) in enumerate(zip(SIZES, SIZES[1:]), 1):
        w = tf.compat.v1.get_variable(f"w{i}", [n_in, n_out])
        b = tf.compat.v1.get_variable(f"b{i}", [n_out], initializer=tf.compat.v1.zeros_initializer())
        h = tf.matmul(h, w) + b
        h = tf.nn.relu(h) if i < 3 else h
    return parity.TF1Graph(inputs=x, outputs=h)


class Port(tf.Module):
    """The TF2 port, with one change planted by `variant`."""

    def __init__(self, variant: str):
        super().__init__()
        self.variant = variant
        self.vars = [
            tf.Variable(tf.zeros(shape), name=name)
            for name, shape in zip(NAMES, [s for a, b in zip(SIZES, SIZES[1:]) for s in ((a, b), (b,))])
        ]

    def matmul(self, h: tf.Tensor, w: tf.Variable, first: bool) -> tf.Tensor:
        if first and self.variant == "split_sum":
            half = w.shape[0] // 2
            return h[:, :half] @ w[:half] + h[:, half:] @ w[half:]
        if first and self.variant == "reordered_sum":
            perm = np.random.default_rng(1).permutation(w.shape[0])
            return tf.gather(h, perm, axis=1) @ tf.gather(w, perm)
        if not first and self.variant == "transposed" and w.shape[0] == w.shape[1]:
            return h @ tf.transpose(w)
        return h @ w

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        h = tf.convert_to_tensor(x)
        for i in range(3):
            w, b = self.vars[2 * i], self.vars[2 * i + 1]
            h = self.matmul(h, w, first=i == 0)
            h = h if self.variant == "missing_bias" and i == 2 else h + b
            if i < 2:
                h = tf.tanh(h) if self.variant == "tanh" and i == 1 else tf.nn.relu(h)
        return h


def check(variant: str, scale: str = "unit", **options) -> parity.ParityReport:
    rng = np.random.default_rng(2)
    x = (rng.random((64, SIZES[0])) * (rng.random((64, SIZES[0])) < 0.2)).astype(np.float32)  # MNIST-like: sparse
    batches = [(x, np.zeros((64, SIZES[-1]), np.float32))]
    reference = parity.TF1GraphSide(build_tf1, name="tf1")
    candidate = parity.TF2Side(lambda: Port(variant), name=variant)
    return parity.check_parity(reference, candidate, batches, initial_weights=start(scale), train=False, **options)


@pytest.mark.parametrize("variant", ["split_sum", "reordered_sum"])
def test_rounding_only_rewrites_pass_within_the_bound_though_beyond_the_tolerance(variant):
    report = check(variant)
    assert report.verdict == parity.PARITY, report
    assert report.forward.margin.against == "rounding bound" and report.forward.margin.ratio <= 1
    assert report.forward.worst.abs_diff > 1e-4  # far beyond the guide's rtol 1e-6 of logits in the thousands...
    strict = check(variant, rounding_bound=False)  # ...so the tolerance alone calls the same rewrite a bug
    assert strict.verdict == parity.BUG and strict.forward.margin.against == "tolerance"


@pytest.mark.parametrize("variant", ["transposed", "tanh", "missing_bias"])
def test_model_bugs_are_beyond_the_bound(variant):
    # In a typical net (N(0, 1/fan-in) weights). With N(0, 1) weights the bound, which adds up absolute
    # products through every layer, is loose enough (~40% of a logit) to hide a missing last bias there;
    # training still catches it (tests/test_verdict_accuracy.py), and docs/parity.md says so.
    report = check(variant, "fan_in")
    assert report.verdict == parity.BUG and not report.forward.ok, report
    assert report.margin.where == "outputs" and report.margin.ratio > 10
    assert report.headline.startswith(f"parity: {variant} against tf1: BUG: forward pass: ")


def test_constant_tensors_get_a_seeded_draw_so_a_missing_bias_shows():
    report = check("missing_bias", "fan_in")
    assert report.forward.probed == ["b1", "b2", "b3"]  # zero biases, drawn N(0, 1) for the forward check
    weights, probed = parity.probe_weights(start())
    assert probed == ["b1", "b2", "b3"] and np.array_equal(weights["w1"], start()["w1"])
    assert np.array_equal(weights["b3"], parity.probe_weights(start())[0]["b3"])  # seeded: the same every run


def test_the_bound_is_gamma_n_times_the_sum_of_absolute_products():
    specs = [parity.VariableSpec(n, w.shape, "float32") for n, w in start().items()]
    assert parity.summation_length(specs) == 784 + 256 + 256 + 3  # fan-ins, plus one term per bias
    bound = parity.RoundingBound(length=1000, unit_roundoff=2.0**-24, roundoff_kind="float32's", magnitudes=np.ones(2))
    assert bound.gamma == pytest.approx(1000 * 2.0**-24 / (1 - 1000 * 2.0**-24))
    np.testing.assert_allclose(bound.allowed(), [bound.gamma, bound.gamma])
