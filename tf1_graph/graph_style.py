"""TF1 graph style: placeholders, `Session.run` and `feed_dict`, through `tf.compat.v1`.

This is the "MNIST for ML beginners" tutorial as TF1 code wrote it, with one change that lets
it live beside TF2 code: the graph is a private `tf.Graph` run by `Session(graph=...)`, never
the process-global `tf.compat.v1.disable_eager_execution()`, which would break every eager
and Keras run that follows in the same process.

Read it beside `tf2_eager/eager_style.py`: the stages (`# %% stage: ...`) line up one to one.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from compat import Datasets, RunResult, TrainConfig, initial_weights, iterate_batches, make_batch_plan, step_timing, tf_device_name

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
def train_step(sess: tf.compat.v1.Session, train_op: tf.Operation, loss: tf.Tensor, feed: dict) -> float:
    """One `Session.run`: the update and the batch's loss, fed through `feed_dict`."""
    _, loss_value = sess.run([train_op, loss], feed_dict=feed)
    return loss_value


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    t_begin = time.perf_counter()
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        x, y_ = make_inputs()
        params = build_model(initial_weights(config))
        logits = forward(params, x)
        loss = loss_fn(logits, y_, config.loss)
        train_op = make_optimizer(config).minimize(loss)
        accuracy = accuracy_op(logits, y_)
        init_op = tf.compat.v1.global_variables_initializer()

    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        losses = np.empty(config.steps, dtype=np.float32)
        t_start = t_first = time.perf_counter()
        for step, (batch_xs, batch_ys) in enumerate(iterate_batches(plan, data.train.images, data.train.one_hot)):
            losses[step] = train_step(sess, train_op, loss, {x: batch_xs, y_: batch_ys})
            if step == 0:
                t_first = time.perf_counter()
        t_end = time.perf_counter()
        test_accuracy = evaluate(sess, accuracy, {x: data.test.images, y_: data.test.one_hot})
        weights = sess.run(params)

    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights=weights, losses=losses, test_accuracy=test_accuracy,
        steps=config.steps, seconds=time.perf_counter() - t_begin, ms_per_step=ms_per_step,
        plan_fingerprint=plan.fingerprint, device=config.device, extra={"first_step_ms": first_ms},
    )


# %% stage: evaluate
def accuracy_op(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def evaluate(sess: tf.compat.v1.Session, accuracy: tf.Tensor, feed: dict) -> float:
    return float(sess.run(accuracy, feed_dict=feed))
