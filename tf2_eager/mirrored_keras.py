"""tf.distribute style, keras.fit: the keras.fit style's model built and compiled under `MirroredStrategy.scope()`.

The whole migration for `fit` is the scope: the model and its optimizer made under it are
mirrored, and `fit` distributes the planned global batches itself (each split in equal slices
over the replicas) and scales each replica's loss so that the summed gradients are the global
batch's mean gradient. `keras_module` is the model's keras.fit style module (`keras_style` for
softmax, `mlp_keras` for the MLP), used unchanged; `steps_per_execution` as in that style.
"""

from __future__ import annotations

from types import ModuleType

import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import keras_style

STYLE = "mirrored_keras"


# %% stage: data
make_inputs = keras_style.make_inputs  # unchanged: the planned global batches; fit splits them over the replicas


# %% stage: model
def build_model(keras_module: ModuleType, config: TrainConfig, strategy: tf.distribute.Strategy):
    """Built and compiled under the scope: the variables and the optimizer's slots are mirrored."""
    with strategy.scope():
        init = initial_weights(config)
        model = keras_module.build_model(init, config.loss if keras_module is keras_style else config)
        keras_module.compile_model(model, config, batch_loss=False)
    return model


# %% stage: loss
loss_fn = keras_style.loss_fn  # unchanged: Keras scales it per replica


# %% stage: optimizer
make_optimizer = keras_style.make_optimizer  # unchanged, made inside build_model's scope


# %% stage: train step
compile_model = keras_style.compile_model  # unchanged (called by build_model under the scope)


# %% stage: loop
def train(data: Datasets, config: TrainConfig, keras_module: ModuleType, strategy: tf.distribute.Strategy) -> RunResult:
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size {config.batch_size} does not split over {strategy.num_replicas_in_sync} replicas")
    clock = StepClock()
    plan, dataset = make_inputs(data, config)
    model = build_model(keras_module, config, strategy)
    losses, extra = keras_style.fit(model, dataset, config, clock, steps_per_execution=1, batch_loss=False)
    test_accuracy = keras_style.evaluate(model, data.test.images, data.test.one_hot)
    names = getattr(keras_module, "weight_name", None) or (lambda p: keras_style.WEIGHT_NAMES[p.rsplit("/", 1)[-1]])
    weights = {names(w.path): w.numpy() for w in model.trainable_weights}
    replicas = strategy.num_replicas_in_sync
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, **extra, replicas=replicas)


# %% stage: evaluate
evaluate = keras_style.evaluate  # unchanged
