"""RMSprop's accumulator and epsilon: TF1's mean square starts at ones with epsilon 1e-10, Keras' at zeros with 1e-7.

Measured on the Keras "first look at a neural network" MLP (784-512-10, relu, RMSprop 0.001,
batch 128), the same start and batches on both sides and one loss (mean softmax cross-entropy of
the logits), so only the optimizer differs. TF1's first updates divide by sqrt(~0.9): about
lr * g, plain gradient descent. Keras' divide by sqrt(0.1 g^2): about 3.2 lr per weight, whatever
the gradient. The two only meet once TF1's ones have decayed (0.9^k).
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.optimizers import default_of
from tfparity.benchmarks.pitfalls.training import plan_batches
from tfparity.compat import Datasets, TrainConfig
from tfparity.compat.api_map import mapping_for
from tfparity.compat.metrics import accuracy, largest_abs_diff
from tfparity.tf2_eager import mlp_eager

STEPS = 469  # one epoch of 60,000 at batch 128
BATCH = 128
LEARNING_RATE = 0.001  # Keras' default, which the example keeps
HIDDEN = 512
SEED = 0
Weights = dict[str, np.ndarray]


def first_look_start(seed: int = SEED) -> Weights:
    """Glorot-uniform kernels and zero biases (Keras' Dense defaults), drawn once for both sides."""
    rng = np.random.default_rng(seed)

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)

    return {
        "hidden/kernel": glorot(784, HIDDEN),
        "hidden/bias": np.zeros(HIDDEN, np.float32),
        "output/kernel": glorot(HIDDEN, 10),
        "output/bias": np.zeros(10, np.float32),
    }


def logits_of(params: dict, x: tf.Tensor) -> tf.Tensor:
    hidden = tf.nn.relu(tf.matmul(x, params["hidden/kernel"]) + params["hidden/bias"])
    return tf.matmul(hidden, params["output/kernel"]) + params["output/bias"]


def train_tf1(data: Datasets, start: Weights, batches: Iterable) -> tuple[Weights, float, float]:
    """TF1's RMSPropOptimizer at its defaults: final weights, test accuracy, its accumulator's first value."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 784])
        y_ = tf.compat.v1.placeholder(tf.float32, [None, 10])
        params = {n: tf.compat.v1.Variable(w, name=n.replace("/", "_")) for n, w in start.items()}
        logits = logits_of(params, x)
        loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
        optimizer = tf.compat.v1.train.RMSPropOptimizer(LEARNING_RATE)
        train_op = optimizer.minimize(loss)
        first_rms = optimizer.get_slot(params["hidden/kernel"], "rms")
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        accumulator_start = float(np.mean(sess.run(first_rms)))
        for images, labels in batches:
            sess.run(train_op, {x: images, y_: labels})
        outputs = sess.run(logits, {x: data.test.images})
        weights = sess.run(params)
    return weights, accuracy(outputs, data.test.labels), accumulator_start


def train_keras(
    data: Datasets, start: Weights, batches: Iterable, optimizer: keras.optimizers.RMSprop, velocity_start: float
) -> tuple[Weights, float, float]:
    """Keras' RMSprop in a tf.function step, its velocities set to `velocity_start` after building."""
    params = {n: tf.Variable(w, name=n.replace("/", "_")) for n, w in start.items()}
    optimizer.build(list(params.values()))
    velocities = mlp_eager.rmsprop_velocities(optimizer)
    for v in velocities:
        v.assign(tf.fill(v.shape, velocity_start))
    accumulator_start = float(np.mean(velocities[0].numpy()))

    @tf.function
    def step(images: tf.Tensor, labels: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits_of(params, images))
            )
        variables = list(params.values())
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    for images, labels in batches:
        step(tf.constant(images), tf.constant(labels))
    outputs = logits_of(params, tf.constant(data.test.images)).numpy()
    return {n: v.numpy() for n, v in params.items()}, accuracy(outputs, data.test.labels), accumulator_start


