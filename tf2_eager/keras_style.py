"""keras.fit style: a `keras.Model` trained with `compile` and `fit`.

The same softmax regression as a one-layer `Sequential` model. What changes from the
GradientTape styles: the loop, the step and the gradient bookkeeping move inside `fit`; the
data arrives as a `tf.data.Dataset` built from the shared batch plan (no `shuffle`, so that
`fit` sees the same batches in the same order as the other styles); the loss becomes a
Keras loss object. `steps_per_execution` runs several steps per call into the compiled
train function, Keras' answer to its per-step dispatch cost.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import BatchPlan, Datasets, RunResult, TrainConfig, initial_weights, make_batch_plan, step_timing, tf_device_name

STYLE = "keras_fit"


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig):
    """A `tf.data.Dataset` that gathers each planned batch; `fit` never shuffles a Dataset."""
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    return plan, planned_dataset(plan, data.train.images, data.train.one_hot)


def planned_dataset(plan: BatchPlan, images: np.ndarray, labels: np.ndarray) -> tf.data.Dataset:
    """`(images[idx], labels[idx])` for each step's `idx` of the plan, in order."""
    images, labels = tf.constant(images), tf.constant(labels)
    dataset = tf.data.Dataset.from_tensor_slices(plan.indices).map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)))
    return dataset.prefetch(tf.data.AUTOTUNE)


# %% stage: model
def build_model(init: dict[str, np.ndarray], loss_form: str) -> keras.Model:
    """One Dense layer; the tutorial loss wants probabilities, the stable ones want logits."""
    dense = keras.layers.Dense(10, activation="softmax" if loss_form == "tutorial" else None, name="dense")
    model = keras.Sequential([keras.Input((784,)), dense])
    dense.set_weights([init["W"], init["b"]])
    return model


WEIGHT_NAMES = {"kernel": "W", "bias": "b"}  # Keras' names for the tutorial's W and b


# %% stage: loss
class TutorialCrossEntropy(keras.losses.Loss):
    """The TF1 tutorial's `-reduce_sum(y_ * log(y))` on probabilities, summed over the batch.

    Keras' own `CategoricalCrossentropy()` clips probabilities away from 0 and so cannot
    reproduce the tutorial's NaN; this loss keeps the tutorial's exact arithmetic.
    """

    def __init__(self, name: str = "tutorial_cross_entropy"):
        super().__init__(name=name, reduction="sum")

    def call(self, y_true, y_pred):
        return -tf.reduce_sum(y_true * tf.math.log(y_pred), axis=-1)


def loss_fn(form: str) -> keras.losses.Loss:
    if form == "tutorial":
        return TutorialCrossEntropy()
    return keras.losses.CategoricalCrossentropy(from_logits=True, reduction="sum_over_batch_size" if form == "mean" else "sum")


class BatchLoss(keras.metrics.Metric):
    """The loss of the latest batch. Keras' own `loss` log is a running mean over the epoch."""

    def __init__(self, loss: keras.losses.Loss, name: str = "batch_loss"):
        super().__init__(name=name)
        self._loss = loss
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(self._loss(y_true, y_pred))

    def result(self):
        return self.value


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate)
    return keras.optimizers.Adam(
        config.learning_rate, beta_1=config.adam_beta1, beta_2=config.adam_beta2, epsilon=config.adam_epsilon
    )


# %% stage: train step
def compile_model(model: keras.Model, config: TrainConfig, steps_per_execution: int = 1) -> None:
    """`compile` writes the train step: forward, loss, gradients, update, metrics."""
    loss = loss_fn(config.loss)
    model.compile(
        optimizer=make_optimizer(config),
        loss=loss,
        metrics=[BatchLoss(loss), keras.metrics.CategoricalAccuracy(name="accuracy")],
        steps_per_execution=steps_per_execution,
    )


class RecordSteps(keras.callbacks.Callback):
    """Per-batch losses, and the clock after the first batch (which carries the tracing) and the last.

    The steps end at the last batch, not when `fit` returns: `fit`'s own wind-down after the
    last batch took 0.6 to 0.7 s in about one run in five here (CPU, Keras 3.15), which spread
    over the steps doubled a 1000-step run's ms/step at random. It is a cost per `fit` call, like
    the tracing: it counts in the run's wall time, not in the steady-state step.
    """

    def __init__(self):
        super().__init__()
        self.losses: list = []
        self.t_first: float | None = None
        self.t_last: float | None = None

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["batch_loss"])
        self.t_last = time.perf_counter()
        if self.t_first is None:
            self.t_first = self.t_last


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, steps_per_execution: int = 1) -> RunResult:
    """`fit` over the planned batches. With `steps_per_execution > 1` callbacks fire once per
    execution, so `losses` then holds one loss every `steps_per_execution` steps."""
    t_begin = time.perf_counter()
    with tf.device(tf_device_name(config.device)):
        plan, dataset = make_inputs(data, config)
        model = build_model(initial_weights(config), config.loss)
        compile_model(model, config, steps_per_execution)
        record = RecordSteps()
        t_start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=config.steps, callbacks=[record], shuffle=False, verbose=0)
        t_end = time.perf_counter()
        test_accuracy = evaluate(model, data.test.images, data.test.one_hot)
    # The first callback fires after the first execution: `steps_per_execution` steps, not one.
    # step_timing divides the rest by (its steps - 1): give it the steps that ran after that call.
    first_call_steps = min(steps_per_execution, config.steps)
    first_ms, ms_per_step = step_timing(t_start, record.t_first or t_end, record.t_last or t_end, config.steps - first_call_steps + 1)
    weights = {WEIGHT_NAMES[w.path.split("/")[-1]]: w.numpy() for w in model.trainable_weights}
    return RunResult(
        style=STYLE, config=config, weights=weights, losses=np.asarray(record.losses, dtype=np.float32),
        test_accuracy=test_accuracy, steps=config.steps, seconds=time.perf_counter() - t_begin,
        ms_per_step=ms_per_step, plan_fingerprint=plan.fingerprint, device=config.device,
        extra={"first_step_ms": first_ms, "first_call_steps": first_call_steps, "steps_per_execution": steps_per_execution},
    )


# %% stage: evaluate
def evaluate(model: keras.Model, images, labels) -> float:
    return float(model.evaluate(images, labels, batch_size=len(images), verbose=0, return_dict=True)["accuracy"])
