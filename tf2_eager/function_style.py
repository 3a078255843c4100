"""tf.function style: the eager step, compiled into a graph by `@tf.function`.

Only the train step changes from `eager_style.py`: the decorator traces it once into a graph
and later calls run that graph without Python per op. The other stages are the eager ones,
imported rather than copied, so that reading this module beside the eager one shows exactly
what `tf.function` changes and nothing else.

Two idioms: `train`, one compiled step per batch (the guide's pattern), and
`train_whole_epoch`, the tuned one: every planned batch pre-stacked into one
`[steps, batch, 784]` tensor and the whole loop inside one `tf.function`, optionally compiled
by XLA (`jit_compile=True`), so Python is left once per epoch instead of once per step.
"""

from __future__ import annotations

import logging
import time

import keras
import tensorflow as tf

from tfparity.compat import BatchPlan, Datasets, RunResult, TrainConfig, initial_weights, make_batch_plan, step_timing, tf_device_name
from tfparity.tf2_eager import eager_style

STYLE = "function"


# %% stage: data
from tfparity.tf2_eager.eager_style import make_inputs  # unchanged: batches arrive as arguments  # noqa: E402


def make_epoch_inputs(data: Datasets, config: TrainConfig) -> tuple[BatchPlan, tf.Tensor, tf.Tensor]:
    """The whole-epoch idiom's input: every planned batch gathered once, `[steps, batch, 784]`.

    Batch `i` is then `images[i]`, a slice inside the compiled loop. The gather is paid once per
    run (and shows in `seconds`), not once per step.
    """
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    images, labels = plan.gather(data.train.images, data.train.one_hot)
    return plan, tf.constant(images), tf.constant(labels)


# %% stage: model
from tfparity.tf2_eager.eager_style import build_model, forward  # unchanged: variables live outside the compiled step  # noqa: E402


# %% stage: loss
from tfparity.tf2_eager.eager_style import loss_fn  # unchanged: traced into the graph with the step  # noqa: E402


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


def make_epoch_fn(jit_compile: bool = False):
    """A `tf.function` that runs steps `start .. stop` of the pre-batched epoch in one call.

    The step is the eager one, traced inside an AutoGraph loop. `start`/`stop` are tensors, so
    the first-step call and the rest-of-the-epoch call share one trace and one XLA
    compilation. The loop is a `while`, not `for i in tf.range(start, stop)`: XLA needs a
    `Range` op's bounds as compile-time constants, so the `for` form recompiles for every new
    (start, stop) pair (about 0.6 s a call on CPU). Losses go into a TensorArray of static
    size, which XLA requires; unwritten entries stay zero.
    """

    @tf.function(jit_compile=jit_compile)
    def train_epoch(params, optimizer, images, labels, start, stop, loss_form: str) -> tf.Tensor:
        losses = tf.TensorArray(tf.float32, size=images.shape[0])
        i = start
        while i < stop:
            losses = losses.write(i, eager_style.train_step(params, optimizer, images[i], labels[i], loss_form))
            i += 1
        return losses.stack()

    return train_epoch


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
    return run_result(config, plan, params, losses, test_accuracy, (t_begin, t_start, t_first, t_end))


def run_result(config: TrainConfig, plan: BatchPlan, params: dict[str, tf.Variable], losses, test_accuracy: float,
               clock: tuple[float, float, float, float], **extra) -> RunResult:
    """The RunResult of either idiom; `clock` is (begin, loop start, after the first step, loop end)."""
    t_begin, t_start, t_first, t_end = clock
    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights={k: v.numpy() for k, v in params.items()}, losses=losses,
        test_accuracy=test_accuracy, steps=config.steps, seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step, plan_fingerprint=plan.fingerprint, device=config.device,
        extra={"first_step_ms": first_ms, **extra},
    )


def train_whole_epoch(data: Datasets, config: TrainConfig, *, jit_compile: bool = False) -> RunResult:
    """The tuned idiom: all planned steps inside one `tf.function` call (XLA with `jit_compile`).

    The first call runs step 0 alone, so that tracing (and XLA compilation) is reported apart
    as `first_step_ms`; the second call runs every other step without returning to Python.
    """
    t_begin = time.perf_counter()
    with tf.device(tf_device_name(config.device)):
        plan, images, labels = make_epoch_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        train_epoch = make_epoch_fn(jit_compile)
        zero, one, steps = (tf.constant(n, tf.int32) for n in (0, 1, config.steps))
        t_start = time.perf_counter()
        first = train_epoch(params, optimizer, images, labels, zero, one, config.loss).numpy()
        t_first = time.perf_counter()
        rest = train_epoch(params, optimizer, images, labels, one, steps, config.loss).numpy()
        t_end = time.perf_counter()
        losses = rest.copy()
        losses[0] = first[0]
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    return run_result(config, plan, params, losses, test_accuracy, (t_begin, t_start, t_first, t_end), jit_compile=jit_compile)


# %% stage: evaluate
from tfparity.tf2_eager.eager_style import evaluate  # unchanged: a single call, nothing to compile for  # noqa: E402