def measure_rmsprop_defaults(data: DataLoader) -> Measurement:
    """TF1's RMSPropOptimizer against Keras' RMSprop at its defaults, and stated as TF1's (epsilon, ones)."""
    mnist = data("mnist")
    start = first_look_start()
    config = TrainConfig(steps=STEPS, batch_size=BATCH, seed=SEED)
    tf1_eps = default_of(tf.compat.v1.train.RMSPropOptimizer, "epsilon")
    keras_eps = default_of(keras.optimizers.RMSprop, "epsilon")
    tf1, tf1_acc, tf1_accumulator = train_tf1(mnist, start, plan_batches(mnist, config))
    default, default_acc, keras_accumulator = train_keras(
        mnist, start, plan_batches(mnist, config), keras.optimizers.RMSprop(LEARNING_RATE), 0.0
    )
    stated, stated_acc, _ = train_keras(
        mnist, start, plan_batches(mnist, config), keras.optimizers.RMSprop(LEARNING_RATE, epsilon=tf1_eps), 1.0
    )
    ones_only, ones_only_acc, _ = train_keras(
        mnist, start, plan_batches(mnist, config), keras.optimizers.RMSprop(LEARNING_RATE), 1.0
    )
    epsilon_only, epsilon_only_acc, _ = train_keras(
        mnist, start, plan_batches(mnist, config), keras.optimizers.RMSprop(LEARNING_RATE, epsilon=tf1_eps), 0.0
    )
    drift, agree = largest_abs_diff(tf1, default), largest_abs_diff(tf1, stated)
    drift_epsilon, drift_zeros = largest_abs_diff(tf1, ones_only), largest_abs_diff(tf1, epsilon_only)
    return Measurement(
        effect=(
            f"accumulator starts {tf1_accumulator:g} vs {keras_accumulator:g}, epsilon {tf1_eps:g} vs {keras_eps:g}: "
            f"max |dW| {drift:.2g} and test acc {tf1_acc:.4f} vs {default_acc:.4f} after {STEPS} steps; "
            f"stated as TF1's: {agree:.1e}, {stated_acc:.4f}; the zeros alone {drift_zeros:.2g}, the epsilon alone "
            f"{drift_epsilon:.2g}"
        ),
        checks={
            "the installed defaults differ (accumulator ones vs zeros, epsilon 1e-10 vs 1e-7)": (
                tf1_accumulator == 1.0 and keras_accumulator == 0.0 and tf1_eps == 1e-10 and keras_eps == 1e-7
            ),
            f"the defaults drift apart (max |dW| > 1e-2 after {STEPS} steps)": drift > 1e-2,
            "TF1's epsilon and ones stated in Keras agree (max |dW| <= 1e-4) and the defaults drift >= 100x that": (
                agree <= 1e-4 and drift >= 100 * agree
            ),
            "stated as TF1's, the same test accuracy within 0.1 point": abs(stated_acc - tf1_acc) <= 1e-3,
            "the accumulator's start alone moves the weights >= 100x as far as stating both": drift_zeros
            >= 100 * agree,
        },
        numbers={
            "steps": STEPS,
            "batch_size": BATCH,
            "learning_rate": LEARNING_RATE,
            "tf1_accumulator_start": tf1_accumulator,
            "keras_accumulator_start": keras_accumulator,
            "tf1_default_epsilon": tf1_eps,
            "keras_default_epsilon": keras_eps,
            "max_abs_dw_defaults": drift,
            "max_abs_dw_stated": agree,
            "max_abs_dw_zeros_start_only": drift_zeros,
            "max_abs_dw_keras_epsilon_only": drift_epsilon,
            "test_acc_keras_zeros_start_only": epsilon_only_acc,
            "test_acc_keras_epsilon_only": ones_only_acc,
            "test_acc_tf1": tf1_acc,
            "test_acc_keras_default": default_acc,
            "test_acc_keras_stated": stated_acc,
        },
    )


RMSPROP_DEFAULTS = Pitfall(
    id="rmsprop-defaults",
    title="RMSprop: TF1's mean square starts at ones with epsilon 1e-10, Keras' at zeros with 1e-7",
    tf1="tf.train.RMSPropOptimizer(0.001)",
    tf2="keras.optimizers.RMSprop(0.001)",
    differs=(
        "TF1's first updates are about lr * g (divided by sqrt(0.9)), Keras' about 3.2 lr whatever the gradient "
        "(divided by sqrt(0.1 g^2)); the epsilon differs too (read from the installed classes), and each alone moves "
        "the weights"
    ),
    fix=mapping_for("tf.compat.v1.train.RMSPropOptimizer").fix,
    measure=measure_rmsprop_defaults,
)
