"""tf.function style: the eager step, compiled into a graph by `@tf.function`.

Only the train step changes from `eager_style.py`: the decorator traces it once into a graph
and later calls run that graph without Python per op. The other stages are the eager ones,
bound here unchanged rather than copied, so that reading this module beside the eager one
shows exactly what `tf.function` changes and nothing else.

This is the guide's pattern, one compiled step per batch. The tuned idiom, the whole loop in
one `tf.function` call, is `tf2_eager/whole_epoch.py`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import eager_style

STYLE = "function"


# %% stage: data
make_inputs = eager_style.make_inputs  # unchanged: batches arrive as arguments


# %% stage: model
build_model = eager_style.build_model  # unchanged: variables live outside the compiled step
forward = eager_style.forward  # unchanged: traced into the graph with the step


# %% stage: loss
loss_fn = eager_style.loss_fn  # unchanged: traced into the graph with the step


# %% stage: optimizer
def make_optimizer(config: TrainConfig, params: dict[str, tf.Variable]) -> keras.optimizers.Optimizer:
    """The eager optimizer, built before the first call.

    A `tf.function` may create variables only on its first trace; building the optimizer's
    slot variables eagerly keeps that rule from biting when a second model trains in the
    same process.
    """
    optimizer = eager_style.make_optimizer(config)
    optimizer.build(list(params.values()))
    return optimizer


# %% stage: train step
@tf.function
def train_step(
    params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer, images, labels, loss_form: str
) -> tf.Tensor:
    """The eager step, traced once per input signature; `loss_form` is a Python constant of the trace."""
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(params, images), labels, loss_form)
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
            lambda xs, ys: train_step(params, optimizer, xs, ys, config.loss),  # the first call traces the graph
            batches,
            finish=lambda losses: tf.stack(losses).numpy(),
        )
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    return clock.result(STYLE, config, plan, {k: v.numpy() for k, v in params.items()}, losses, test_accuracy)


# %% stage: evaluate
evaluate = eager_style.evaluate  # unchanged: a single call, nothing to compile for
