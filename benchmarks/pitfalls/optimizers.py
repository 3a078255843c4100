"""Optimizer defaults that changed: Adam's epsilon, and the default learning rates."""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.training import max_weight_diff, plan_batches, train_function_on
from tfparity.compat import TrainConfig
from tfparity.compat.api_map import mapping_for
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import function_style

ADAM_STEPS = 1000


def default_of(cls: type, parameter: str):
    """The default of `parameter` in `cls`'s constructor, read from the installed class; None when required."""
    default = inspect.signature(cls).parameters[parameter].default
    return None if default is inspect.Parameter.empty else default


def measure_adam_epsilon(data: DataLoader) -> Measurement:
    """TF1 Adam at its default epsilon against Keras Adam at Keras' default, and at TF1's."""
    mnist = data("mnist")
    tf1_eps = default_of(tf.compat.v1.train.AdamOptimizer, "epsilon")
    keras_eps = default_of(keras.optimizers.Adam, "epsilon")
    config = TrainConfig(steps=ADAM_STEPS, optimizer="adam", learning_rate=0.001, adam_epsilon=tf1_eps)
    tf1 = graph_style.train(mnist, config)
    keras_default = function_style.train(mnist, config.replace(adam_epsilon=keras_eps))
    keras_stated = function_style.train(mnist, config)
    drift, agree = max_weight_diff(tf1, keras_default), max_weight_diff(tf1, keras_stated)
    return Measurement(
        effect=(
            f"defaults {tf1_eps:g} vs {keras_eps:g}: max |dW| {drift:.1e} after {ADAM_STEPS} steps; with epsilon "
            f"stated: {agree:.1e}"
        ),
        checks={
            "the installed defaults differ": tf1_eps != keras_eps,
            f"default epsilons drift apart (max |dW| > 1e-2 after {ADAM_STEPS} steps at lr 0.001)": drift > 1e-2,
            "equal epsilons agree (max |dW| <= 1e-5) and drift >= 100x that": agree <= 1e-5 and drift >= 100 * agree,
        },
        numbers={
            "tf1_default_epsilon": tf1_eps,
            "keras_default_epsilon": keras_eps,
            "steps": ADAM_STEPS,
            "max_abs_dw_default_epsilons": drift,
            "max_abs_dw_same_epsilon": agree,
            "test_acc_tf1": tf1.test_accuracy,
            "test_acc_keras_default": keras_default.test_accuracy,
        },
    )


ADAM_EPSILON = Pitfall(
    id="adam-epsilon",
    title="Adam's epsilon: 1e-8 in tf.compat.v1.train, 1e-7 in Keras",
    tf1="tf.train.AdamOptimizer(0.001)",
    tf2="keras.optimizers.Adam(0.001)",
    differs=(
        "the default epsilon differs (read from the installed classes); on MNIST the weights drift ~1e-2 apart in "
        "1000 steps"
    ),
    fix=f"{mapping_for('tf.compat.v1.train.AdamOptimizer').fix}; tfparity's TrainConfig.adam_epsilon states it",
    measure=measure_adam_epsilon,
)


# --- default learning rates ------------------------------------------------------------------

