"""tfparity.compat.parity on a two-layer model written both ways (tests/two_layer.py): the correct
migration passes, each planted TF2-side bug is caught and named, the report reads and
serializes, the pytest helpers fail with the report, and the randomness recipe holds."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import keras
import numpy as np
import pytest
import tensorflow as tf
import two_layer

from tfparity.compat import parity

STEPS, BATCH = 30, 64


@pytest.fixture(scope="module")
def batches(mnist):
    return parity.planned_batches(mnist.train.images, mnist.train.one_hot, batch_size=BATCH, steps=STEPS, seed=0)


@pytest.fixture(scope="module")
def sgd_reports(batches):
    """The correct Keras migration and every SGD bug, against one TF1 run."""
    tf1, _ = two_layer.sides("sgd", 0.1)
    candidates = {
        bug or "correct": two_layer.sides("sgd", 0.1, bug)[1]
        for bug in (None, "wrong_initializer", "transposed_kernel", "sum_loss")
    }
    return parity.check_many(tf1, candidates, batches)


@pytest.fixture(scope="module")
def adam_reports(batches):
    tf1, _ = two_layer.sides("adam", 1e-3)
    candidates = {bug or "correct": two_layer.sides("adam", 1e-3, bug)[1] for bug in (None, "adam_epsilon")}
    return parity.check_many(tf1, candidates, batches)


# --- the correct migration passes ----------------------------------------------------------


@pytest.mark.parametrize("reports", ["sgd_reports", "adam_reports"])
def test_two_layer_migration_is_at_parity(request, reports):
    report = request.getfixturevalue(reports)["correct"]
    assert report.verdict == parity.PARITY and report.ok, f"\n{report}"
    assert [v.name for v in report.variables] == ["hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"]
    assert not report.variable_mismatches and report.named() == set()
    assert all(not d.beyond for d in report.initial_values)  # seeded Keras initializers agree in both worlds
    assert report.forward.ok and report.trajectory.ok and report.trajectory.steps == STEPS
    assert report.trajectory.max_weight_divergence <= parity.GUIDE_TOLERANCE.atol


# --- each planted bug is caught and named --------------------------------------------------


def test_wrong_initializer_is_caught_on_hidden_kernel(sgd_reports):
    report = sgd_reports["wrong_initializer"]
    assert report.verdict == parity.BUG
    assert [d.where for d in report.initial_values if d.beyond] == ["hidden/kernel"]
    assert report.named() == {"hidden/kernel"}
    assert "initial values differ" in str(report) and "hidden/kernel[" in str(report)
    # The numerical checks start both sides from the reference's values, so only the initializer is blamed.
    assert report.forward.ok and report.trajectory.ok


def test_transposed_kernel_is_caught_by_the_variables_check(sgd_reports):
    report = sgd_reports["transposed_kernel"]
    assert report.verdict == parity.BUG
    assert [(m.kind, m.name, m.reference, m.candidate) for m in report.variable_mismatches] == [
        ("shape", "hidden/kernel", "(784, 64)", "(64, 784)")
    ]
    assert report.trajectory is None and "numerical checks skipped" in str(report)


def test_sum_loss_is_caught_at_step_0(sgd_reports):
    report = sgd_reports["sum_loss"]
    first = report.trajectory.first_divergence
    assert report.verdict == parity.BUG and report.forward.ok  # same model, different loss
    assert (first.step, first.where) == (0, "loss")
    assert first.candidate == pytest.approx(BATCH * first.reference, rel=1e-5)  # summed over the batch of 64
    assert "step 0: loss" in str(report)


def test_adam_epsilon_is_caught_in_the_first_steps_on_a_named_variable(adam_reports):
    report = adam_reports["adam_epsilon"]
    first = report.trajectory.first_divergence
    assert report.verdict == parity.BUG
    assert (
        report.forward.ok
        and first.step <= 3
        and first.where in {"hidden/kernel", "logits/kernel", "hidden/bias", "logits/bias"}
    )
    assert report.envelope is not None and not report.envelope.explains  # far above what 1 ulp grows to
    assert f"step {first.step}: {first.where}[" in str(report)


def test_keras_adam_default_epsilon_is_1e_7_and_tf1_is_1e_8():
    """Why the adam_epsilon bug is the one a migration makes by leaving defaults alone."""
    assert keras.optimizers.Adam().epsilon == 1e-7
    assert tf.compat.v1.train.AdamOptimizer()._epsilon == 1e-8


# --- tolerances, variables check, report -----------------------------------------------------


def test_tolerance_tighter_than_rounding_reports_sensitivity_not_a_bug(batches):
    """At atol 1e-9 the correct Adam migration leaves the tolerance (it differs by ~1e-7), but the
    1-ulp growth explains it: correct code is never called a bug for float32 rounding."""
    tf1, keras_side = two_layer.sides("adam", 1e-3)
    report = parity.check_parity(tf1, keras_side, batches, tolerance=parity.Tolerance(rtol=0, atol=1e-9))
    assert report.verdict == parity.SENSITIVE and not report.ok and report.passes(allow_sensitive=True)
    assert report.growth is not None and report.envelope.explains
    assert report.trajectory.first_divergence is not None


def test_variables_check_lists_every_mismatch(batches):
    def one_layer_float64() -> keras.Model:  # no hidden layer, a float64 output layer, an extra variable
        model = keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(10, dtype="float64", name="logits"),
                keras.layers.Dense(3, name="extra"),
                keras.layers.Dense(2, name="extra2"),
            ],
            name="m",
        )
        model.compile(optimizer="sgd", loss="mse")
        return model

    tf1 = parity.TF1GraphSide(two_layer.build_tf1)
    bad = parity.TF2Side(one_layer_float64, name_map=two_layer.keras_names)
    report = parity.check_parity(tf1, bad, batches)
    kinds = {(m.kind, m.name) for m in report.variable_mismatches}
    assert ("count", "") in kinds  # 6 variables against 4
    assert {
        ("missing", "hidden/kernel"),
        ("missing", "hidden/bias"),
        ("unexpected", "extra/kernel"),
        ("unexpected", "extra/bias"),
        ("dtype", "logits/kernel"),
        ("dtype", "logits/bias"),
    } <= kinds
    assert ("shape", "logits/kernel") in kinds  # (64, 10) in TF1, (784, 10) here
    text = str(report)
    assert all(name in text for _, name in kinds if name)


def test_name_map_can_be_a_dict(batches):
    names = {
        f"two_layer/{layer}/{kind}": f"{layer}/{kind}" for layer in ("hidden", "logits") for kind in ("kernel", "bias")
    }
    tf1 = parity.TF1GraphSide(two_layer.build_tf1)
    tf2 = parity.TF2Side(two_layer.make_keras, name_map=names)
    assert parity.check_parity(tf1, tf2, batches[:3]).ok


def test_variables_created_on_every_call_are_caught(batches):
    """The guide's step 1: a model that makes a new variable on each call trains nothing."""

    class RecreatesItsKernel(tf.Module):
        def __call__(self, x):
            self.kernel = tf.Variable(tf.zeros([784, 10]), name="kernel")  # the bug: a fresh variable each call
            return tf.matmul(x, self.kernel)

    def build_tf1() -> parity.TF1Graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 784])
        kernel = tf.compat.v1.get_variable("kernel", [784, 10], initializer=tf.compat.v1.zeros_initializer())
        return parity.TF1Graph(inputs=x, outputs=tf.matmul(x, kernel))

    report = parity.check_parity(parity.TF1GraphSide(build_tf1), parity.TF2Side(RecreatesItsKernel), batches[:1])
    assert [(m.kind, m.name) for m in report.variable_mismatches] == [("recreated", "kernel")]
    assert report.verdict == parity.BUG


