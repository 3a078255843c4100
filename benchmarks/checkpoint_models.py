"""tfparity's own models as checkpoint holders: each era's format written by that era's style.

TF1 (`tf1_graph`): the style's graph (`build_graph`, its optimizer's slots and step included),
saved by `tf.compat.v1.train.Saver`. TF2 (`eager`): the style's variables in a `tf.Module`, with
its Keras optimizer, saved by `tf.train.Checkpoint`. Keras (`keras_fit`): the style's compiled
`keras.Model`, saved by `save_weights` as `.weights.h5`. Every holder starts from the model's
initial weights (`compat.initial_weights`); what a checkpoint holds is assigned on top.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from tfparity.benchmarks.idioms import style_module
from tfparity.compat import TrainConfig, initial_weights, parity
from tfparity.compat.checkpoints.holders import KerasHolder, ModuleHolder, TF1Holder
from tfparity.compat.tasks import task_of
from tfparity.tf2_eager import eager_style, keras_style

FORMATS = ("tf1", "tf2", "keras")
FORMAT_STYLES = {"tf1": "tf1_graph", "tf2": "eager", "keras": "keras_fit"}  # the style whose era writes each


def tf1_holder(config: TrainConfig) -> TF1Holder:
    graph_module = style_module("tf1_graph", config.model)

    def build() -> parity.TF1Graph:
        g = graph_module.build_graph(config)
        return parity.TF1Graph(
            inputs=g.x,
            outputs=g.logits,
            labels=g.y_,
            loss=g.loss,
            train_op=g.train_op,
            variables=list(g.params.values()),
            train_feed=dict(g.train_feed),
            eval_feed=dict(g.eval_feed),
        )

    return TF1Holder(build)


def tf2_holder(config: TrainConfig) -> ModuleHolder:
    module = style_module("eager", config.model)
    params = module.build_model(initial_weights(config))
    holder_module = tf.Module(name="model")
    holder_module.params = params  # tf.Module tracks the dict: keys become object paths
    task = task_of(config.model)
    extra = (task,) if task != "classes" else ()
    holder = ModuleHolder(holder_module, lambda x: module.forward(params, x, *extra), names=params)
    if module is eager_style:
        holder.optimizer = eager_style.make_optimizer(config)
        holder.optimizer.build(list(params.values()))
    else:
        holder.optimizer = module.make_optimizer(config, params)
    return holder


def keras_holder(config: TrainConfig) -> KerasHolder:
    module = style_module("keras_fit", config.model)
    init = initial_weights(config)
    if module is keras_style:
        model = keras_style.build_model(init, config.loss)
        keras_style.compile_model(model, config)
        model.optimizer.build(model.trainable_variables)
        names = lambda path: keras_style.WEIGHT_NAMES.get(path.rsplit("/", 1)[-1], path)  # noqa: E731
    else:
        model = module.build_model(init, config)
        module.compile_model(model, config)
        names = module.weight_name
    return KerasHolder(model, names)


HOLDERS = {"tf1": tf1_holder, "tf2": tf2_holder, "keras": keras_holder}


def holder(format: str, config: TrainConfig):
    """A fresh holder of `config.model` in `format` ("tf1", "tf2" or "keras")."""
    return HOLDERS[format](config)


def file_name(format: str, stem: str = "model") -> str:
    """The file (Keras) or prefix (TF1, TF2) a format's checkpoint is written under."""
    return {"tf1": f"{stem}.ckpt", "tf2": f"{stem}-tf2", "keras": f"{stem}.weights.h5"}[format]


def export_saved_model(holder, folder: Path, features: int) -> Path:
    """A SavedModel of a TF2 holder with a `serving_default` signature taking a (None, features) float32 batch.

    eager / tf.function (a `ModuleHolder`): `tf.saved_model.save` of its module, with the forward pass
    as a `tf.function` on the module (so the variables it reads are saved with it); keras.fit (a
    `KerasHolder`): Keras 3's `model.export`, whose `serve` endpoint is the signature.
    """
    if isinstance(holder, KerasHolder):
        holder.model.export(str(folder), format="tf_saved_model", verbose=False)
        return folder
    spec = tf.TensorSpec([None, features], tf.float32, name="inputs")
    holder.module.serve = tf.function(lambda x: {"outputs": holder._forward(x)}, input_signature=[spec])
    tf.saved_model.save(holder.module, str(folder), signatures={"serving_default": holder.module.serve})
    return folder
