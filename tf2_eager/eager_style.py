"""Eager style: `tf.GradientTape` and a Keras optimizer, one Python call per op.

The TF2 rewrite of `tf1_graph/graph_style.py`, stage for stage. What the migration changes:
placeholders become function arguments, `Session.run(feed_dict=...)` becomes a direct call,
the variables initializer disappears (variables hold their value when created), and
`optimizer.minimize(loss)` becomes a `GradientTape` plus `optimizer.apply_gradients`.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, iterate_batches, make_batch_plan, step_timing, tf_device_name

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
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate)
    return keras.optimizers.Adam(
        config.learning_rate, beta_1=config.adam_beta1, beta_2=config.adam_beta2, epsilon=config.adam_epsilon
    )


# %% stage: train step
def train_step(params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer, images, labels, loss_form: str) -> tf.Tensor:
    """One update: record the forward pass on a tape, differentiate, apply."""
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(params, images), labels, loss_form)
    variables = list(params.values())
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    t_begin = time.perf_counter()
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config)
        losses = []
        t_start = t_first = time.perf_counter()
        for step, (batch_xs, batch_ys) in enumerate(batches):
            losses.append(train_step(params, optimizer, batch_xs, batch_ys, config.loss))
            if step == 0:
                t_first = time.perf_counter()
        losses = tf.stack(losses).numpy()  # one device-to-host copy, not one per step
        t_end = time.perf_counter()
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights={k: v.numpy() for k, v in params.items()}, losses=losses,
        test_accuracy=test_accuracy, steps=config.steps, seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step, plan_fingerprint=plan.fingerprint, device=config.device,
        extra={"first_step_ms": first_ms},
    )


# %% stage: evaluate
def evaluate(params: dict[str, tf.Variable], images, labels) -> float:
    correct = tf.equal(tf.argmax(forward(params, images), 1), tf.argmax(labels, 1))
    return float(tf.reduce_mean(tf.cast(correct, tf.float32)))
