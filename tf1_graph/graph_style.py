"""TF1 graph style: placeholders, `Session.run` and `feed_dict`, through `tf.compat.v1`.

This is the "MNIST for ML beginners" tutorial as TF1 code wrote it, with one change that lets
it live beside TF2 code: the graph is a private `tf.Graph` run by `Session(graph=...)`, never
the process-global `tf.compat.v1.disable_eager_execution()`, which would break every eager
and Keras run that follows in the same process.

Only the tutorial's idiom lives here: one `Session.run` with a `feed_dict` per step. How tuned
TF1 code avoided that per-step cost (the data preloaded into the graph, many steps per
`Session.run`) is `tf1_graph/in_graph.py`.

Read it beside `tf2_eager/eager_style.py`: the stages (`# %% stage: ...`) line up one to one.
"""

from __future__ import annotations

from typing import NamedTuple

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

STYLE = "tf1_graph"


# %% stage: data
def make_inputs() -> tuple[tf.Tensor, tf.Tensor]:
    """Placeholders: the graph's inputs, filled by `feed_dict` on every `Session.run`."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 784], name="x")
    y_ = tf.compat.v1.placeholder(tf.float32, [None, 10], name="y_")
    return x, y_


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    """W and b as graph variables; they hold no value until the initializer op runs."""
    return {
        "W": tf.compat.v1.Variable(init["W"], name="W"),
        "b": tf.compat.v1.Variable(init["b"], name="b"),
    }


def forward(params: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    return tf.matmul(x, params["W"]) + params["b"]


# %% stage: loss
def loss_fn(logits: tf.Tensor, labels: tf.Tensor, form: str) -> tf.Tensor:
    if form == "tutorial":
        # The tutorial's own line: log(softmax) is -inf once a probability underflows to 0.
        y = tf.nn.softmax(logits)
        return -tf.reduce_sum(labels * tf.compat.v1.log(y))
    xent = tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    return tf.reduce_mean(xent) if form == "mean" else tf.reduce_sum(xent)


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> tf.compat.v1.train.Optimizer:
    if config.optimizer == "sgd":
        return tf.compat.v1.train.GradientDescentOptimizer(config.learning_rate)
    return tf.compat.v1.train.AdamOptimizer(
        config.learning_rate, beta1=config.adam_beta1, beta2=config.adam_beta2, epsilon=config.adam_epsilon
    )


# %% stage: train step
class TrainGraph(NamedTuple):
    """The graph's handles: what `Session.run` feeds (`x`, `y_`) and fetches."""

    x: tf.Tensor
    y_: tf.Tensor
    params: dict[str, tf.Variable]
    logits: tf.Tensor
    loss: tf.Tensor
    train_op: tf.Operation
    accuracy: tf.Tensor
    train_feed: dict = {}  # fixed feeds of a training step (a model with dropout: its keep_prob)
    eval_feed: dict = {}  # ... and of an evaluation


def build_graph(config: TrainConfig) -> TrainGraph:
    """Placeholders, model, loss and the `minimize` op, built into the current default graph.

    The caller owns the graph (`with tf.Graph().as_default():`) and the variables initializer,
    so the same wiring serves `train` and anything that builds into a graph of its own.
    """
    x, y_ = make_inputs()
    params = build_model(initial_weights(config))
    logits = forward(params, x)
    loss = loss_fn(logits, y_, config.loss)
    train_op = make_optimizer(config).minimize(loss)
    return TrainGraph(x, y_, params, logits, loss, train_op, accuracy_op(logits, y_))


def train_step(sess: tf.compat.v1.Session, train_op: tf.Operation, loss: tf.Tensor, feed: dict) -> float:
    """One `Session.run`: the update and the batch's loss, fed through `feed_dict`."""
    _, loss_value = sess.run([train_op, loss], feed_dict=feed)
    return loss_value


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    clock = StepClock()
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        g = build_graph(config)
        init_op = tf.compat.v1.global_variables_initializer()

    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        batches = iterate_batches(plan, data.train.images, data.train.one_hot)
        losses = clock.loop(lambda xs, ys: train_step(sess, g.train_op, g.loss, {g.x: xs, g.y_: ys}), batches)
        test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy)


# %% stage: evaluate
def accuracy_op(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def evaluate(sess: tf.compat.v1.Session, accuracy: tf.Tensor, feed: dict) -> float:
    return float(sess.run(accuracy, feed_dict=feed))
