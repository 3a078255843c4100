"""Training runs for the experiments, assembled from the styles' own stage functions.

The styles' `train(data, config)` always feeds the shared batch plan and draws the initial
weights from the config. Several pitfalls need exactly what that contract rules out (another
batch order, perturbed initial weights, an optimizer TrainConfig does not name), so these two
loops rebuild a style from its stages (`tf1_graph.graph_style`, `tf2_eager.function_style`)
with that one thing swapped, and return the same `RunResult`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import (
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    iterate_batches,
    make_batch_plan,
    step_timing,
)
from tfparity.compat.metrics import largest_abs_diff
from tfparity.compat.parity import Trajectory
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import function_style

Batches = Iterable[tuple[np.ndarray, np.ndarray]]  # (images (B, 784), one-hot labels (B, 10)) per step


def plan_batches(data: Datasets, config: TrainConfig) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches every style sees: the shared batch plan of `config`."""
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    return iterate_batches(plan, data.train.images, data.train.one_hot)


def train_function_on(
    data: Datasets,
    config: TrainConfig,
    batches: Batches,
    *,
    init: dict[str, np.ndarray] | None = None,
    optimizer: keras.optimizers.Optimizer | None = None,
    record_trajectory: bool = False,
) -> RunResult:
    """The tf.function style over `batches`, from `init` (default: the config's), with `optimizer`
    (default: the style's own for the config). `record_trajectory` keeps the weights after every
    step as `extra["trajectory"]`, a `compat.parity.Trajectory` (weights[0]: the start)."""
    t_begin = time.perf_counter()
    start = init if init is not None else initial_weights(config)
    params = function_style.build_model(start)
    if optimizer is None:
        optimizer = function_style.make_optimizer(config, params)
    else:
        optimizer.build(list(params.values()))
    losses, weights_after = [], {0: start}
    t_start = t_first = time.perf_counter()
    for step, (images, labels) in enumerate(batches):
        losses.append(function_style.train_step(params, optimizer, images, labels, config.loss))
        if record_trajectory:
            weights_after[step + 1] = {k: v.numpy() for k, v in params.items()}
        if step == 0:
            t_first = time.perf_counter()
    losses = tf.stack(losses).numpy()
    t_end = time.perf_counter()
    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, len(losses))
    extra = {
        "first_step_ms": first_ms,
        **({"trajectory": Trajectory(losses, weights_after)} if record_trajectory else {}),
    }
    return RunResult(
        style=function_style.STYLE,
        config=config,
        weights={k: v.numpy() for k, v in params.items()},
        losses=losses,
        test_accuracy=function_style.evaluate(params, data.test.images, data.test.one_hot),
        steps=len(losses),
        seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step,
        extra=extra,
    )


def train_graph_on(data: Datasets, config: TrainConfig, batches: Batches) -> RunResult:
    """The TF1 graph style (private graph, `feed_dict`) over `batches`, from the config's initial weights."""
    t_begin = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        g = graph_style.build_graph(config)
        init_op = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        losses = []
        t_start = t_first = time.perf_counter()
        for step, (images, labels) in enumerate(batches):
            losses.append(graph_style.train_step(sess, g.train_op, g.loss, {g.x: images, g.y_: labels}))
            if step == 0:
                t_first = time.perf_counter()
        t_end = time.perf_counter()
        test_accuracy = graph_style.evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
        weights = sess.run(g.params)
    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, len(losses))
    return RunResult(
        style=graph_style.STYLE,
        config=config,
        weights=weights,
        losses=np.asarray(losses, np.float32),
        test_accuracy=test_accuracy,
        steps=len(losses),
        seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step,
        extra={"first_step_ms": first_ms},
    )


def max_weight_diff(a: RunResult, b: RunResult) -> float:
    """Largest |difference| over every weight of two runs."""
    return largest_abs_diff(a.weights, b.weights)
