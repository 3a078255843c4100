"""Softmax applied twice: TensorFlow's beginner quickstart copied with `Dense(10, activation="softmax")`.

The quickstart's model ends in `Dense(10)` and its loss takes logits (`from_logits=True`). A
widely copied version ends in `Dense(10, activation="softmax")` and keeps `from_logits=True`.
Keras 3 notices: its loss finds the logits the softmax was given (a tensor attribute), warns,
and uses them, so `fit` and a loop calling the Keras loss train exactly as the correct model.
A migration that calls `tf.nn.sparse_softmax_cross_entropy_with_logits` on the same output
gets the softmax twice, without a word: the loss cannot fall below log(1 + 9/e) = 1.461, the
value at a one-hot probability, and the gradients shrink with it.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.compat import Datasets, make_batch_plan

STEPS = 900  # about half an epoch at the quickstart's batch size
BATCH = 32
SEED = 0
LOSS_FLOOR = math.log(1 + 9 / math.e)  # softmax cross-entropy of a one-hot probability vector, 10 classes


def quickstart_model(softmax_output: bool = False, dropout_rate: float = 0.2) -> keras.Sequential:
    """The quickstart's MLP (Flatten, Dense 128 relu, Dropout 0.2, Dense 10), seeded: the same start each time."""
    keras.utils.set_random_seed(SEED)
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(dropout_rate),
            keras.layers.Dense(10, activation="softmax" if softmax_output else None),
        ]
    )


def train_fit(data: Datasets, model: keras.Model) -> tuple[float, float, int]:
    """`compile`/`fit` as the quickstart writes it, on the planned batches: (the epoch's loss, test
    accuracy, warnings about a softmax output)."""
    plan = make_batch_plan(data.train.num_examples, BATCH, STEPS, SEED)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, labels = plan.gather(data.train.images, data.train.labels)
        history = model.fit(images.reshape(-1, 784), labels.reshape(-1), batch_size=BATCH, shuffle=False, verbose=0)
    return history.history["loss"][-1], accuracy_on_test(model, data), _about_softmax(caught)


def train_tf_nn(data: Datasets, softmax_output: bool) -> tuple[float, float, int]:
    """A `tf.function` loop whose loss is `tf.nn.sparse_softmax_cross_entropy_with_logits`, on the same batches."""
    plan = make_batch_plan(data.train.num_examples, BATCH, STEPS, SEED)
    model, optimizer = quickstart_model(softmax_output), keras.optimizers.Adam()

    @tf.function
    def step(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            out = model(images, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=out))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for idx in plan.indices:
            losses.append(step(tf.constant(data.train.images[idx]), tf.constant(data.train.labels[idx])))
    last_epoch_loss = float(np.mean(tf.stack(losses).numpy()))
    return last_epoch_loss, accuracy_on_test(model, data), _about_softmax(caught)


def accuracy_on_test(model: keras.Model, data: Datasets) -> float:
    return float(np.mean(np.argmax(model(data.test.images, training=False).numpy(), axis=1) == data.test.labels))


def _about_softmax(caught: list[warnings.WarningMessage]) -> int:
    return sum("produced by a Softmax activation" in str(w.message) for w in caught)


def measure_softmax_twice(data: DataLoader) -> Measurement:
    """The quickstart's model and its softmax-ended copy, through Keras' loss (fit) and through tf.nn."""
    mnist = data("mnist")
    fit_logits, fit_acc, fit_warned_logits = train_fit(mnist, quickstart_model(softmax_output=False))
    fit_softmax, fit_softmax_acc, fit_warned = train_fit(mnist, quickstart_model(softmax_output=True))
    nn_logits, nn_acc, _ = train_tf_nn(mnist, softmax_output=False)
    nn_softmax, nn_softmax_acc, nn_warned = train_tf_nn(mnist, softmax_output=True)
    cost = nn_acc - nn_softmax_acc
    return Measurement(
        effect=(
            f"Keras' loss warns and repairs it (fit: test acc {fit_softmax_acc:.4f} = {fit_acc:.4f}); through tf.nn, "
            f"silent: mean loss {nn_softmax:.3f} (floor {LOSS_FLOOR:.3f}) vs {nn_logits:.3f}, test acc "
            f"{nn_softmax_acc:.4f} vs {nn_acc:.4f} after {STEPS} steps"
        ),
        checks={
            "Keras' loss warns on a softmax output with from_logits=True, and fit trains exactly as the logits model": (
                fit_warned > 0 and fit_warned_logits == 0 and fit_softmax == fit_logits and fit_softmax_acc == fit_acc
            ),
            "tf.nn's loss says nothing and applies the softmax twice (its mean loss stays above log(1 + 9/e))": (
                nn_warned == 0 and nn_softmax > LOSS_FLOOR > nn_logits
            ),
            f"softmax twice costs >= 1 point of test accuracy after {STEPS} steps": cost >= 0.01,
        },
        numbers={
            "steps": STEPS,
            "batch_size": BATCH,
            "loss_floor_softmax_twice": LOSS_FLOOR,
            "fit_last_loss_logits": fit_logits,
            "fit_last_loss_softmax": fit_softmax,
            "fit_softmax_warnings": fit_warned,
            "test_acc_fit_logits": fit_acc,
            "test_acc_fit_softmax": fit_softmax_acc,
            "tf_nn_mean_loss_logits": nn_logits,
            "tf_nn_mean_loss_softmax": nn_softmax,
            "tf_nn_softmax_warnings": nn_warned,
            "test_acc_tf_nn_logits": nn_acc,
            "test_acc_tf_nn_softmax": nn_softmax_acc,
        },
    )


SOFTMAX_TWICE = Pitfall(
    id="softmax-twice",
    title="softmax applied twice: Dense(10, activation='softmax') with a loss that takes logits",
    tf1="logits = tf.matmul(h, W) + b; tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)",
    tf2="keras.layers.Dense(10, activation='softmax') ... tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x))",
    differs=(
        "Keras 3's own loss warns and uses the softmax's logits, so fit is unharmed; tf.nn's loss applies the "
        "softmax again, silently: the loss cannot fall below 1.461 and training slows"
    ),
    fix="end the model in Dense(10) (logits) and keep from_logits=True, or end it in softmax and pass "
    "from_logits=False; never hand a softmax output to tf.nn.*_with_logits",
    measure=measure_softmax_twice,
)
