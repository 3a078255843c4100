"""keras.fit style: a `keras.Model` trained with `compile` and `fit`.

The same softmax regression as a one-layer `Sequential` model. What changes from the
GradientTape styles: the loop, the step and the gradient bookkeeping move inside `fit`; the
data arrives as a `tf.data.Dataset` built from the shared batch plan (no `shuffle`, so that
`fit` sees the same batches in the same order as the other styles); the loss becomes a
Keras loss object. `compile` keeps Keras' defaults, the loss alone: accuracy is measured apart,
on the test set, so that no metric runs in the timed steps. `steps_per_execution` runs several
steps per call into the compiled train function, Keras' answer to its per-step dispatch cost.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import (
    BatchPlan,
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    make_batch_plan,
    tf_device_name,
)
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import eager_style

STYLE = "keras_fit"


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig):
    """A `tf.data.Dataset` that gathers each planned batch; `fit` never shuffles a Dataset."""
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    return plan, planned_dataset(plan, data.train.images, data.train.one_hot)


def planned_dataset(plan: BatchPlan, images: np.ndarray, labels: np.ndarray) -> tf.data.Dataset:
    """`(images[idx], labels[idx])` for each step's `idx` of the plan, in order."""
    images, labels = tf.constant(images), tf.constant(labels)
    dataset = tf.data.Dataset.from_tensor_slices(plan.indices).map(
        lambda idx: (tf.gather(images, idx), tf.gather(labels, idx))
    )
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
    return keras.losses.CategoricalCrossentropy(
        from_logits=True, reduction="sum_over_batch_size" if form == "mean" else "sum"
    )


class BatchLoss(keras.metrics.Metric):
    """The loss of the latest batch, for comparing runs step by step (`compare`, `parity`).

    Keras' own `loss` log is a running mean over the epoch; this metric computes the loss once
    more in every step, which is why the benchmarks leave it out.
    """

    def __init__(self, loss: keras.losses.Loss, name: str = "batch_loss"):
        super().__init__(name=name)
        self._loss = loss
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(self._loss(y_true, y_pred))

    def result(self):
        return self.value


# %% stage: optimizer
make_optimizer = eager_style.make_optimizer  # unchanged: Keras' optimizers, TF1's hyperparameters


# %% stage: train step
def compile_model(
    model: keras.Model, config: TrainConfig, steps_per_execution: int = 1, *, batch_loss: bool = False
) -> None:
    """`compile` writes the train step: forward, loss, gradients, update, and the loss's running mean.

    Keras' default compile, the loss alone, unless `batch_loss` adds the BatchLoss metric.
    """
    loss = loss_fn(config.loss)
    metrics = [BatchLoss(loss)] if batch_loss else None
    model.compile(optimizer=make_optimizer(config), loss=loss, metrics=metrics, steps_per_execution=steps_per_execution)


class RecordSteps(keras.callbacks.Callback):
    """Each call's logged loss, and the clock after each call: the first carries the tracing.

    The steps end at the last batch, not when `fit` returns: `fit`'s own wind-down after the
    last batch took 0.6 to 0.7 s in about one run in five here (CPU, Keras 3.15), which spread
    over the steps doubled a 1000-step run's ms/step at random. It is a cost per `fit` call, like
    the tracing: it counts in the run's wall time, not in the steady-state step.
    """

    def __init__(self, clock: StepClock, log: str):
        super().__init__()
        self.clock, self.log = clock, log
        self.logged: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.logged.append(logs[self.log])
        self.clock.mark_call()


# %% stage: loop
def call_losses(running_means: list[float], steps: int, steps_per_execution: int) -> np.ndarray:
    """Each call's mean loss, from Keras' running mean of the loss after each call.

    The running mean is all that Keras' default compile logs. Undone in float64, it gives each
    step's loss (each call's mean, with `steps_per_execution > 1`) to about 1e-5: the float32
    rounding of Keras' running sum.
    """
    done = np.minimum(np.arange(1, len(running_means) + 1) * steps_per_execution, steps)  # steps done after each call
    totals = np.asarray(running_means, np.float64) * done
    return (np.diff(totals, prepend=0.0) / np.diff(done, prepend=0)).astype(np.float32)


def fit(
    model: keras.Model, dataset, config: TrainConfig, clock: StepClock, steps_per_execution: int, batch_loss: bool
) -> tuple[np.ndarray, dict]:
    """One `fit` over the planned batches, timed by `clock`; its losses (one per call of `steps_per_execution`
    steps: the call's mean, from Keras' running mean, or with `batch_loss` its last batch's own loss, exact)
    and the run's extra fields. Every model's keras.fit style trains through it."""
    record = RecordSteps(clock, "batch_loss" if batch_loss else "loss")
    clock.mark_start()
    model.fit(dataset, epochs=1, steps_per_epoch=config.steps, callbacks=[record], shuffle=False, verbose=0)
    losses = record.logged if batch_loss else call_losses(record.logged, config.steps, steps_per_execution)
    extra = {"first_call_steps": min(steps_per_execution, config.steps), "steps_per_execution": steps_per_execution}
    return losses, {**extra, "batch_loss": batch_loss}


def train(data: Datasets, config: TrainConfig, *, steps_per_execution: int = 1, batch_loss: bool = False) -> RunResult:
    """`fit` over the planned batches (`fit` above says what `losses` holds)."""
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, dataset = make_inputs(data, config)
        model = build_model(initial_weights(config), config.loss)
        compile_model(model, config, steps_per_execution, batch_loss=batch_loss)
        losses, extra = fit(model, dataset, config, clock, steps_per_execution, batch_loss)
        test_accuracy = evaluate(model, data.test.images, data.test.one_hot)
    weights = {WEIGHT_NAMES[w.path.split("/")[-1]]: w.numpy() for w in model.trainable_weights}
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, **extra)


# %% stage: evaluate
def evaluate(model: keras.Model, images, labels) -> float:
    """Test accuracy, measured apart from training: compile() gave the model no accuracy metric."""
    accuracy = keras.metrics.CategoricalAccuracy()
    accuracy.update_state(labels, model(images, training=False))
    return float(accuracy.result())
