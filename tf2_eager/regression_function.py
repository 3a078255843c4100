"""tf.function style, the regression tutorials: the eager step (`regression_eager.py`) compiled by `@tf.function`.

Only the train step changes; the other stages are bound from the eager module, unchanged. At
one example per step the compiled step is where the per-example loop's cost goes (the
`per-example-loop` pitfall measures it).
"""

from __future__ import annotations

import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.tasks import task_of
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import regression_eager

STYLE = "function"


# %% stage: data
make_inputs = regression_eager.make_inputs  # unchanged


# %% stage: model
build_model = regression_eager.build_model  # unchanged
forward = regression_eager.forward  # unchanged: traced into the step's graph


# %% stage: loss
loss_fn = regression_eager.loss_fn  # unchanged


# %% stage: optimizer
make_optimizer = regression_eager.make_optimizer  # unchanged


# %% stage: train step
train_step = tf.function(regression_eager.train_step)  # traced once per task and batch shape


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, pipeline: str = "feed_dict") -> RunResult:
    clock = StepClock()
    task = task_of(config.model)
    with tf.device(tf_device_name(config.device)):
        plan, batches = make_inputs(data, config, pipeline)
        params = build_model(initial_weights(config))
        optimizer = make_optimizer(config, params)
        losses = clock.loop(
            lambda x, y: train_step(params, optimizer, x, y, task), batches, finish=lambda ls: tf.stack(ls).numpy()
        )
        measures = evaluate(params, data.test.images, data.test.labels, config.model)
    weights = {k: v.numpy() for k, v in params.items()}
    return clock.result(STYLE, config, plan, weights, losses, **measures, pipeline=pipeline)


# %% stage: evaluate
evaluate = regression_eager.evaluate  # unchanged
