"""keras.fit style, the regression tutorials: `keras.Sequential([Dense(1)])` with `compile` and `fit`.

As the TF2 tutorials write them: `Dense(1)` and mean squared error for birth_life,
`Dense(1, activation="sigmoid")` and binary cross-entropy for Pima, `SGD(learning_rate)`, and
`fit` over the data. What differs from them: the weights start where the other styles' do (set
after building), and `fit` reads the planned `tf.data` pipeline (`keras_style.planned_dataset`)
instead of shuffling on its own, so that it sees the other styles' batches in their order. Two
things Keras computes its own way: the squared error's mean goes through Keras' loss reduction,
and on a sigmoid's output Keras 3's `binary_crossentropy` takes the logits underneath
(`sigmoid_cross_entropy_with_logits`), not the tutorials' `log(h)`: both move the weights by
rounding only, which the parity targets allow keras.fit.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.tasks import task_of, test_measures
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import keras_style, regression_eager

STYLE = "keras_fit"


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig):
    """The planned batches as a `tf.data.Dataset`: `fit` never shuffles a Dataset."""
    plan = config.batch_plan(data.train.num_examples)
    return plan, keras_style.planned_dataset(plan, data.train.images, data.train.labels)


# %% stage: model
def build_model(init: dict[str, np.ndarray], config: TrainConfig) -> keras.Model:
    """One Dense unit; Pima's through a sigmoid."""
    activation = "sigmoid" if task_of(config.model) == "binary" else None
    dense = keras.layers.Dense(1, activation=activation, name="dense")
    model = keras.Sequential([keras.Input((init["W"].shape[0],)), dense])
    dense.set_weights([init["W"], init["b"]])
    return model


def weight_name(path: str) -> str:
    """'sequential/dense/kernel' -> 'W', '.../bias' -> 'b': the TF1 graph's names; other names unchanged."""
    return keras_style.WEIGHT_NAMES.get(path.rsplit("/", 1)[-1], path) if "/" in path else path


# %% stage: loss
def loss_fn(config: TrainConfig) -> keras.losses.Loss:
    if task_of(config.model) == "binary":
        return keras.losses.BinaryCrossentropy()
    return keras.losses.MeanSquaredError()


# %% stage: optimizer
make_optimizer = regression_eager.make_optimizer  # keras.optimizers.SGD, built on the model's variables


# %% stage: train step
def compile_model(
    model: keras.Model, config: TrainConfig, steps_per_execution: int = 1, *, batch_loss: bool = False
) -> None:
    """`compile` with the loss alone (and each step's own loss as a metric with `batch_loss`)."""
    loss = loss_fn(config)
    metrics = [keras_style.BatchLoss(loss)] if batch_loss else None
    optimizer = make_optimizer(config, {weight_name(v.path): v for v in model.trainable_variables})
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=steps_per_execution)


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, steps_per_execution: int = 1, batch_loss: bool = False) -> RunResult:
    """`fit` over the planned batches (`keras_style.fit`: one fit, its losses and extra fields)."""
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, dataset = make_inputs(data, config)
        model = build_model(initial_weights(config), config)
        compile_model(model, config, steps_per_execution, batch_loss=batch_loss)
        losses, extra = keras_style.fit(model, dataset, config, clock, steps_per_execution, batch_loss)
        measures = evaluate(model, data.test.images, data.test.labels, config.model)
    weights = {weight_name(w.path): w.numpy() for w in model.trainable_weights}
    return clock.result(STYLE, config, plan, weights, losses, **measures, **extra)


# %% stage: evaluate
def evaluate(model: keras.Model, x, targets, model_name: str) -> dict:
    return test_measures(model_name, model(x, training=False).numpy(), targets)
