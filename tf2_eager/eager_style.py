"""Eager style: `tf.GradientTape` and a Keras optimizer, one Python call per op.

The TF2 rewrite of `tf1_graph/graph_style.py`, stage for stage. What the migration changes:
placeholders become function arguments, `Session.run(feed_dict=...)` becomes a direct call,
the variables initializer disappears (variables hold their value when created), and
`optimizer.minimize(loss)` becomes a `GradientTape` plus `optimizer.apply_gradients`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import (
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    iterate_batches,
    make_batch_plan,
    tf_device_name,
)
from tfparity.compat.timing import StepClock

STYLE = "eager"


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig):
    """No placeholders: each step's batch is passed to `train_step` as an argument."""
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    return plan, iterate_batches(plan, data.train.images, data.train.one_hot)


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    """Variables hold their initial value as soon as they exist: no initializer op."""
    return {"W": tf.Variable(init["W"], name="W"), "b": tf.Variable(init["b"], name="b")}


def forward(params: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    return tf.matmul(x, params["W"]) + params["b"]


# %% stage: loss
def loss_fn(logits: tf.Tensor, labels: tf.Tensor, form: str) -> tf.Tensor:
    if form == "tutorial":
        y = tf.nn.softmax(logits)
        return -tf.reduce_sum(labels * tf.math.log(y))
    xent = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(xent) if form == "mean" else tf.reduce_sum(xent)


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """Keras' optimizers with TF1's hyperparameters spelled out (Keras' Adam epsilon is 1e-7, TF1's 1e-8)."""
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate)
    return keras.optimizers.Adam(
        config.learning_rate, beta_1=config.adam_beta1, beta_2=config.adam_beta2, epsilon=config.adam_epsilon
    )


# %% stage: train step
def train_step(
    params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer, images, labels, loss_form: str
) -> tf.Tensor:
    """One update: record the forward pass on a tape, differentiate, apply."""
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(params, images), labels, loss_form)
    variables = list(params.values())
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables, strict=True))
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config)
        losses = clock.loop(
            lambda xs, ys: train_step(params, optimizer, xs, ys, config.loss),
            batches,
            finish=lambda losses: tf.stack(losses).numpy(),  # one device-to-host copy, not one per step
        )
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    return clock.result(STYLE, config, plan, {k: v.numpy() for k, v in params.items()}, losses, test_accuracy)


# %% stage: evaluate
def evaluate(params: dict[str, tf.Variable], images, labels) -> float:
    correct = tf.equal(tf.argmax(forward(params, images), 1), tf.argmax(labels, 1))
    return float(tf.reduce_mean(tf.cast(correct, tf.float32)))
