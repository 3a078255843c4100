"""The implementations under comparison: the `Side` protocol, a TF1 graph side and a TF2 side.

Each method of a side starts from a fresh build (new graph, new model, new optimizer), so calls
never share state. Anything that is neither a TF1 graph nor a Keras model or `tf.Module` (a
`fit`-based loop, say) can implement `Side` itself. Nothing here knows about tfparity's styles.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.trajectories import Trajectory, record_trajectory
from tfparity.compat.parity.variables import (
    Inspection,
    NameMap,
    VariableSpec,
    Weights,
    apply_name_map,
    assign,
    clean_name,
    named_variables,
    read,
    variable_name,
)


class Side(Protocol):
    """One implementation under comparison. Each method starts from a fresh build (new graph,
    new model, new optimizer), so calls never share state."""

    name: str

    def inspect(self, sample_inputs: np.ndarray) -> Inspection: ...

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray: ...

    def train(self, weights: Weights, batches: Sequence[Batch], record_every: int = 1) -> Trajectory: ...


def device_scope(device: str | None) -> ContextManager[Any]:
    """`tf.device(device)`, or no placement at all when `device` is None."""
    import tensorflow as tf

    return tf.device(device) if device else contextlib.nullcontext()


# --- TF1 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TF1Graph:
    """What a TF1 graph builder returns: tensors of the graph it built.

    `inputs` and `labels` are placeholders fed with each batch's two arrays; `train_feed` and
    `eval_feed` add fixed feeds (a `keep_prob` or `is_training` placeholder, say). `variables`
    defaults to the graph's `tf.compat.v1.trainable_variables()`.
    """

    inputs: Any
    outputs: Any
    labels: Any = None
    loss: Any = None
    train_op: Any = None
    variables: Sequence[Any] | None = None
    train_feed: Mapping[Any, Any] = field(default_factory=dict)
    eval_feed: Mapping[Any, Any] = field(default_factory=dict)


class _TF1Run:
    """One fresh graph and session for a `TF1GraphSide`: build, initialize, assign, read."""

    def __init__(self, build: Callable[[], TF1Graph], device: str | None, name_map: NameMap):
        import tensorflow as tf

        self.graph = tf.Graph()
        with self.graph.as_default(), device_scope(device):
            self.handles = build()
            if not isinstance(self.handles, TF1Graph):
                raise TypeError(
                    f"a TF1 graph builder must return compat.parity.TF1Graph, got {type(self.handles).__name__}"
                )
            variables = list(self.handles.variables or tf.compat.v1.trainable_variables())
            self.variables = {apply_name_map(clean_name(v.name), name_map): v for v in variables}
            self.feeds = {n: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for n, v in self.variables.items()}
            self.assign_op = tf.group(*[v.assign(self.feeds[n]) for n, v in self.variables.items()])
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init)

    def assign(self, weights: Weights) -> None:
        self.session.run(self.assign_op, {self.feeds[n]: weights[n] for n in self.variables})

    def read(self) -> Weights:
        return self.session.run(self.variables)

    def close(self) -> None:
        self.session.close()


class TF1GraphSide:
    """A TF1 implementation: `build()` runs inside a fresh `tf.Graph` and returns a `TF1Graph`.

    Variables are named by their graph names without ':0' ('hidden/kernel'), then `name_map`
    (a dict, or a function) when given.
    """

    def __init__(
        self, build: Callable[[], TF1Graph], *, name: str = "tf1", device: str | None = None, name_map: NameMap = None
    ):
        self.build, self.name, self.device, self.name_map = build, name, device, name_map

    @contextlib.contextmanager
    def _run(self) -> Iterator[_TF1Run]:
        run = _TF1Run(self.build, self.device, self.name_map)
        try:
            yield run
        finally:
            run.close()

    def inspect(self, sample_inputs: np.ndarray) -> Inspection:
        with self._run() as run:
            specs = [
                VariableSpec(n, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for n, v in run.variables.items()
            ]
            return Inspection(specs, run.read())

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray:
        with self._run() as run:
            run.assign(weights)
            h = run.handles
            return run.session.run(h.outputs, {h.inputs: inputs, **h.eval_feed})

    def train(self, weights: Weights, batches: Sequence[Batch], record_every: int = 1) -> Trajectory:
        with self._run() as run:
            h = run.handles
            if h.loss is None or h.train_op is None or h.labels is None:
                raise ValueError(f"{self.name}: the TF1Graph needs labels, loss and train_op to train")
            run.assign(weights)

            def step(x: np.ndarray, y: np.ndarray) -> float:
                return run.session.run([h.train_op, h.loss], {h.inputs: x, h.labels: y, **h.train_feed})[1]

            return record_trajectory(step, run.read, batches, record_every)


# --- TF2 -----------------------------------------------------------------------------------


def default_forward(model: Any, inputs: Any) -> Any:
    """`model(inputs, training=False)` for a Keras layer or model, `model(inputs)` otherwise."""
    import keras

    return model(inputs, training=False) if isinstance(model, keras.layers.Layer) else model(inputs)


def keras_train_step(model: Any, inputs: np.ndarray, labels: np.ndarray) -> float:
    """One step of a compiled Keras model: `train_on_batch`, the train function `fit` runs.

    `train_on_batch` resets the metrics first, so its `loss` is this batch's loss.
    """
    return model.train_on_batch(inputs, labels, return_dict=True)["loss"]


class TF2Side:
    """A TF2 implementation: `make_model()` returns a fresh Keras model or `tf.Module`.

    `forward(model, inputs)` defaults to `model(inputs, training=False)` for Keras and
    `model(inputs)` otherwise. `train_step(model, inputs, labels) -> loss` updates the model's
    variables by one step; it defaults to `train_on_batch` for a compiled Keras model. A
    `tf.Module` keeps its optimizer as an attribute so that each fresh model gets a fresh one.

    Variables are named by their Keras path ('two_layer/hidden/kernel') or tf.Variable name
    without ':0', then by `name_map` (a dict, or a function) into the reference's names. It is
    applied on every fresh build, so Keras' automatic names ('sequential_3/...') can be mapped
    by a function such as `lambda name: name.split("/", 1)[1]`.
    """

    def __init__(
        self,
        make_model: Callable[[], Any],
        *,
        train_step: Callable[[Any, Any, Any], Any] | None = None,
        forward: Callable[[Any, Any], Any] | None = None,
        name: str = "tf2",
        device: str | None = None,
        name_map: NameMap = None,
    ):
        self.make_model, self.name, self.device, self.name_map = make_model, name, device, name_map
        self.forward_fn = forward or default_forward
        self.train_step = train_step

    def _device(self) -> ContextManager[Any]:
        return device_scope(self.device)

    def _fresh(self, sample_inputs: np.ndarray) -> tuple[Any, dict[str, Any]]:
        model = self.make_model()
        if not list(model.trainable_variables):
            self.forward_fn(model, sample_inputs)  # variables appear on the first call
        return model, named_variables(model.trainable_variables, self.name_map)

    def inspect(self, sample_inputs: np.ndarray) -> Inspection:
        import tensorflow as tf

        with self._device():
            model, variables = self._fresh(sample_inputs)
            self.forward_fn(model, sample_inputs)
            created: list[str] = []

            def catch(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
                created.append(str(kwargs.get("name") or "?"))
                return next_creator(**kwargs)

            with tf.variable_creator_scope(catch):
                self.forward_fn(model, sample_inputs)
            specs = [VariableSpec(n, tuple(v.shape), _dtype_name(v.dtype)) for n, v in variables.items()]
            names = [apply_name_map(variable_name(v), self.name_map) for v in model.trainable_variables]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            return Inspection(specs, read(variables), created, duplicates)

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray:
        with self._device():
            model, variables = self._fresh(inputs)
            assign(variables, weights)
            return np.asarray(self.forward_fn(model, inputs))

    def train(self, weights: Weights, batches: Sequence[Batch], record_every: int = 1) -> Trajectory:
        step_fn = self.train_step or keras_train_step
        with self._device():
            model, variables = self._fresh(batches[0][0])
            assign(variables, weights)
            return record_trajectory(lambda x, y: step_fn(model, x, y), lambda: read(variables), batches, record_every)


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", None) or str(dtype)
