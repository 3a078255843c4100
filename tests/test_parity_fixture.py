"""The `parity_check` fixture as a user sees it: pytest run on a failing migration in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

FAILING_MIGRATION = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from tfparity.compat import parity

    INIT = keras.initializers.GlorotUniform(seed=1)


    def build_tf1():
        x = tf.compat.v1.placeholder(tf.float32, [None, 20])
        y = tf.compat.v1.placeholder(tf.float32, [None, 3])
        with tf.compat.v1.variable_scope("dense"):
            w = tf.compat.v1.get_variable("kernel", [20, 3], initializer=INIT)
            b = tf.compat.v1.get_variable("bias", [3], initializer=tf.compat.v1.zeros_initializer())
        logits = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return parity.TF1Graph(inputs=x, labels=y, outputs=logits, loss=loss, train_op=train_op)


    def make_keras():
        model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(3, kernel_initializer=INIT, name="dense")])
        # The planted bug: a summed loss where TF1 took the mean.
        loss = keras.losses.CategoricalCrossentropy(from_logits=True, reduction="sum")
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        return model


    def test_migration(parity_check):
        rng = np.random.default_rng(0)
        x = rng.random((200, 20), dtype=np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 200)]
        batches = parity.planned_batches(x, y, batch_size=16, steps=10, seed=0)
        tf2 = parity.TF2Side(make_keras, name="keras", name_map=lambda name: name.split("/", 1)[1])
        parity_check(parity.TF1GraphSide(build_tf1, name="tf1"), tf2, batches)
    """
)


def test_a_failing_check_shows_the_report_once_with_the_verdict_as_its_summary(tmp_path):
    (tmp_path / "test_migration.py").write_text(FAILING_MIGRATION, encoding="utf-8")
    # -ra cuts its lines to the terminal's width; on CI (CI or BUILD_NUMBER set) it prints the whole
    # message instead, the report a second time by pytest's design: this test is about a terminal.
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "400"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", "test_migration.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    # The report, once: pytest.fail outside the except block, so no chained AssertionError repeats it.
    assert out.count("variables: 2 on both sides") == 1, out
    assert "During handling of the above exception" not in out and "AssertionError" not in out, out
    # The -ra line is the report's first line (after pytest.fail's "Failed:"): the verdict and where it was decided.
    summary = next(line for line in out.splitlines() if line.startswith("FAILED test_migration.py::test_migration"))
    assert summary.startswith("FAILED test_migration.py::test_migration - Failed: parity: keras against tf1: BUG: ")
    assert "loss" in summary and "step 0" in summary, summary  # a summed loss differs from the first batch
