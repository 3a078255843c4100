"""Eager style, the MLPs: `tf.GradientTape` and Keras' optimizers, stage for stage with `tf1_graph/mlp_graph.py`.

What the migration changes beyond the softmax model's (`eager_style.py`): the optimizer.
`keras.optimizers.RMSprop` starts its mean square at zeros with epsilon 1e-7, TF1's at ones with
1e-10; this style states TF1's epsilon and sets the velocities to ones after `build()`, so that
both train the same model (the `rmsprop-defaults` pitfall measures what the defaults cost). And
`keep_prob` becomes `rate`: dropout takes the fraction dropped, and a step's mask is seeded by the
step the optimizer has counted (compat.models says why).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import eager_style

STYLE = "eager"


# %% stage: data
make_inputs = eager_style.make_inputs  # unchanged: batches arrive as arguments


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    """Variables hold their initial value as soon as they exist: no initializer op."""
    return {name: tf.Variable(value, name=name) for name, value in init.items()}


def forward(
    params: dict[str, tf.Variable], x: tf.Tensor, dropout_rate: float = 0.0, dropout_seed: tf.Tensor | None = None
) -> tf.Tensor:
    """The logits; with a rate and a seed (training), the hidden layer's dropout first."""
    hidden = tf.nn.relu(tf.matmul(x, params["hidden/kernel"]) + params["hidden/bias"])
    if dropout_rate:
        hidden = dropout(hidden, dropout_rate, dropout_seed)
    return tf.matmul(hidden, params["output/kernel"]) + params["output/bias"]


def dropout(hidden: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """`tf.nn.dropout` takes the fraction dropped (TF1's took `keep_prob`); this is the stateless op
    Keras' Dropout calls, so that a step's mask is the one every style draws (compat.models)."""
    return tf.nn.experimental.stateless_dropout(hidden, rate=rate, seed=seed)


def dropout_seed(seed: int, optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
    """The seed Keras' Dropout(seed=seed) uses at this step: (seed, steps applied so far)."""
    return tf.cast(tf.stack([tf.constant(seed, tf.int64), optimizer.iterations.value]), tf.int32)


# %% stage: loss
loss_fn = eager_style.loss_fn  # unchanged: softmax cross-entropy on the logits


# %% stage: optimizer
def make_optimizer(config: TrainConfig, params: dict[str, tf.Variable]) -> keras.optimizers.Optimizer:
    """Keras' optimizer with TF1's hyperparameters, built on `params`; RMSprop's velocities start at
    ones, as TF1's mean square does (Keras' start at zeros)."""
    if config.optimizer != "rmsprop":
        optimizer = eager_style.make_optimizer(config)
        optimizer.build(list(params.values()))
        return optimizer
    optimizer = keras.optimizers.RMSprop(config.learning_rate, rho=config.rmsprop_rho, epsilon=config.rmsprop_epsilon)
    optimizer.build(list(params.values()))
    for velocity in rmsprop_velocities(optimizer):
        velocity.assign(tf.ones_like(velocity))
    return optimizer


def rmsprop_velocities(optimizer: keras.optimizers.RMSprop) -> list[tf.Variable]:
    """A built RMSprop's mean squares ("velocities"), one per variable."""
    return [v for v in optimizer.variables if v.path.endswith("_velocity")]


# %% stage: train step
def train_step(
    params: dict[str, tf.Variable],
    optimizer: keras.optimizers.Optimizer,
    images,
    labels,
    loss_form: str,
    dropout_rate: float = 0.0,
    seed: int = 0,
) -> tf.Tensor:
    """One update: record the forward pass on a tape, differentiate, apply."""
    with tf.GradientTape() as tape:
        logits = forward(params, images, dropout_rate, dropout_seed(seed, optimizer))
        loss = loss_fn(logits, labels, loss_form)
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
        optimizer = make_optimizer(config, params)
        losses = clock.loop(
            lambda xs, ys: train_step(params, optimizer, xs, ys, config.loss, config.dropout_rate, config.seed),
            batches,
            finish=lambda losses: tf.stack(losses).numpy(),
        )
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    return clock.result(STYLE, config, plan, {k: v.numpy() for k, v in params.items()}, losses, test_accuracy)


# %% stage: evaluate
def evaluate(params: dict[str, tf.Variable], images, labels) -> float:
    correct = tf.equal(tf.argmax(forward(params, images), 1), tf.argmax(labels, 1))
    return float(tf.reduce_mean(tf.cast(correct, tf.float32)))
