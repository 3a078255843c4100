"""Our four styles as `compat.parity` sides, built from their own stage functions.

`compat.parity` takes callables and knows nothing of our styles; this module is the adapter.
Each side assembles the style's stages (model, loss, optimizer, train step) exactly as the
style's `train` does; the parity API supplies the loop, the shared weights and the batches.
keras.fit keeps its own loop: `KerasFitSide` trains through `model.fit` on the planned
`tf.data` pipeline, with a callback that records the weights after every batch.

The forward pass compared is the logits, or the probabilities under the tutorial loss (where
the Keras model ends in a softmax).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfparity.benchmarks.idioms import REFERENCE, style_module
from tfparity.compat import Datasets, TrainConfig, initial_weights, parity, tf_device_name
from tfparity.compat.tasks import task_of, test_metric, training_labels
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, function_style, keras_style


def batches_for(data: Datasets, config: TrainConfig) -> parity.PlannedBatches:
    """The batch plan every style's `train` draws for this config (same seed, same order)."""
    labels = training_labels(data.train, config.model)
    plan = config.batch_plan(data.train.num_examples)
    return parity.PlannedBatches(plan, data.train.images, labels)


def tf1_graph_side(config: TrainConfig) -> parity.TF1GraphSide:
    graph_module = style_module(graph_style.STYLE, config.model)

    def build() -> parity.TF1Graph:
        g = graph_module.build_graph(config)
        outputs = tf.nn.softmax(g.logits) if config.loss == "tutorial" else g.logits
        return parity.TF1Graph(
            inputs=g.x,
            labels=g.y_,
            outputs=outputs,
            loss=g.loss,
            train_op=g.train_op,
            variables=list(g.params.values()),
            train_feed=g.train_feed,
            eval_feed=g.eval_feed,
        )

    return parity.TF1GraphSide(build, name=graph_style.STYLE, device=tf_device_name(config.device))


class TapeModel:
    """The GradientTape styles' state: the params dict and its optimizer, made together."""

    def __init__(self, params: dict[str, tf.Variable], optimizer: keras.optimizers.Optimizer):
        self.params, self.optimizer = params, optimizer

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        return list(self.params.values())


def _tape_side(config: TrainConfig, style, make_optimizer) -> parity.TF2Side:
    def make_model() -> TapeModel:
        params = style.build_model(initial_weights(config))
        return TapeModel(params, make_optimizer(params))

    task = task_of(config.model)
    # the regression tutorials' stages take the task; the other models' steps the loss form, and
    # the larger models' the dropout rate and seed too (0: none)
    forward_args = (task,) if task != "classes" else ()
    if task != "classes":
        step_args = (task,)
    elif style in (eager_style, function_style):
        step_args = (config.loss,)
    else:
        step_args = (config.loss, config.dropout_rate, config.seed)

    def forward(model: TapeModel, inputs) -> tf.Tensor:
        logits = style.forward(model.params, inputs, *forward_args)
        return tf.nn.softmax(logits) if config.loss == "tutorial" else logits

    def train_step(model: TapeModel, images, labels) -> tf.Tensor:
        return style.train_step(model.params, model.optimizer, images, labels, *step_args)

    return parity.TF2Side(
        make_model, train_step=train_step, forward=forward, name=style.STYLE, device=tf_device_name(config.device)
    )


def eager_side(config: TrainConfig) -> parity.TF2Side:
    module = style_module(eager_style.STYLE, config.model)
    if module is eager_style:  # the softmax model's optimizer needs no variables to be made
        return _tape_side(config, eager_style, lambda params: eager_style.make_optimizer(config))
    return _tape_side(config, module, lambda params: module.make_optimizer(config, params))


def function_side(config: TrainConfig) -> parity.TF2Side:
    module = style_module(function_style.STYLE, config.model)
    return _tape_side(config, module, lambda params: module.make_optimizer(config, params))


