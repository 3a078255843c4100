"""tf.function whole-epoch style: every batch pre-stacked, the whole loop in one `tf.function` call.

The tuned counterpart of `function_style.py`, as TensorFlow's performance guides recommend:
every planned batch gathered once into one `[steps, batch, 784]` tensor and the training loop
itself inside the `tf.function`, optionally compiled by XLA (`jit_compile=True`), so Python is
left once per epoch instead of once per step. The step is the eager one, unchanged.

Same batch plan, weights and losses as `function_style.train` (XLA: to about 1e-4 with Adam).
Read it beside `tf1_graph/in_graph.py`, TF1's tuned idiom: the stages (`# %% stage: ...`) line up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfparity.compat import (
    BatchPlan,
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    make_batch_plan,
    tf_device_name,
)
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import eager_style, function_style

STYLE = function_style.STYLE  # the same model trained to the same weights: its results are the tf.function style's


class _EpochRetraceFilter(logging.Filter):
    """Drops TensorFlow's retracing warning about `make_epoch_fn`'s functions, and only that.

    Each run builds its epoch function anew on purpose (its tracing is timed apart, as the first
    step), so after five runs TensorFlow warns of "excessive retracing": advice for code that
    does this by accident, noise in the benchmark suite and the tests.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("tf.function retracing" in message and "make_epoch_fn.<locals>" in message)


tf.get_logger().addFilter(_EpochRetraceFilter())


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig) -> tuple[BatchPlan, tf.Tensor, tf.Tensor]:
    """Every planned batch gathered once, `[steps, batch, 784]`: batch `i` is then `images[i]`, a
    slice inside the compiled loop. The gather is paid once per run (in `seconds`), not per step."""
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    images, labels = plan.gather(data.train.images, data.train.one_hot)
    return plan, tf.constant(images), tf.constant(labels)


# %% stage: model
build_model = eager_style.build_model  # unchanged: variables live outside the compiled loop


# %% stage: loss
loss_fn = eager_style.loss_fn  # unchanged: the eager step computes it, traced into the loop


# %% stage: optimizer
make_optimizer = function_style.make_optimizer  # unchanged: slot variables built before the first trace


# %% stage: train step
train_step = eager_style.train_step  # unchanged: traced into the loop below, once per trace of the epoch


def make_epoch_fn(jit_compile: bool = False) -> Callable[..., tf.Tensor]:
    """A `tf.function` that runs steps `start .. stop` of the pre-batched epoch in one call.

    `start`/`stop` are tensors, so the first-step call and the rest-of-the-epoch call share one
    trace and one XLA compilation. The loop is a `while`, not `for i in tf.range(start, stop)`:
    XLA needs a `Range` op's bounds as compile-time constants, so the `for` form recompiles for
    every new (start, stop) pair (about 0.6 s a call on CPU). Losses go into a TensorArray of
    static size, which XLA requires; unwritten entries stay zero.
    """

    @tf.function(jit_compile=jit_compile)
    def train_epoch(params, optimizer, images, labels, start, stop, loss_form: str) -> tf.Tensor:
        losses = tf.TensorArray(tf.float32, size=images.shape[0])
        i = start
        while i < stop:
            losses = losses.write(i, train_step(params, optimizer, images[i], labels[i], loss_form))
            i += 1
        return losses.stack()

    return train_epoch


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, jit_compile: bool = False) -> RunResult:
    """All planned steps in two calls: step 0 alone, so that tracing (and XLA compilation) is
    reported apart as `first_step_ms`, then every other step without returning to Python."""
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, images, labels = make_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        train_epoch = make_epoch_fn(jit_compile)
        zero, one, steps = (tf.constant(n, tf.int32) for n in (0, 1, config.steps))
        first, rest = clock.loop(
            lambda start, stop: train_epoch(params, optimizer, images, labels, start, stop, config.loss).numpy(),
            [(zero, one), (one, steps)],
        )
        losses = np.concatenate([first[:1], rest[1:]])  # each call wrote its own steps' entries
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    weights = {k: v.numpy() for k, v in params.items()}
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, jit_compile=jit_compile)


# %% stage: evaluate
evaluate = eager_style.evaluate  # unchanged: a single call, nothing to compile for
