"""TF1 graph style, the MLPs: Keras' "first look at a neural network" and TF2's quickstart as TF1 code wrote them.

`mlp`: 784 -> Dense(512, relu) -> Dense(10) logits, softmax cross-entropy, `RMSPropOptimizer(0.001)`,
batch 128. `mlp_dropout`: 784 -> Dense(128, relu) -> dropout -> Dense(10), `AdamOptimizer(0.001)`,
batch 32, with a `keep_prob` placeholder fed `1 - rate` to train and 1 to evaluate. Both in a
private `tf.Graph` fed by `feed_dict` (`graph_style.py` says why private). The stages the softmax
model shares with them are bound from `graph_style.py`, unchanged: placeholders, loss, one
`Session.run` per step, accuracy. What differs is the model and the optimizer.

Read it beside `tf2_eager/mlp_eager.py`: the stages (`# %% stage: ...`) line up one to one.
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
from tfparity.tf1_graph import graph_style

STYLE = "tf1_graph"


# %% stage: data
make_inputs = graph_style.make_inputs  # unchanged: x and y_ placeholders


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    """Two layers' kernels and biases as graph variables, named as the TF1 code names them."""
    return {name: tf.compat.v1.Variable(value, name=name) for name, value in init.items()}


def forward(
    params: dict[str, tf.Variable],
    x: tf.Tensor,
    keep_prob: tf.Tensor | None = None,
    dropout_seed: tf.Tensor | None = None,
) -> tf.Tensor:
    hidden = tf.nn.relu(tf.matmul(x, params["hidden/kernel"]) + params["hidden/bias"])
    if keep_prob is not None:
        hidden = dropout(hidden, keep_prob, dropout_seed)
    return tf.matmul(hidden, params["output/kernel"]) + params["output/bias"]


def dropout(hidden: tf.Tensor, keep_prob: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """TF1 code wrote `tf.compat.v1.nn.dropout(hidden, keep_prob)`; its mask came from a stateful op
    no TF2 code can replay, so this draws the mask Keras' Dropout draws (compat.models says how)."""
    return tf.nn.experimental.stateless_dropout(hidden, rate=1.0 - keep_prob, seed=seed)


def dropout_inputs(config: TrainConfig) -> tuple[tf.Tensor | None, tf.Tensor | None, dict, dict]:
    """The keep_prob placeholder (None without dropout), the masks' seed (config.seed, the global
    step), and the feeds of a training step and of an evaluation."""
    global_step = tf.compat.v1.train.get_or_create_global_step()
    if not config.dropout_rate:
        return None, None, {}, {}
    seed = tf.cast(tf.stack([tf.constant(config.seed, tf.int64), global_step]), tf.int32)
    keep_prob = tf.compat.v1.placeholder(tf.float32, [], name="keep_prob")
    return keep_prob, seed, {keep_prob: 1.0 - config.dropout_rate}, {keep_prob: 1.0}


# %% stage: loss
loss_fn = graph_style.loss_fn  # unchanged: softmax cross-entropy on the logits


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> tf.compat.v1.train.Optimizer:
    """TF1's RMSProp starts its mean square at ones (the Keras styles copy that); Adam and SGD as the softmax's."""
    if config.optimizer == "rmsprop":
        return tf.compat.v1.train.RMSPropOptimizer(
            config.learning_rate, decay=config.rmsprop_rho, epsilon=config.rmsprop_epsilon
        )
    return graph_style.make_optimizer(config)


# %% stage: train step
def build_graph(config: TrainConfig) -> graph_style.TrainGraph:
    """Placeholders, model, loss and the `minimize` op, built into the current default graph."""
    x, y_ = make_inputs()
    params = build_model(initial_weights(config))
    keep_prob, seed, train_feed, eval_feed = dropout_inputs(config)
    logits = forward(params, x, keep_prob, seed)
    loss = loss_fn(logits, y_, config.loss)
    # minimize counts the steps in the global step, which seeds the next step's dropout mask
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
        test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot, **g.eval_feed})
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy)


# %% stage: evaluate
evaluate = graph_style.evaluate  # unchanged
