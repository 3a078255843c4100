"""TF1 graph style, the MLP: Keras' "first look at a neural network" as TF1 code wrote it.

784 -> Dense(512, relu) -> Dense(10) logits, softmax cross-entropy, `RMSPropOptimizer(0.001)`,
batch 128, in a private `tf.Graph` fed by `feed_dict` (`graph_style.py` says why private). The
stages the softmax model shares with it are bound from `graph_style.py`, unchanged: placeholders,
loss, one `Session.run` per step, accuracy. What differs is the model and the optimizer.

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


def forward(params: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    hidden = tf.nn.relu(tf.matmul(x, params["hidden/kernel"]) + params["hidden/bias"])
    return tf.matmul(hidden, params["output/kernel"]) + params["output/bias"]


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
    logits = forward(params, x)
    loss = loss_fn(logits, y_, config.loss)
    train_op = make_optimizer(config).minimize(loss)
    return graph_style.TrainGraph(x, y_, params, logits, loss, train_op, graph_style.accuracy_op(logits, y_))


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
        losses = clock.loop(lambda xs, ys: train_step(sess, g.train_op, g.loss, {g.x: xs, g.y_: ys}), batches)
        test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy)


# %% stage: evaluate
evaluate = graph_style.evaluate  # unchanged
