"""Eager style, the regression tutorials: `tf.GradientTape` on `W` and `b`, stage for stage with
`tf1_graph/regression_graph.py`.

What the migration changes: the placeholders go (each step's rows are arguments, a NumPy slice
or a `tf.data` batch), `tf.compat.v1.log` becomes `tf.math.log`, and `GradientDescentOptimizer`
becomes `keras.optimizers.SGD`, which applies `W -= learning_rate * gradient` exactly as TF1's did.
The model, the loss formula and the data's order are the TF1 code's.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import BatchPlan, Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.tasks import task_of, test_measures
from tfparity.compat.timing import StepClock

STYLE = "eager"


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig, pipeline: str = "feed_dict"):
    """The plan, and its batches: NumPy slices ("feed_dict", the per-example loop's idiom) or a
    `tf.data.Dataset` of the planned batches ("tf_data")."""
    plan = config.batch_plan(data.train.num_examples)
    if pipeline == "tf_data":
        return plan, dataset_batches(plan, data)
    return plan, ((data.train.images[idx], data.train.labels[idx]) for idx in plan.indices)


def dataset_batches(plan: BatchPlan, data: Datasets) -> tf.data.Dataset:
    """`from_tensor_slices(...).batch(n)` in the plan's order: the shuffle is the plan's, so every style agrees."""
    return tf.data.Dataset.from_tensor_slices((data.train.images[plan.indices], data.train.labels[plan.indices]))


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    return {name: tf.Variable(value, name=name) for name, value in init.items()}


def forward(params: dict[str, tf.Variable], x, task: str) -> tf.Tensor:
    z = tf.matmul(x, params["W"]) + params["b"]
    return tf.sigmoid(z) if task == "binary" else z


# %% stage: loss
def loss_fn(prediction: tf.Tensor, y, task: str) -> tf.Tensor:
    if task == "binary":
        return -tf.reduce_mean(y * tf.math.log(prediction) + (1 - y) * tf.math.log(1 - prediction))
    return tf.reduce_mean(tf.square(y - prediction))


# %% stage: optimizer
def make_optimizer(config: TrainConfig, params: dict[str, tf.Variable]) -> keras.optimizers.Optimizer:
    optimizer = keras.optimizers.SGD(config.learning_rate)
    optimizer.build(list(params.values()))
    return optimizer


# %% stage: train step
def train_step(params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer, x, y, task: str) -> tf.Tensor:
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(params, x, task), y, task)
    variables = list(params.values())
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, pipeline: str = "feed_dict") -> RunResult:
    clock = StepClock()
    task = task_of(config.model)
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config, pipeline)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        losses = clock.loop(
            lambda x, y: train_step(params, optimizer, x, y, task), batches, finish=lambda ls: tf.stack(ls).numpy()
        )
        measures = evaluate(params, data.test.images, data.test.labels, config.model)
    weights = {k: v.numpy() for k, v in params.items()}
    return clock.result(STYLE, config, plan, weights, losses, **measures, pipeline=pipeline)


# %% stage: evaluate
def evaluate(params: dict[str, tf.Variable], x, targets, model: str) -> dict:
    return test_measures(model, forward(params, x, task_of(model)).numpy(), targets)