def test_forward_only_check_with_the_guides_constant_weights(batches):
    tf1, tf2 = two_layer.sides("sgd", 0.1)
    report = parity.check_parity(tf1, tf2, batches[:2], forward_weights=0.001, train=False)
    assert report.verdict == parity.PARITY and report.trajectory is None
    assert report.forward.ok and "constant 0.001" in report.forward.weights


def test_forward_outputs_of_another_shape_are_a_bug(batches):
    tf1 = parity.TF1GraphSide(two_layer.build_tf1)
    first_five = parity.TF2Side(
        two_layer.make_keras, forward=lambda model, x: model(x)[:, :5], name_map=two_layer.keras_names
    )
    report = parity.check_parity(tf1, first_five, batches[:1], train=False)
    assert report.verdict == parity.BUG and report.named() == {"outputs"}
    assert "outputs have shape (64, 10) on tf1, (64, 5) on tf2" in str(report)


def test_given_initial_weights_and_sparse_weight_records(batches):
    rng = np.random.default_rng(3)
    shapes = {"hidden/kernel": (784, 64), "hidden/bias": (64,), "logits/kernel": (64, 10), "logits/bias": (10,)}
    start = {name: (0.05 * rng.standard_normal(shape)).astype(np.float32) for name, shape in shapes.items()}
    tf1, tf2 = two_layer.sides("sgd", 0.1)
    report = parity.check_parity(tf1, tf2, batches, initial_weights=start, record_every=10)
    assert report.verdict == parity.PARITY, f"\n{report}"
    assert report.forward.weights.startswith("the given initial weights")
    assert report.start == "the given initial weights"
    assert report.trajectory.weight_steps == [0, 10, 20, 30] and len(report.trajectory.loss_divergence) == STEPS
    with pytest.raises(ValueError, match=r"initial_weights has no value for \['logits/bias'\]"):
        parity.check_parity(tf1, tf2, batches, initial_weights={k: v for k, v in start.items() if k != "logits/bias"})


