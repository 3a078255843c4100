"""The implementations under comparison: the `Side` protocol, a TF1 graph side and a TF2 side.

Each method of a side starts from fresh state (a new session, model and optimizer), so calls
never share state. Anything that is neither a TF1 graph nor a Keras model or `tf.Module` (a
`fit`-based loop, say) can implement `Side` itself. Nothing here knows about tfparity's styles.
Both sides list their trainable variables in creation order, with the same names on every build.

`inspect(sample_inputs, seed=n)` builds under seed n (`seed_process`, which leaves the process's
Python, NumPy, TensorFlow and Keras seeds set). That repeats, build after build and run after run
(tests/test_parity_seeding.py): `tf.compat.v1` initializers and random ops, `tf.random.*` ops in a
`tf.Module`, Keras 3 layers and initializers, and `np.random.*`, on either side. It does not repeat
draws from a `tf.random.Generator` (the global one too), an unseeded `np.random.default_rng()`, or
anything drawn before the build: an unseeded Keras initializer made once, outside `make_model`,
draws its seed once per process, so two builds agree while two runs do not.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.sensitivity import keras_update_scale, rounding_after_each_step, tf1_update_scale
from tfparity.compat.parity.trajectories import Trajectory, record_trajectory
from tfparity.compat.parity.variables import (
    Inspection,
    NameMap,
    VariableSpec,
    Weights,
    assign,
    duplicate_names,
    in_creation_order,
    named_variables,
    read,
    recording_creations,
)


class Side(Protocol):
    """One implementation under comparison. Each method starts from fresh state (a new session,
    model and optimizer), so calls never share state."""

    name: str

    def inspect(self, sample_inputs: np.ndarray) -> Inspection: ...  # may also take `seed: int | None = None`

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray: ...

    def train(self, weights: Weights, batches: Sequence[Batch], record_every: int = 1) -> Trajectory: ...

    # `train` may also take `rounding_seed: int | None = None`: with a seed, each update rounded differently
    # (`sensitivity.rounding_after_each_step`), for the twins that measure rounding.


def device_scope(device: str | None) -> ContextManager[Any]:
    """`tf.device(device)`, or no placement at all when `device` is None."""
    import tensorflow as tf

    return tf.device(device) if device else contextlib.nullcontext()


def seed_process(seed: int) -> None:
    """`keras.utils.set_random_seed(seed)`: Python's `random`, NumPy's global state, TensorFlow's
    global seed (the default graph's, inside a graph) and Keras' global `SeedGenerator`."""
    import keras

    keras.utils.set_random_seed(seed)


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


class _TF1Built:
    """A `TF1GraphSide`'s graph, built anew by every `inspect` and once for all its `forward` and
    `train` calls: its handles, named variables, and the ops that initialize, assign and read them."""

    def __init__(self, build: Callable[[], TF1Graph], device: str | None, name_map: NameMap, seed: int | None = None):
        import tensorflow as tf

        self.graph = tf.Graph()
        with self.graph.as_default(), device_scope(device):
            if seed is not None:  # before build(): op seeds derive from the graph seed as ops are made
                seed_process(seed)
                tf.compat.v1.set_random_seed(seed)
            self.handles = build()
            if not isinstance(self.handles, TF1Graph):
                raise TypeError(
                    f"a TF1 graph builder must return compat.parity.TF1Graph, got {type(self.handles).__name__}"
                )
            # The graph's collection is in creation order; so is a `variables` list built as it goes.
            variables = list(self.handles.variables or tf.compat.v1.trainable_variables())
            self.variables = named_variables(variables, name_map)
            self.duplicates = duplicate_names(variables, name_map)
            self.feeds = {n: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for n, v in self.variables.items()}
            self.assign_op = tf.group(*[v.assign(self.feeds[n]) for n, v in self.variables.items()])
            self.init = tf.compat.v1.global_variables_initializer()


class _TF1Run:
    """A fresh session on a built graph: every variable (optimizer slots too) initialized anew, and
    every random op's sequence restarted, as in a fresh build of the same graph."""

    def __init__(self, built: _TF1Built):
        import tensorflow as tf

        self.built, self.graph, self.handles = built, built.graph, built.handles
        self.variables, self.duplicates = built.variables, built.duplicates
        self.session = tf.compat.v1.Session(graph=built.graph)
        self.session.run(built.init)

    def assign(self, weights: Weights) -> None:
        self.session.run(self.built.assign_op, {self.built.feeds[n]: weights[n] for n in self.variables})

    def read(self) -> Weights:
        return self.session.run(self.variables)

    def close(self) -> None:
        self.session.close()


class TF1GraphSide:
    """A TF1 implementation: `build()` runs inside a fresh `tf.Graph` and returns a `TF1Graph`.

    Variables are named by their graph names without ':0' ('hidden/kernel'), then `name_map`
    (a dict, or a function) when given; they keep the graph's order (creation order). `inspect`
    builds anew each time (whether two builds agree is what it asks); `forward` and `train` build
    once and open a fresh session each time (the same state as a fresh build, without its cost).
    """

    seeding = "tf.compat.v1.set_random_seed in the fresh graph, with keras.utils.set_random_seed, before build()"
    trains_concurrently = True  # each `train` opens its own session on the graph built before (twins in threads)

    def __init__(
        self, build: Callable[[], TF1Graph], *, name: str = "tf1", device: str | None = None, name_map: NameMap = None
    ):
        self.build, self.name, self.device, self.name_map = build, name, device, name_map
        self._built: _TF1Built | None = None
        self._building = threading.Lock()  # twins train in threads: the graph is built once

    @contextlib.contextmanager
    def _run(self, fresh_seed: int | None = None, *, fresh: bool = False) -> Iterator[_TF1Run]:
        """A session on the graph built once (unseeded), or with `fresh`, on a new build under `fresh_seed`."""
        if fresh:
            built = _TF1Built(self.build, self.device, self.name_map, fresh_seed)
            with self._building:  # an unseeded build is the one `forward` and `train` reuse
                self._built = self._built or (built if fresh_seed is None else None)
        else:
            with self._building:
                self._built = self._built or _TF1Built(self.build, self.device, self.name_map)
            built = self._built
        run = _TF1Run(built)
        try:
            yield run
        finally:
            run.close()

    def inspect(self, sample_inputs: np.ndarray, seed: int | None = None) -> Inspection:
        """The variables and their initial values; with `seed`, the graph is built seeded (module docstring)."""
        with self._run(seed, fresh=True) as run:
            specs = [
                VariableSpec(n, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for n, v in run.variables.items()
            ]
            return Inspection(specs, run.read(), duplicates=run.duplicates)

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray:
        with self._run() as run:
            run.assign(weights)
            h = run.handles
            return run.session.run(h.outputs, {h.inputs: inputs, **h.eval_feed})

    def train(
        self, weights: Weights, batches: Sequence[Batch], record_every: int = 1, rounding_seed: int | None = None
    ) -> Trajectory:
        with self._run() as run:
            h = run.handles
            if h.loss is None or h.train_op is None or h.labels is None:
                raise ValueError(f"{self.name}: the TF1Graph needs labels, loss and train_op to train")
            run.assign(weights)

            def step(x: np.ndarray, y: np.ndarray) -> float:
                return run.session.run([h.train_op, h.loss], {h.inputs: x, h.labels: y, **h.train_feed})[1]

            after_step = None
            if rounding_seed is not None:  # a twin: its optimizer read from the graph's training ops
                scale = tf1_update_scale(op.type for op in run.graph.get_operations())
                after_step = rounding_after_each_step(rounding_seed, run.read, run.assign, scale)
            return record_trajectory(step, run.read, batches, record_every, after_step)


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
    by a function such as `lambda name: name.split("/", 1)[1]`. They are listed in creation
    order (`tf.Module` lists them by attribute name), a repeated name getting '#2', '#3'.
    """

    seeding = "keras.utils.set_random_seed before make_model()"

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

    def _fresh(self, sample_inputs: np.ndarray, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        """A new model and its trainable variables by name, in creation order."""
        with recording_creations() as created:
            if seed is not None:
                seed_process(seed)
            model = self.make_model()
            if not list(model.trainable_variables):
                self.forward_fn(model, sample_inputs)  # variables appear on the first call
        ordered = in_creation_order(list(model.trainable_variables), created)
        return model, named_variables(ordered, self.name_map)

    def inspect(self, sample_inputs: np.ndarray, seed: int | None = None) -> Inspection:
        """The variables, their initial values, and any a second call creates again; `seed`: a seeded build."""
        import tensorflow as tf

        with self._device():
            model, variables = self._fresh(sample_inputs, seed)
            self.forward_fn(model, sample_inputs)
            recreated: list[str] = []

            def catch(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
                recreated.append(str(kwargs.get("name") or "?"))
                return next_creator(**kwargs)

            with tf.variable_creator_scope(catch):
                self.forward_fn(model, sample_inputs)
            specs = [VariableSpec(n, tuple(v.shape), _dtype_name(v.dtype)) for n, v in variables.items()]
            duplicates = duplicate_names(list(variables.values()), self.name_map)
            return Inspection(specs, read(variables), recreated, duplicates)

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray:
        with self._device():
            model, variables = self._fresh(inputs)
            assign(variables, weights)
            return np.asarray(self.forward_fn(model, inputs))

    def train(
        self, weights: Weights, batches: Sequence[Batch], record_every: int = 1, rounding_seed: int | None = None
    ) -> Trajectory:
        step_fn = self.train_step or keras_train_step
        with self._device():
            model, variables = self._fresh(batches[0][0])
            assign(variables, weights)
            after_step = None
            if rounding_seed is not None:  # a twin: the `.optimizer` the model keeps (none found: Adam-like)
                scale = keras_update_scale(getattr(model, "optimizer", None))
                after_step = rounding_after_each_step(
                    rounding_seed, lambda: read(variables), lambda w: assign(variables, w), scale
                )
            return record_trajectory(
                lambda x, y: step_fn(model, x, y), lambda: read(variables), batches, record_every, after_step
            )


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", None) or str(dtype)
