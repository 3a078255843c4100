"""Keras 3: `tf.compat.v1.layers.dense` (what `tf_upgrade_v2` writes for `tf.layers.dense`) is gone.

Three child processes, because which Keras `tf.compat.v1.layers` binds to is fixed when
TensorFlow is imported: the plain environment (fails), with `tf_keras` importable but
`TF_USE_LEGACY_KERAS` unset (still fails), and with both (trains). `tf_keras` never enters
the main environment: installed there it would change what `tf.keras` means for everything.
It lives in a target folder of its own (`tf_keras_dir()`), fetched once with
`pip install --no-deps --target` and put on the child's PYTHONPATH only. Where pip cannot
fetch it (offline), that part is reported as not measured, with pip's reason.

The rewrite fix is measured in this process: `keras.layers.Dense` is what keras_style uses.
Run as `python -m tfparity.benchmarks.pitfalls.keras3 DATA_PATH STEPS WEIGHTS_OUT.npz`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tfparity.benchmarks import cache
from tfparity.benchmarks.pitfalls.core import (
    DataLoader,
    Measurement,
    Pitfall,
    data_arg,
    load_child_data,
    print_child_result,
    run_child,
)
from tfparity.compat import TrainConfig
from tfparity.compat.api_map import mapping_for

CHILD_STEPS = 100
PIP_TIMEOUT_S = 180


def tf_keras_requirement() -> str:
    """tf_keras is released in step with TensorFlow: the same major.minor."""
    import tensorflow as tf

    major, minor = tf.__version__.split(".")[:2]
    return f"tf_keras=={major}.{minor}.*"


def tf_keras_dir() -> Path:
    """$TFPARITY_TF_KERAS_DIR, else a per-version folder in tfparity's cache folder (`benchmarks.cache`)."""
    if os.environ.get("TFPARITY_TF_KERAS_DIR"):
        return Path(os.environ["TFPARITY_TF_KERAS_DIR"])
    return cache.cache_dir() / tf_keras_requirement().replace("==", "-").replace(".*", "")


def ensure_tf_keras() -> tuple[Path | None, str]:
    """(folder holding tf_keras, "") or (None, why not). Installs into the folder once, atomically."""
    target = tf_keras_dir()
    if (target / "tf_keras").is_dir():
        return target, ""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tf_keras-", dir=target.parent))
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--target",
                str(staging),
                tf_keras_requirement(),
            ],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
        )
        if proc.returncode != 0 or not (staging / "tf_keras").is_dir():
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"pip could not install {tf_keras_requirement()} into {target}: {reason}"
        staging.rename(target)
        return target, ""
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"pip could not install {tf_keras_requirement()} into {target}: {exc}"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def child(data_path: str, steps: int, weights_out: str) -> dict:
    """The TF1 graph style with its model line written as `tf.compat.v1.layers.dense`."""
    import tensorflow as tf

    from tfparity.benchmarks.pitfalls.training import plan_batches
    from tfparity.compat import initial_weights
    from tfparity.tf1_graph import graph_style

    mnist = load_child_data("mnist", data_path)
    config = TrainConfig(steps=steps)
    init = initial_weights(config)
    graph = tf.Graph()
    try:
        with graph.as_default():
            x, y_ = graph_style.make_inputs()
            logits = tf.compat.v1.layers.dense(
                x,
                10,
                kernel_initializer=tf.compat.v1.constant_initializer(init["W"]),
                bias_initializer=tf.compat.v1.constant_initializer(init["b"]),
                name="dense",
            )
    except Exception as exc:  # the failure is the measurement
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:200],
            "tf_keras": getattr(tf.keras, "__name__", ""),
        }
    with graph.as_default():
        loss = graph_style.loss_fn(logits, y_, config.loss)
        train_op = graph_style.make_optimizer(config).minimize(loss)
        accuracy = graph_style.accuracy_op(logits, y_)
        kernel, bias = tf.compat.v1.trainable_variables()
        init_op = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        for images, labels in plan_batches(mnist, config):
            graph_style.train_step(sess, train_op, loss, {x: images, y_: labels})
        test_accuracy = graph_style.evaluate(sess, accuracy, {x: mnist.test.images, y_: mnist.test.one_hot})
        weights = sess.run({"W": kernel, "b": bias})
    np.savez(weights_out, **weights)
    return {"ok": True, "test_accuracy": test_accuracy, "tf_keras": getattr(tf.keras, "__name__", "")}