class RecordWeights(keras.callbacks.Callback):
    """After every batch: the batch's loss (keras_style's BatchLoss metric) and the weights;
    `after_step(batch)` first, when given (a twin's rounding, `parity.rounding_after_each_step`,
    which returns the weights it left)."""

    def __init__(self, record: set[int], variables: dict, after_step=None):
        super().__init__()
        self.record, self.variables, self.losses, self.weights = record, variables, [], {}
        self.after_step = after_step

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["batch_loss"]))
        moved = self.after_step(batch) if self.after_step is not None else None
        if batch + 1 in self.record:
            self.weights[batch + 1] = moved if moved is not None else parity.read(self.variables)


class KerasFitSide(parity.TF2Side):
    """keras.fit: `train` runs `model.fit` over the planned `tf.data` pipeline, one epoch."""

    def __init__(self, config: TrainConfig):
        module = style_module(keras_style.STYLE, config.model)

        def make_model() -> keras.Model:
            model = module.build_model(initial_weights(config), config.loss if module is keras_style else config)
            module.compile_model(model, config, batch_loss=True)  # every step's own loss, for the trajectory
            return model

        names = keras_names if module is keras_style else module.weight_name
        super().__init__(make_model, name=keras_style.STYLE, device=tf_device_name(config.device), name_map=names)

    def train(
        self,
        weights: parity.Weights,
        batches: Sequence[parity.Batch],
        record_every: int = 1,
        rounding_seed: int | None = None,
    ) -> parity.Trajectory:
        if not isinstance(batches, parity.PlannedBatches):
            raise TypeError("KerasFitSide trains on a batch plan: pass compat.parity.planned_batches(...)")
        with self._device():
            model, variables = self._fresh(batches[0][0])
            parity.assign(variables, weights)
            after_step = None
            if rounding_seed is not None:  # a twin
                after_step = parity.rounding_after_each_step(
                    rounding_seed,
                    lambda: parity.read(variables),
                    lambda w: parity.assign(variables, w),
                    parity.keras_update_scale(model.optimizer),
                )
            callback = RecordWeights(parity.recorded_steps(len(batches), record_every), variables, after_step)
            callback.weights[0] = parity.read(variables)
            dataset = keras_style.planned_dataset(batches.plan, batches.images, batches.labels)
            model.fit(dataset, epochs=1, steps_per_epoch=len(batches), callbacks=[callback], shuffle=False, verbose=0)
        return parity.Trajectory(np.asarray(callback.losses, np.float64), callback.weights)


def keras_names(name: str) -> str:
    """'sequential_3/dense/kernel' -> 'W' (keras_style's own WEIGHT_NAMES); other names unchanged."""
    return keras_style.WEIGHT_NAMES.get(name.rsplit("/", 1)[-1], name) if "/" in name else name


SIDES = {
    graph_style.STYLE: tf1_graph_side,
    eager_style.STYLE: eager_side,
    function_style.STYLE: function_side,
    keras_style.STYLE: KerasFitSide,
}


def style_sides(config: TrainConfig, names: Sequence[str] | None = None) -> dict[str, Any]:
    """name -> side for `config`, in the order given (all four by default)."""
    return {name: SIDES[name](config) for name in (names or SIDES)}


def check_styles(
    data: Datasets, config: TrainConfig, candidates: Sequence[str] | Mapping[str, Any] | None = None, **options
) -> dict[str, parity.ParityReport]:
    """Candidate styles (names, or sides by name) against the TF1 graph, with test accuracy as a metric."""
    if isinstance(candidates, Mapping):
        sides = dict(candidates)
    else:
        sides = style_sides(config, [n for n in (candidates or SIDES) if n != REFERENCE])
    options.setdefault("eval_data", (data.test.images, data.test.labels))
    options.setdefault("metrics", dict([test_metric(config.model)]))
    return parity.check_many(tf1_graph_side(config), sides, batches_for(data, config), **options)
