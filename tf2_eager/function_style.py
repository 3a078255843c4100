"""tf.function style: the eager step, compiled into a graph by `@tf.function`.

Only the train step changes from `eager_style.py`: the decorator traces it once into a graph
and later calls run that graph without Python per op. The other stages are the eager ones,
imported rather than copied, so that reading this module beside the eager one shows exactly
what `tf.function` changes and nothing else.
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf

from compat import Datasets, RunResult, TrainConfig, initial_weights, step_timing, tf_device_name
from tf2_eager import eager_style

STYLE = "function"


# %% stage: data
from tf2_eager.eager_style import make_inputs  # unchanged: batches arrive as arguments  # noqa: E402


# %% stage: model
from tf2_eager.eager_style import build_model, forward  # unchanged: variables live outside the compiled step  # noqa: E402


# %% stage: loss
from tf2_eager.eager_style import loss_fn  # unchanged: traced into the graph with the step  # noqa: E402


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
def train_step(params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer, images, labels, loss_form: str) -> tf.Tensor:
    """The eager step, traced once per input signature; `loss_form` is a Python constant of the trace."""
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(params, images), labels, loss_form)
    variables = list(params.values())
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    t_begin = time.perf_counter()
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        losses = []
        t_start = t_first = time.perf_counter()
        for step, (batch_xs, batch_ys) in enumerate(batches):
            losses.append(train_step(params, optimizer, batch_xs, batch_ys, config.loss))
            if step == 0:
                t_first = time.perf_counter()  # the first call traces the graph
        losses = tf.stack(losses).numpy()
        t_end = time.perf_counter()
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights={k: v.numpy() for k, v in params.items()}, losses=losses,
        test_accuracy=test_accuracy, steps=config.steps, seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step, plan_fingerprint=plan.fingerprint, device=config.device,
        extra={"first_step_ms": first_ms},
    )


# %% stage: evaluate
from tf2_eager.eager_style import evaluate  # unchanged: a single call, nothing to compile for  # noqa: E402