# tf.compat.v1.train classes (what replaces each: compat.api_map) and Keras optimizers, defaults read.
TF1_TRAIN = (
    "GradientDescentOptimizer",
    "AdagradOptimizer",
    "AdadeltaOptimizer",
    "AdamOptimizer",
    "RMSPropOptimizer",
    "MomentumOptimizer",
)
KERAS = ("SGD", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam", "RMSprop")
# TF 1.x's own tf.keras optimizers (tensorflow/python/keras/optimizers.py, the Keras 2.2 API,
# `lr=` argument): quoted, because no TF1 is installed here to read them from.
TF1_KERAS_QUOTED = {
    "SGD": 0.01,
    "Adagrad": 0.01,
    "Adadelta": 1.0,
    "Adam": 0.001,
    "Adamax": 0.002,
    "Nadam": 0.002,
    "RMSprop": 0.001,
}
LR_STEPS = 300
TUTORIAL_LR = 0.5


def installed_defaults() -> dict[str, dict[str, float | None]]:
    """Default learning rates read from the installed tf.compat.v1.train and Keras classes (None: required)."""
    return {
        "tf.compat.v1.train": {
            name: default_of(getattr(tf.compat.v1.train, name), "learning_rate") for name in TF1_TRAIN
        },
        "keras.optimizers": {name: default_of(getattr(keras.optimizers, name), "learning_rate") for name in KERAS},
    }


def measure_default_learning_rates(data: DataLoader) -> Measurement:
    """The defaults, and what leaving them out costs: SGD() for GradientDescent(0.5), Adadelta() for Adadelta(1.0)."""
    mnist = data("mnist")
    defaults = installed_defaults()
    config = TrainConfig(steps=LR_STEPS, learning_rate=TUTORIAL_LR)
    tutorial = graph_style.train(mnist, config)
    sgd_default = train_function_on(mnist, config, plan_batches(mnist, config), optimizer=keras.optimizers.SGD())
    adadelta_default = train_function_on(
        mnist, config, plan_batches(mnist, config), optimizer=keras.optimizers.Adadelta()
    )
    adadelta_tf1_keras = train_function_on(
        mnist,
        config,
        plan_batches(mnist, config),
        optimizer=keras.optimizers.Adadelta(learning_rate=TF1_KERAS_QUOTED["Adadelta"]),
    )
    changed = [
        n for n in ("Adagrad", "Adadelta", "Adamax", "Nadam") if defaults["keras.optimizers"][n] != TF1_KERAS_QUOTED[n]
    ]
    sgd_drop = tutorial.test_accuracy - sgd_default.test_accuracy
    adadelta_drop = adadelta_tf1_keras.test_accuracy - adadelta_default.test_accuracy
    return Measurement(
        effect=(
            f"GradientDescentOptimizer lr required, SGD() = {defaults['keras.optimizers']['SGD']:g}: test acc "
            f"{sgd_default.test_accuracy:.3f} vs {tutorial.test_accuracy:.3f} at 0.5; Adadelta() = "
            f"{defaults['keras.optimizers']['Adadelta']:g} vs TF1 tf.keras 1.0: "
            f"{adadelta_default.test_accuracy:.3f} vs "
            f"{adadelta_tf1_keras.test_accuracy:.3f} ({LR_STEPS} steps); changed: {', '.join(changed)}"
        ),
        checks={
            "tf.compat.v1.train.GradientDescentOptimizer has no default learning rate, keras SGD has one": (
                defaults["tf.compat.v1.train"]["GradientDescentOptimizer"] is None
                and defaults["keras.optimizers"]["SGD"] is not None
            ),
            "Keras' Adagrad, Adadelta, Adamax and Nadam defaults differ from TF1's tf.keras (quoted)": (
                len(changed) == 4
            ),
            f"SGD() left at its default trains worse than the tutorial's 0.5 (>= 2 points after {LR_STEPS} steps)": (
                sgd_drop >= 0.02
            ),
            "Adadelta() at Keras' default barely trains against TF1 tf.keras' 1.0 (>= 10 points lower)": (
                adadelta_drop >= 0.10
            ),
        },
        numbers={
            "installed": defaults,
            "tf1_tf_keras_quoted": TF1_KERAS_QUOTED,
            "changed_vs_tf1_tf_keras": changed,
            "steps": LR_STEPS,
            "test_acc_gradient_descent_0.5": tutorial.test_accuracy,
            "test_acc_keras_sgd_default": sgd_default.test_accuracy,
            "test_acc_adadelta_keras_default": adadelta_default.test_accuracy,
            "test_acc_adadelta_1.0": adadelta_tf1_keras.test_accuracy,
        },
    )


DEFAULT_LEARNING_RATES = Pitfall(
    id="default-learning-rates",
    title="default learning rates: required in tf.compat.v1.train, changed in Keras",
    tf1="tf.train.GradientDescentOptimizer(0.5); tf.keras.optimizers.Adadelta()  # TF1 tf.keras: lr=1.0",
    tf2="keras.optimizers.SGD(); keras.optimizers.Adadelta()  # Keras 3: 0.01 and 0.001",
    differs=(
        "GradientDescentOptimizer has no default (SGD() quietly uses 0.01); Keras 3's "
        "Adagrad/Adadelta/Adamax/Nadam default to 0.001, TF1's tf.keras to 0.01/1.0/0.002/0.002"
    ),
    fix="always pass learning_rate= explicitly, copied from the TF1 code or its library's documented default",
    measure=measure_default_learning_rates,
)
