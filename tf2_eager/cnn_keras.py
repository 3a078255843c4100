"""keras.fit style, the CNN: "Deep MNIST for experts" as a `keras.Sequential` of Conv2D, MaxPooling2D and Dense.

`Conv2D(32, 5, padding="same")` holds TF1's 5x5x1x32 kernel in TF1's layout (height, width, in,
out), so the shared initial weights load as they are; `Flatten` flattens the 7x7x64 maps in the
order TF1's `reshape` did (channels last); `Dropout(0.5, seed=...)` stands for `keep_prob` 0.5.
Compile, optimizer and loss are the MLPs' (`mlp_keras.py`), the data pipeline the softmax's.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import cnn_eager, keras_style, mlp_keras

STYLE = "keras_fit"


# %% stage: data
make_inputs = keras_style.make_inputs  # unchanged: the planned tf.data pipeline


# %% stage: model
def build_model(init: dict[str, np.ndarray], config: TrainConfig) -> keras.Model:
    """The tutorial's layers, named as the TF1 variables are, started from the shared weights."""
    layers = {
        "conv1": keras.layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1"),
        "conv2": keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2"),
        "fc1": keras.layers.Dense(1024, activation="relu", name="fc1"),
        "output": keras.layers.Dense(10, activation="softmax" if config.loss == "tutorial" else None, name="output"),
    }
    dropout = [keras.layers.Dropout(config.dropout_rate, seed=config.seed)] if config.dropout_rate else []
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1)),
            layers["conv1"],
            keras.layers.MaxPooling2D(2, padding="same"),
            layers["conv2"],
            keras.layers.MaxPooling2D(2, padding="same"),
            keras.layers.Flatten(),
            layers["fc1"],
            *dropout,
            layers["output"],
        ]
    )
    for name, layer in layers.items():
        layer.set_weights([init[f"{name}/kernel"], init[f"{name}/bias"]])
    return model


weight_name = mlp_keras.weight_name  # unchanged: 'sequential_3/conv1/kernel' -> 'conv1/kernel'


# %% stage: loss
loss_fn = mlp_keras.loss_fn  # unchanged: CategoricalCrossentropy(from_logits=True)


# %% stage: optimizer
make_optimizer = mlp_keras.make_optimizer  # unchanged: Keras Adam with TF1's hyperparameters


# %% stage: train step
compile_model = mlp_keras.compile_model  # unchanged: compile with the loss (and the BatchLoss metric)


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
def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy from `predict` in batches of cnn_eager.EVAL_BATCH: compile() gave no accuracy metric."""
    logits = model.predict(images, batch_size=cnn_eager.EVAL_BATCH, verbose=0)
    return float(np.mean(np.argmax(logits, 1) == np.argmax(labels, 1)))