def measure_keras3(data: DataLoader) -> Measurement:
    from tfparity.benchmarks.pitfalls.training import max_weight_diff
    from tfparity.compat import max_abs_diff
    from tfparity.tf1_graph import graph_style
    from tfparity.tf2_eager import keras_style

    mnist = data("mnist")
    config = TrainConfig(steps=CHILD_STEPS)
    reference = graph_style.train(mnist, config)  # explicit W and b: the same model as dense()
    rewrite = keras_style.train(mnist, config)  # keras.layers.Dense, trained by keras.fit
    numbers: dict = {"steps": CHILD_STEPS, "max_abs_dw_rewrite_vs_tf1": max_weight_diff(reference, rewrite)}
    not_measured: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        args = [data_arg(mnist), str(CHILD_STEPS), str(Path(tmp) / "weights.npz")]
        numbers["plain"] = run_child(__name__, args, env={"TF_USE_LEGACY_KERAS": ""})
        folder, why = ensure_tf_keras()
        if folder is None:
            not_measured["tf_keras"] = why
        else:
            numbers["tf_keras_dir"] = str(folder)
            numbers["tf_keras_without_flag"] = run_child(
                __name__, args, env={"TF_USE_LEGACY_KERAS": "", "PYTHONPATH": str(folder)}
            )
            numbers["tf_keras_with_flag"] = run_child(
                __name__, args, env={"TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": str(folder)}
            )
            if numbers["tf_keras_with_flag"]["ok"]:
                with np.load(args[2]) as legacy:
                    numbers["max_abs_dw_tf_keras_vs_tf1"] = max(max_abs_diff(reference.weights, dict(legacy)).values())
    checks = {
        "plain TF 2.16+: tf.compat.v1.layers.dense raises 'not available with Keras 3'": (
            not numbers["plain"]["ok"] and "not available with Keras 3" in numbers["plain"]["error"]
        ),
        "rewrite: keras.layers.Dense trains to the TF1 weights (max |dW| <= 1e-5)": numbers["max_abs_dw_rewrite_vs_tf1"]
        <= 1e-5,
    }
    if "tf_keras_with_flag" in numbers:
        checks["tf_keras alone is not enough: without TF_USE_LEGACY_KERAS=1 it still raises"] = not numbers[
            "tf_keras_without_flag"
        ]["ok"]
        checks["tf_keras + TF_USE_LEGACY_KERAS=1: the dense line trains to the TF1 weights (max |dW| <= 1e-5)"] = (
            numbers["tf_keras_with_flag"]["ok"] and numbers["max_abs_dw_tf_keras_vs_tf1"] <= 1e-5
        )
    legacy = (
        f"tf_keras + TF_USE_LEGACY_KERAS=1: max |dW| {numbers['max_abs_dw_tf_keras_vs_tf1']:.1e}"
        if "max_abs_dw_tf_keras_vs_tf1" in numbers
        else "tf_keras: not measured here"
    )
    return Measurement(
        effect=(
            f"plain: {numbers['plain'].get('error', 'no error')}; rewrite max |dW| "
            f"{numbers['max_abs_dw_rewrite_vs_tf1']:.1e}; {legacy}"
        ),
        checks=checks,
        numbers=numbers,
        not_measured=not_measured,
    )


KERAS3_V1_LAYERS = Pitfall(
    id="keras3-v1-layers",
    title="Keras 3: tf.compat.v1.layers.dense raises on TensorFlow 2.16+",
    tf1="y = tf.layers.dense(x, 10)",
    tf2="y = tf.compat.v1.layers.dense(x, 10)  # what tf_upgrade_v2 writes",
    differs=(
        "tf.compat.v1.layers is built on Keras 2; with Keras 3 (the default since TF 2.16) it raises "
        "AttributeError '`dense` is not available with Keras 3'"
    ),
    fix=(
        f"{mapping_for('tf.compat.v1.layers.dense').gone}; both are needed, and tf_keras must match TensorFlow's "
        "version"
    ),
    measure=measure_keras3,
)


if __name__ == "__main__":
    print_child_result(child(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
