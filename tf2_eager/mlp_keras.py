"""keras.fit style, the MLPs: `keras.Sequential([Dense(512, "relu"), Dense(10)])` with `compile` and `fit`,
and the quickstart's `Sequential([Dense(128, "relu"), Dropout(0.2), Dense(10)])`.

Keras' "first look at a neural network" and the quickstart as written there (less the quickstart's
`Flatten`: the images arrive flat), but for two things every style shares:
the weights start where the others' do (set after building), and the last layer gives logits to
a loss that takes them (`from_logits=True`), where the book's ends in a softmax. The optimizer is
`mlp_eager`'s: RMSprop with TF1's epsilon and its velocities at ones. Data, loss, loop and
evaluation are the softmax model's (`keras_style.py`), unchanged.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import keras_style, mlp_eager

STYLE = "keras_fit"


# %% stage: data
make_inputs = keras_style.make_inputs  # unchanged: the planned tf.data pipeline


# %% stage: model
def build_model(init: dict[str, np.ndarray], config: TrainConfig) -> keras.Model:
    """Two Dense layers named as the TF1 variables are, and `mlp_dropout`'s Dropout between them
    (seeded by config.seed: every style draws its masks); the tutorial loss wants probabilities."""
    hidden = keras.layers.Dense(init["hidden/kernel"].shape[1], activation="relu", name="hidden")
    output = keras.layers.Dense(10, activation="softmax" if config.loss == "tutorial" else None, name="output")
    dropout = [keras.layers.Dropout(config.dropout_rate, seed=config.seed)] if config.dropout_rate else []
    model = keras.Sequential([keras.Input((784,)), hidden, *dropout, output])
    for layer in (hidden, output):
        layer.set_weights([init[f"{layer.name}/kernel"], init[f"{layer.name}/bias"]])
    return model


def weight_name(path: str) -> str:
    """'sequential_3/hidden/kernel' -> 'hidden/kernel': the TF1 graph's name; other names unchanged."""
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 and parts[-1] in ("kernel", "bias") else path


# %% stage: loss
loss_fn = keras_style.loss_fn  # unchanged: CategoricalCrossentropy(from_logits=True)


# %% stage: optimizer
make_optimizer = mlp_eager.make_optimizer  # built on the model's variables, RMSprop's velocities at ones


# %% stage: train step
def compile_model(
    model: keras.Model, config: TrainConfig, steps_per_execution: int = 1, *, batch_loss: bool = False
) -> None:
    """`compile` with the loss alone (and the BatchLoss metric with `batch_loss`), as `keras_style` does."""
    loss = loss_fn(config.loss)
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
        test_accuracy = evaluate(model, data.test.images, data.test.one_hot)
    weights = {weight_name(w.path): w.numpy() for w in model.trainable_weights}
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, **extra)


# %% stage: evaluate
evaluate = keras_style.evaluate  # unchanged
