"""TF1 in-graph replication: one tower per device, gradients averaged by hand (the TF1 multi-GPU tutorial).

As TF1's CIFAR-10 multi-GPU example wrote it: the variables live on the first device, each
tower computes the forward pass, the loss and `compute_gradients` on its slice of the global
batch under `tf.device(...)`, the towers' gradients are averaged variable by variable, and one
`apply_gradients` updates the shared variables. Equal slices and each tower's mean loss make the
average of the towers' gradients the single-device mean gradient. `graph_module` is the model's
TF1 style module (`graph_style` for softmax, `mlp_graph` for the MLP): its model, loss and
optimizer are used unchanged. Read it beside `tf2_eager/mirrored_style.py`.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights
from tfparity.compat.timing import StepClock
from tfparity.tf1_graph import graph_style

STYLE = "tf1_towers"


# %% stage: data
def make_inputs(replicas: int) -> tuple[tf.Tensor, tf.Tensor, list, list]:
    """The global batch's placeholders and their slices, one per tower (`tf.split`: equal slices)."""
    x, y_ = graph_style.make_inputs()
    return x, y_, tf.split(x, replicas), tf.split(y_, replicas)


# %% stage: model
def build_model(graph_module: ModuleType, config: TrainConfig) -> dict[str, tf.Variable]:
    """The model's variables, made once, on the first device: every tower reads them."""
    return graph_module.build_model(initial_weights(config))


# %% stage: loss
loss_fn = graph_style.loss_fn  # unchanged: each tower's mean over its slice


# %% stage: optimizer
def make_optimizer(graph_module: ModuleType, config: TrainConfig) -> tf.compat.v1.train.Optimizer:
    return graph_module.make_optimizer(config)


# %% stage: train step
def average_gradients(tower_grads: list[list[tuple[tf.Tensor, tf.Variable]]]) -> list[tuple[tf.Tensor, tf.Variable]]:
    """Variable by variable, the mean of the towers' gradients (the tutorial's `average_gradients`)."""
    averaged = []
    for grads_and_vars in zip(*tower_grads, strict=True):
        grads = tf.stack([g for g, _ in grads_and_vars])
        averaged.append((tf.reduce_mean(grads, axis=0), grads_and_vars[0][1]))
    return averaged


def build_graph(graph_module: ModuleType, config: TrainConfig, devices: list[str]) -> graph_style.TrainGraph:
    replicas = len(devices)
    if config.batch_size % replicas:
        raise ValueError(f"batch_size {config.batch_size} does not split over {replicas} towers; make it a multiple")
    with tf.device(devices[0]):
        x, y_, xs, ys = make_inputs(replicas)
        params = build_model(graph_module, config)
        optimizer = make_optimizer(graph_module, config)
    tower_grads, tower_losses = [], []
    for i, device in enumerate(devices):
        with tf.device(device), tf.compat.v1.name_scope(f"tower_{i}"):
            loss = loss_fn(graph_module.forward(params, xs[i]), ys[i], config.loss)
            tower_grads.append(optimizer.compute_gradients(loss, var_list=list(params.values())))
            tower_losses.append(loss)
    with tf.device(devices[0]):
        train_op = optimizer.apply_gradients(average_gradients(tower_grads))
        logits = graph_module.forward(params, x)
        loss = tf.add_n(tower_losses) / replicas  # the global batch's mean loss
    return graph_style.TrainGraph(x, y_, params, logits, loss, train_op, graph_style.accuracy_op(logits, y_))


# %% stage: loop
def train(data: Datasets, config: TrainConfig, graph_module: ModuleType, devices: list[str]) -> RunResult:
    if config.loss != "mean" or config.dropout_rate:
        raise ValueError("the towers style trains the mean cross-entropy of a model without dropout")
    clock = StepClock()
    plan = config.batch_plan(data.train.num_examples)
    graph = tf.Graph()
    with graph.as_default():
        g = build_graph(graph_module, config, devices)
        init_op = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        feeds = (({g.x: data.train.images[idx], g.y_: data.train.one_hot[idx]},) for idx in plan.indices)
        losses = clock.loop(lambda feed: graph_style.train_step(sess, g.train_op, g.loss, feed), feeds)
        test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, np.asarray(losses), test_accuracy, replicas=len(devices))


# %% stage: evaluate
evaluate = graph_style.evaluate  # unchanged