def test_report_reads_and_serializes(sgd_reports):
    for report in sgd_reports.values():
        text = str(report)
        head = f"parity: {report.candidate} against tf1: {report.verdict.upper()}: "
        assert text.splitlines()[0] == report.headline and report.headline.startswith(head)
        assert report.summary and report.headline.endswith(report.summary)  # what decided it, on the first line
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert data["verdict"] == report.verdict and data["ok"] == report.ok
        assert data["named"] == sorted(report.named())
    correct = sgd_reports["correct"]
    assert correct.margin.against == "tolerance" and correct.margin.describe() in correct.headline
    correct = correct.to_dict()
    assert len(correct["trajectory"]["reference_losses"]) == STEPS
    assert correct["trajectory"]["weight_steps"] == list(range(STEPS + 1))


def test_perturbation_is_one_ulp_at_each_tensors_scale():
    weights = {"w": np.array([[0.5, -0.25], [0.0, 0.125]], np.float32), "b": np.zeros(3, np.float32)}
    moved = parity.perturb_one_ulp(weights, {"w": 0.5, "b": 0.03})
    np.testing.assert_array_equal(np.abs(moved["w"] - weights["w"]), np.spacing(np.float32(0.5)))
    np.testing.assert_array_equal(np.abs(moved["b"]), np.spacing(np.float32(0.03)))
    assert moved["w"].dtype == np.float32


# --- the pytest helpers ----------------------------------------------------------------------


def test_assert_parity_raises_with_the_report(batches):
    tf1, buggy = two_layer.sides("sgd", 0.1, "sum_loss")
    with pytest.raises(AssertionError, match=r"(?s)BUG.*step 0: loss"):
        parity.assert_parity(tf1, buggy, batches[:3])
    tf1, correct = two_layer.sides("sgd", 0.1)
    assert parity.assert_parity(tf1, correct, batches[:3]).ok


def test_plugin_is_registered_as_a_pytest11_entry_point():
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("tfparity") == "tfparity.compat.pytest_plugin"


def test_importing_the_plugin_loads_no_tensorflow():
    """Every pytest run loads the plugin: it must cost a suite that never checks parity nothing."""
    code = "import sys, tfparity.compat.pytest_plugin; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr


def test_compat_imports_nothing_of_the_styles_or_the_benchmarks():
    """compat is the ground floor: the styles and the benchmarks import it, never the other way round."""
    code = (
        "import pkgutil, importlib, sys, tfparity.compat as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'tfparity.compat.'): importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.startswith(('tfparity.benchmarks', 'tfparity.tf1_graph', "
        "'tfparity.tf2_eager'))))"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"


def test_parity_check_fixture_fails_the_test_with_the_report(parity_check, batches):
    """`parity_check` reaches this file through the entry point only (no conftest defines it)."""
    tf1, correct = two_layer.sides("sgd", 0.1)
    assert parity_check(tf1, correct, batches[:3]).ok
    tf1, buggy = two_layer.sides("sgd", 0.1, "transposed_kernel")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)BUG.*shape\s+hidden/kernel\s+\(784, 64\)\s+\(64, 784\)"):
        parity_check(tf1, buggy, batches[:3])


