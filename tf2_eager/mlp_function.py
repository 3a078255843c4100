"""tf.function style, the MLP: the eager step (`mlp_eager.py`) compiled by `@tf.function`.

Only the train step changes from `mlp_eager.py`, as `function_style.py` changes only the
softmax model's: the other stages are bound from the eager module, unchanged.
"""

from __future__ import annotations

import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import mlp_eager

STYLE = "function"


# %% stage: data
make_inputs = mlp_eager.make_inputs  # unchanged


# %% stage: model
build_model = mlp_eager.build_model  # unchanged: variables live outside the compiled step
forward = mlp_eager.forward  # unchanged: traced into the graph with the step


# %% stage: loss
loss_fn = mlp_eager.loss_fn  # unchanged


# %% stage: optimizer
make_optimizer = mlp_eager.make_optimizer  # unchanged: built before the first trace, velocities set


# %% stage: train step
# The eager step itself, compiled: traced into a graph once per input signature (the Python
# arguments, loss form, rate and seed, are part of it), that graph rerun at every later call.
train_step = tf.function(mlp_eager.train_step)


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        losses = clock.loop(
            lambda xs, ys: train_step(params, optimizer, xs, ys, config.loss, config.dropout_rate, config.seed),
            batches,
            finish=lambda losses: tf.stack(losses).numpy(),
        )
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    return clock.result(STYLE, config, plan, {k: v.numpy() for k, v in params.items()}, losses, test_accuracy)


# %% stage: evaluate
evaluate = mlp_eager.evaluate  # unchanged
