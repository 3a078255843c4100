"""A model of either era that a checkpoint is written from or read into: its variables by name, its forward pass.

`TF1Holder` builds a TF1 graph (a `compat.parity.TF1Graph` builder) in a private `tf.Graph` with its
own session, and saves with `tf.compat.v1.train.Saver`; `ModuleHolder` holds a `tf.Module` (saved
by `tf.train.Checkpoint`, with a Keras optimizer beside it when one is given); `KerasHolder` a
`keras.Model` (saved by `save_weights` as `.weights.h5`, its compiled optimizer included). Each
lists its variables in creation order under the names its format saves them by, so that
`mapping.find_mapping` can pair them with a checkpoint's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tfparity.compat.parity.variables import clean_name

Shape = tuple[int, ...]


class TF1Holder:
    """A TF1 graph and its session; saves every global variable (slots and step included) with a `Saver`."""

    format = "tf1"

    def __init__(self, build: Callable[[], Any]):
        import tensorflow as tf

        self.graph = tf.Graph()
        with self.graph.as_default():
            self.handles = build()
            if not all(hasattr(self.handles, a) for a in ("inputs", "outputs", "variables")):
                raise TypeError(
                    f"a TF1 graph builder returns compat.parity.TF1Graph, not {type(self.handles).__name__}"
                )
            trainable = self.handles.variables or tf.compat.v1.trainable_variables()
            self.trainable = {clean_name(v.name): v for v in trainable}
            self.every = {clean_name(v.name): v for v in tf.compat.v1.global_variables()}
            self.saver = tf.compat.v1.train.Saver(var_list=self.every, max_to_keep=None)
            self.feeds = {n: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for n, v in self.every.items()}
            self.assigns = {n: v.assign(self.feeds[n]) for n, v in self.every.items()}
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init)

    def variables(self) -> dict[str, Shape]:
        return {name: tuple(v.shape.as_list()) for name, v in self.trainable.items()}

    def state(self) -> dict[str, Shape]:
        """Every saved variable, optimizer slots and step included."""
        return {name: tuple(v.shape.as_list()) for name, v in self.every.items()}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        if values:
            self.session.run(
                [self.assigns[n] for n in values], {self.feeds[n]: np.asarray(v) for n, v in values.items()}
            )

    def read(self) -> dict[str, np.ndarray]:
        return self.session.run(self.trainable)

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(self.handles.outputs, {self.handles.inputs: inputs, **self.handles.eval_feed})

    def train(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
        """Run the graph's train op on each batch (its optimizer's slots and step move with it)."""
        h = self.handles
        for inputs, labels in batches:
            self.session.run(h.train_op, {h.inputs: inputs, h.labels: labels, **h.train_feed})

    def save(self, prefix: Path) -> None:
        with self.graph.as_default():  # the Saver's ops are this graph's
            self.saver.save(self.session, str(prefix), write_meta_graph=False, write_state=False)

    def restore(self, prefix: Path) -> None:
        with self.graph.as_default():
            self.saver.restore(self.session, str(prefix))

    def close(self) -> None:
        self.session.close()


class EagerVariables:
    """What the two TF2 holders share: their variables by name (`self.named`), read and assigned eagerly."""

    named: dict[str, Any]

    def variables(self) -> dict[str, Shape]:
        return {name: tuple(v.shape) for name, v in self.named.items()}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        for name, value in values.items():
            self.named[name].assign(np.asarray(value))

    def read(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(v.numpy()) for name, v in self.named.items()}

    def close(self) -> None:
        pass  # nothing to release: no session


class ModuleHolder(EagerVariables):
    """A `tf.Module` whose variables are saved by name of object path (`tf.train.Checkpoint(model=...)`)."""

    format = "tf2"

    def __init__(self, module: Any, forward: Callable[[np.ndarray], Any], names: Mapping[str, Any] | None = None):
        self.module, self._forward = module, forward
        self.named = dict(names) if names is not None else module_variables(module)
        self.optimizer = None

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(inputs))

    def checkpoint(self):
        import tensorflow as tf

        objects = {"model": self.module} | ({"optimizer": self.optimizer} if self.optimizer is not None else {})
        return tf.train.Checkpoint(**objects)

    def save(self, prefix: Path) -> None:
        self.checkpoint().write(str(prefix))

    def restore(self, prefix: Path) -> None:
        self.checkpoint().read(str(prefix)).assert_existing_objects_matched()


def module_variables(module: Any) -> dict[str, Any]:
    """A tf.Module's trainable variables by their own names, or, where two share one (TF2's unnamed
    'Variable'), by their attribute paths in the module ('w1', 'layers/0/kernel')."""
    import tensorflow as tf

    by_name = {clean_name(v.name): v for v in module.trainable_variables}
    if len(by_name) == len(module.trainable_variables):
        return by_name
    found = module._flatten(predicate=lambda v: isinstance(v, tf.Variable) and v.trainable, with_path=True)
    return {"/".join(str(part) for part in path): v for path, v in found}


class KerasHolder(EagerVariables):
    """A `keras.Model`; its weights file is Keras 3's `.weights.h5` (layer by layer, then the optimizer's)."""

    format = "keras"

    def __init__(self, model: Any, name_map: Callable[[str], str] | None = None):
        self.model = model
        rename = name_map or (lambda path: path)
        self.named = {rename(v.path): v for v in model.trainable_weights}  # save_weights writes the rest too

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(inputs, training=False))

    def save(self, path: Path) -> None:
        self.model.save_weights(str(path))

    def restore(self, path: Path) -> None:
        self.model.load_weights(str(path))