# --- the randomness recipe (module docstring of compat.parity.randomness) --------------------


def run_in_graph(build):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(7)
        out = build()
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        return sess.run(out)


def run_eagerly(build):
    tf.random.set_seed(7)
    return [t.numpy() for t in build()]


def test_seeded_keras_initializer_agrees_in_a_tf1_graph_and_in_a_keras_layer():
    in_graph = run_in_graph(
        lambda: tf.compat.v1.get_variable(
            "k", [784, 64], initializer=keras.initializers.GlorotUniform(seed=1)
        ).read_value()
    )
    layer = keras.layers.Dense(64, kernel_initializer=keras.initializers.GlorotUniform(seed=1))
    layer.build((None, 784))
    np.testing.assert_array_equal(in_graph, layer.kernel.numpy())


def test_stateless_ops_agree_in_a_graph_and_eagerly():
    def build():
        return [
            tf.random.stateless_normal([5, 7], seed=[3, 4]),
            tf.nn.experimental.stateless_dropout(tf.ones([4, 5]), 0.5, seed=[1, 2]),
        ]

    for g, e in zip(run_in_graph(build), run_eagerly(build)):
        np.testing.assert_array_equal(g, e)


def test_stateful_ops_agree_only_with_global_and_distinct_op_seeds():
    def with_op_seeds():
        return [
            tf.random.uniform([3], seed=1),
            tf.random.normal([3], seed=2),
            tf.compat.v1.glorot_uniform_initializer(seed=3)([4, 4]),
        ]

    assert all(np.array_equal(g, e) for g, e in zip(run_in_graph(with_op_seeds), run_eagerly(with_op_seeds)))
    global_only = lambda: [tf.random.uniform([3]), tf.random.normal([3])]  # noqa: E731
    assert not any(np.array_equal(g, e) for g, e in zip(run_in_graph(global_only), run_eagerly(global_only)))
    reused = lambda: [tf.random.uniform([3], seed=1), tf.random.uniform([3], seed=1)]  # noqa: E731
    g, e = run_in_graph(reused), run_eagerly(reused)
    assert np.array_equal(g[0], e[0]) and np.array_equal(g[0], g[1]) and not np.array_equal(e[0], e[1])


def test_set_random_seed_does_not_make_tf1_and_keras3_initializers_agree():
    def tf1_glorot():
        tf.compat.v1.set_random_seed(1)
        return tf.compat.v1.get_variable(
            "k", [784, 64], initializer=tf.compat.v1.glorot_uniform_initializer()
        ).read_value()

    in_graph = run_in_graph(tf1_glorot)
    keras.utils.set_random_seed(1)
    eager = keras.initializers.GlorotUniform()(shape=(784, 64)).numpy()
    assert not np.allclose(in_graph, eager)


@pytest.mark.parametrize("mode", ["constant", "num_random_ops"])
def test_deterministic_op_seeds_is_the_guides_tool(mode):
    def build():
        return [
            tf.random.uniform([3, 1]),
            tf.random.normal([3, 3]),
            tf.compat.v1.glorot_uniform_initializer()([4, 4]),
        ]

    with parity.deterministic_op_seeds(mode=mode):
        in_graph = run_in_graph(build)
    with parity.deterministic_op_seeds(mode=mode):
        eager = [t.numpy() for t in build()]
        dense = keras.layers.Dense(4)
        dense.build((None, 4))
    for g, e in zip(in_graph, eager):
        np.testing.assert_array_equal(g, e)
    assert not np.allclose(dense.kernel.numpy(), in_graph[2])  # Keras 3 layers never ask TF for seeds


def test_deterministic_op_seeds_refuses_a_reused_op_seed():
    with parity.deterministic_op_seeds(mode="num_random_ops") as seeds:
        tf.random.uniform([2])
        seeds.operation_seed = 0
        with pytest.raises(ValueError, match="operation seed 0 was already used"):
            tf.random.uniform([2])
