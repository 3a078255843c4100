"""Eager style, the CNN: `tf.GradientTape` over `tf.nn` ops, stage for stage with `tf1_graph/cnn_graph.py`.

What the migration changes: `tf.compat.v1.nn.conv2d`/`max_pool` become `tf.nn.conv2d`/`max_pool2d`
(the same kernels), `keep_prob` becomes `rate`, `AdamOptimizer` becomes `keras.optimizers.Adam`
with TF1's epsilon stated. The optimizer and the dropout are the MLPs' (`mlp_eager.py`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import mlp_eager

STYLE = "eager"
EVAL_BATCH = 1000  # the whole test set at once would hold 10,000 x 28 x 28 x 32 activations


# %% stage: data
make_inputs = mlp_eager.make_inputs  # unchanged: batches arrive as arguments


# %% stage: model
build_model = mlp_eager.build_model  # unchanged: a tf.Variable per initial value


def forward(
    params: dict[str, tf.Variable], x: tf.Tensor, dropout_rate: float = 0.0, dropout_seed: tf.Tensor | None = None
) -> tf.Tensor:
    """The logits; with a rate and a seed (training), dropout after the dense layer."""
    images = tf.reshape(x, [-1, 28, 28, 1])
    h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(images, params["conv1/kernel"]) + params["conv1/bias"]))
    h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, params["conv2/kernel"]) + params["conv2/bias"]))
    h_fc1 = tf.nn.relu(tf.matmul(tf.reshape(h_pool2, [-1, 7 * 7 * 64]), params["fc1/kernel"]) + params["fc1/bias"])
    if dropout_rate:
        h_fc1 = mlp_eager.dropout(h_fc1, dropout_rate, dropout_seed)
    return tf.matmul(h_fc1, params["output/kernel"]) + params["output/bias"]


def conv2d(x: tf.Tensor, kernel: tf.Variable) -> tf.Tensor:
    return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")


def max_pool_2x2(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME")


dropout_seed = mlp_eager.dropout_seed  # unchanged: (config.seed, the optimizer's step)


# %% stage: loss
loss_fn = mlp_eager.loss_fn  # unchanged: softmax cross-entropy on the logits


# %% stage: optimizer
make_optimizer = mlp_eager.make_optimizer  # unchanged: Keras Adam with TF1's hyperparameters, built


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
def evaluate(params: dict[str, tf.Variable], images: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy, EVAL_BATCH images at a time."""
    correct = 0
    for start in range(0, len(images), EVAL_BATCH):
        logits = forward(params, images[start : start + EVAL_BATCH])
        correct += int(
            tf.reduce_sum(
                tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(labels[start : start + EVAL_BATCH], 1)), tf.int32)
            )
        )
    return correct / len(images)
