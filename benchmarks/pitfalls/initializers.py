"""Initial weights: the tutorial's zeros, Keras Dense's glorot_uniform, tutorials' tf.random.normal."""

from __future__ import annotations

import inspect

import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.compat import TrainConfig
from tfparity.tf2_eager import function_style

INIT_STEPS = 300


def measure_initializers(data: DataLoader) -> Measurement:
    """Test accuracy after the same steps from zeros, glorot_uniform and N(0, tf.random.normal's default stddev^2)."""
    mnist = data("mnist")
    normal_stddev = (
        inspect.signature(tf.random.normal).parameters["stddev"].default
    )  # what `tf.random.normal([784, 10])` draws
    base = TrainConfig(steps=INIT_STEPS)
    runs = {
        "zeros": function_style.train(mnist, base.replace(init="zeros")),
        "glorot_uniform": function_style.train(mnist, base.replace(init="glorot_uniform")),
        f"normal(stddev={normal_stddev:g})": function_style.train(
            mnist, base.replace(init="normal", init_stddev=normal_stddev)
        ),
    }
    acc = {name: run.test_accuracy for name, run in runs.items()}
    normal_key = f"normal(stddev={normal_stddev:g})"
    return Measurement(
        effect=f"test accuracy after {INIT_STEPS} steps (SGD 0.5): "
        + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()),
        checks={
            "zeros and glorot_uniform end within 1 point of each other": abs(acc["zeros"] - acc["glorot_uniform"])
            <= 0.01,
            f"tf.random.normal's default stddev {normal_stddev:g} ends >= 2 points below zeros": acc["zeros"]
            - acc[normal_key]
            >= 0.02,
        },
        numbers={"steps": INIT_STEPS, "tf_random_normal_default_stddev": normal_stddev, "test_accuracy": acc},
    )


INITIALIZERS = Pitfall(
    id="initializers",
    title="initializers: tutorial zeros vs Dense's glorot_uniform vs tf.random.normal",
    tf1="W = tf.Variable(tf.zeros([784, 10]))  # or tf.Variable(tf.random_normal([784, 10]))",
    tf2="keras.layers.Dense(10)  # kernel_initializer='glorot_uniform'",
    differs=(
        "moving to Dense changes the initial weights; tf.random.normal's default stddev 1.0 starts far off and "
        "needs many more steps"
    ),
    fix=(
        "pass kernel_initializer='zeros' (or set_weights) to reproduce TF1 runs; give tf.random.normal an explicit "
        "small stddev"
    ),
    measure=measure_initializers,
)
