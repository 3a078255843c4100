"""TF1 graph style, the CNN: TensorFlow's "Deep MNIST for experts" as TF1 code wrote it.

conv 5x5x32 relu -> max-pool 2 -> conv 5x5x64 relu -> max-pool 2 -> dense 1024 relu -> dropout
(`keep_prob` fed 0.5 to train, 1 to evaluate) -> dense 10 logits, softmax cross-entropy,
`AdamOptimizer(1e-4)`, batch 50, weights from `truncated_normal(stddev=0.1)` and biases 0.1
(`compat.models`' reference run). In a private `tf.Graph` fed by `feed_dict`; the stages the
softmax model shares with it are bound from `graph_style.py`, the dropout's from `mlp_graph.py`.

Read it beside `tf2_eager/cnn_eager.py`: the stages (`# %% stage: ...`) line up one to one.
"""

from __future__ import annotations

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
from tfparity.tf1_graph import graph_style, mlp_graph

STYLE = "tf1_graph"


# %% stage: data
make_inputs = graph_style.make_inputs  # unchanged: flat 784-pixel images, reshaped by the model


# %% stage: model
build_model = mlp_graph.build_model  # unchanged: one graph variable per initial value, named as TF1 named it


def conv2d(x: tf.Tensor, kernel: tf.Variable) -> tf.Tensor:
    return tf.compat.v1.nn.conv2d(x, kernel, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x: tf.Tensor) -> tf.Tensor:
    return tf.compat.v1.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def forward(
    params: dict[str, tf.Variable],
    x: tf.Tensor,
    keep_prob: tf.Tensor | None = None,
    dropout_seed: tf.Tensor | None = None,
) -> tf.Tensor:
    images = tf.reshape(x, [-1, 28, 28, 1])
    h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(images, params["conv1/kernel"]) + params["conv1/bias"]))
    h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, params["conv2/kernel"]) + params["conv2/bias"]))
    h_pool2_flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
    h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, params["fc1/kernel"]) + params["fc1/bias"])
    if keep_prob is not None:
        h_fc1 = mlp_graph.dropout(h_fc1, keep_prob, dropout_seed)
    return tf.matmul(h_fc1, params["output/kernel"]) + params["output/bias"]


dropout_inputs = mlp_graph.dropout_inputs  # unchanged: keep_prob, the global step's seed, their feeds


# %% stage: loss
loss_fn = graph_style.loss_fn  # unchanged: softmax cross-entropy on the logits


# %% stage: optimizer
make_optimizer = mlp_graph.make_optimizer  # unchanged: AdamOptimizer(1e-4) in the reference run


# %% stage: train step
def build_graph(config: TrainConfig) -> graph_style.TrainGraph:
    """Placeholders, model, loss and the `minimize` op, built into the current default graph."""
    x, y_ = make_inputs()
    params = build_model(initial_weights(config))
    keep_prob, seed, train_feed, eval_feed = dropout_inputs(config)
    logits = forward(params, x, keep_prob, seed)
    loss = loss_fn(logits, y_, config.loss)
    train_op = make_optimizer(config).minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    accuracy = graph_style.accuracy_op(logits, y_)
    return graph_style.TrainGraph(x, y_, params, logits, loss, train_op, accuracy, train_feed, eval_feed)


train_step = graph_style.train_step  # unchanged: one Session.run per step


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
        losses = clock.loop(
            lambda xs, ys: train_step(sess, g.train_op, g.loss, {g.x: xs, g.y_: ys, **g.train_feed}), batches
        )
        test_accuracy = evaluate(sess, g, data.test.images, data.test.one_hot)
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy)


# %% stage: evaluate
def evaluate(sess: tf.compat.v1.Session, g: graph_style.TrainGraph, images: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy in batches of 1,000: the whole test set at once holds 10,000 x 28 x 28 x 32 activations."""
    correct = [
        graph_style.evaluate(sess, g.accuracy, {g.x: images[i : i + 1000], g.y_: labels[i : i + 1000], **g.eval_feed})
        * len(images[i : i + 1000])
        for i in range(0, len(images), 1000)
    ]
    return float(sum(correct) / len(images))
