"""Numerical parity between a TF1 graph and its TF2 migration, as an API for CI.

This follows TensorFlow's guide "Validating correctness & numerical equivalence"
(tensorflow.org/guide/migrate/validate_correctness) step by step, and goes beyond it:

1. **Variables** (guide steps 1-2): build the TF1 side into a fresh `tf.Graph` and the TF2
   side from a factory, call the TF2 forward pass twice and catch variables created on the
   second call, then compare the trainable variables: count, names (after each side's `name_map`), shapes,
   dtypes. Every mismatch is listed; numerical checks need the variables to match first.
2. **Initial values**: each side's *own* initializers, compared element by element. This only
   means something once randomness is aligned (see "Randomness" below); pass
   `compare_initial_values=False` where it is not.
3. **Forward pass** (guide step 3): both sides set to the same weights (the reference's
   initial values by default, or a constant such as 0.001 everywhere as the guide does),
   outputs on the same inputs compared with the guide's tolerances, rtol 1e-6 and atol 1e-5.
4. **Training trajectory** (beyond the guide): N steps on both sides from the same weights
   with the same batches; per-step loss and weights recorded; the first step that leaves the
   tolerance is reported with the variable and element that differ most.
5. **Growth of a 1-ulp perturbation** (beyond the guide): the reference side runs a second
   time from weights moved by one float32 ulp. How far that twin drifts from the reference,
   step by step, is what rounding alone can do on this problem; it separates a *sensitive
   problem* from a *bug* (the rule is `SENSITIVITY_RULE`, below).

The two sides are objects with four methods (the `Side` protocol). `TF1GraphSide` wraps a
function that builds a TF1 graph and returns a `TF1Graph` of its tensors; `TF2Side` wraps a
function that returns a fresh Keras model or `tf.Module`. Anything else (a `fit`-based loop,
say) can implement `Side` itself. Nothing here knows about tfparity's own styles.

Randomness (what makes random ops agree between a TF1 graph and TF2 on TF 2.21 / Keras 3;
each line is tested in tests/test_parity.py):

- NumPy arrays as initial values on both sides: always agree. `check_parity` copies the
  reference's initial values into the candidate before the forward and trajectory checks, so
  initializer randomness never reaches them.
- Keras 3 initializers with an integer seed (`keras.initializers.GlorotUniform(seed=1)`) draw
  with `tf.random.stateless_*`: the same numbers inside a TF1 graph (as the `initializer=` of
  `tf.compat.v1.get_variable`) and in a Keras layer. So do `tf.random.stateless_*` ops and
  `tf.nn.experimental.stateless_dropout` given the same seed.
- `keras.utils.set_random_seed(s)` with `tf.compat.v1.set_random_seed(s)` does *not* make
  TF1 initializers agree with Keras 3 ones: TF1's are stateful ops, Keras 3's are stateless.
- Stateful ops (`tf.random.uniform`, `tf.compat.v1` initializers) agree when both sides set
  the same global seed (`tf.compat.v1.set_random_seed` in the graph, `tf.random.set_seed`
  eagerly) and every op has its own explicit op seed. Without op seeds, or with one op seed
  used by two ops (a graph repeats the numbers, eager code draws on), they do not.
- `deterministic_op_seeds()` below is the guide's `DeterministicRandomTestTool` (in `tf_keras`,
  absent under Keras 3): it makes stateful `tf.random.*` ops and `tf.compat.v1` initializers
  agree between a graph and eager code, but Keras 3 layers never call it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Mapping, Protocol, Sequence

import numpy as np

from tfparity.compat.batches import BatchPlan, make_batch_plan
from tfparity.compat.finite import FIX as NONFINITE_FIX
from tfparity.compat.finite import NonFinite, first_nonfinite

Weights = dict[str, np.ndarray]
Batch = tuple[np.ndarray, np.ndarray]
NameMap = Mapping[str, str] | Callable[[str], str] | None

PARITY = "parity"
SENSITIVE = "sensitive problem, no bug"
BUG = "bug"
NONFINITE = "non-finite"  # both runs blew up: NaN equals nothing, so nothing was compared
Verdict = Literal["parity", "sensitive problem, no bug", "bug", "non-finite"]

SENSITIVITY_FACTOR = 10.0
SENSITIVITY_RULE = (
    "A divergence is explained by float32 sensitivity when, at every recorded step k where the "
    "candidate is beyond tolerance, its largest difference from the reference D(k) stays within "
    "the envelope E(k) = K * sum_{j<=k} P(j), where P(j) is how far the reference's own 1-ulp "
    "perturbed twin has drifted at step j and K is the sensitivity factor (10 by default). "
    "E(k) is what a 1-ulp rounding difference made at every step grows to on this problem. "
    "Per-step losses follow the same rule with P(j) the twin's loss difference, plus K times the "
    "loss's own rounding, sqrt(batch size) float32 ulps of the loss value (a loss is rounded where "
    "it is computed, whatever the weights). "
    "A difference beyond tolerance and above E(k), or any difference beyond tolerance in the "
    "variables, the initial values or the forward pass, is a bug."
)


# --- tolerances ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """`|candidate - reference| <= atol + rtol * |reference|`, elementwise (numpy.isclose's rule).

    The defaults are the guide's: rtol 1e-6, atol 1e-5.
    """

    rtol: float = 1e-6
    atol: float = 1e-5

    def allowed(self, reference: np.ndarray) -> np.ndarray:
        return self.atol + self.rtol * np.abs(np.asarray(reference, np.float64))

    def __str__(self) -> str:
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


GUIDE_TOLERANCE = Tolerance()


def abs_diff(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """|candidate - reference| in float64; NaN against NaN counts as equal, NaN against a number as inf."""
    r, c = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    with np.errstate(invalid="ignore"):
        d = np.abs(c - r)
    both_nan = np.isnan(r) & np.isnan(c)
    return np.where(both_nan, 0.0, np.where(np.isnan(d), np.inf, d))


@dataclass(frozen=True)
class Difference:
    """One element where two arrays differ: which array, which element, both values."""

    where: str  # a variable name, "loss" or "outputs"
    index: tuple[int, ...]
    reference: float
    candidate: float
    abs_diff: float
    allowed: float
    step: int | None = None

    @property
    def beyond(self) -> bool:
        return self.abs_diff > self.allowed

    def describe(self) -> str:
        at = f"{self.where}[{', '.join(map(str, self.index))}]" if self.index else self.where
        step = f"step {self.step}: " if self.step is not None else ""
        rel = ">" if self.beyond else "<="
        return (f"{step}{at}: reference {self.reference:.9g}, candidate {self.candidate:.9g}, "
                f"|diff| {self.abs_diff:.3g} {rel} allowed {self.allowed:.3g}")


def worst_difference(where: str, reference: np.ndarray, candidate: np.ndarray, tolerance: Tolerance,
                     step: int | None = None) -> Difference:
    """The element with the largest excess over the tolerance (the largest |diff| when none exceeds)."""
    r, c = np.asarray(reference), np.asarray(candidate)
    d = abs_diff(r, c)
    excess = d - tolerance.allowed(r)
    flat = int(np.argmax(excess)) if excess.max(initial=-np.inf) > 0 else int(np.argmax(d)) if d.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, r.shape)) if r.ndim else ()
    if not r.size:
        return Difference(where, (), math.nan, math.nan, 0.0, tolerance.atol, step)
    return Difference(where, index, float(r.reshape(-1)[flat]), float(c.reshape(-1)[flat]), float(d.reshape(-1)[flat]),
                      float(tolerance.allowed(r.reshape(-1)[flat])), step)


def weights_differences(reference: Weights, candidate: Weights, tolerance: Tolerance, step: int | None = None) -> list[Difference]:
    """The worst element of every variable, largest |diff| first."""
    diffs = [worst_difference(name, reference[name], candidate[name], tolerance, step) for name in reference]
    return sorted(diffs, key=lambda d: (not d.beyond, -d.abs_diff))


def max_abs(reference: Weights, candidate: Weights) -> float:
    """The largest |difference| over every element of every variable."""
    return max((float(abs_diff(reference[n], candidate[n]).max(initial=0.0)) for n in reference), default=0.0)


# --- variables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class Inspection:
    """What one fresh build of a side holds: its trainable variables and their initial values.

    `recreated` names variables that a second forward call created again (the guide's step 1:
    a model that makes new variables on every call trains nothing).
    """

    variables: list[VariableSpec]
    initial: Weights
    recreated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VariableMismatch:
    kind: Literal["count", "missing", "unexpected", "shape", "dtype", "duplicate", "recreated"]
    name: str
    reference: str = ""
    candidate: str = ""

    def describe(self) -> str:
        return {
            "count": f"{self.reference} trainable variables in the reference, {self.candidate} in the candidate",
            "missing": f"{self.name}: in the reference, not in the candidate (names after each side's name_map)",
            "unexpected": f"{self.name}: in the candidate ({self.candidate}), not in the reference",
            "shape": f"{self.name}: shape {self.reference} in the reference, {self.candidate} in the candidate",
            "dtype": f"{self.name}: dtype {self.reference} in the reference, {self.candidate} in the candidate",
            "duplicate": f"{self.name}: the candidate has several variables of this name",
            "recreated": f"{self.name}: the candidate creates this variable again on every forward call",
        }[self.kind]


def clean_name(name: str) -> str:
    """'dense/kernel:0' -> 'dense/kernel' (TF1 graph and tf.Variable names end in ':0')."""
    return re.sub(r":\d+$", "", name)


def apply_name_map(name: str, name_map: NameMap) -> str:
    if name_map is None:
        return name
    if callable(name_map):
        return name_map(name)
    return name_map.get(name, name)


def compare_variables(reference: Inspection, candidate: Inspection) -> list[VariableMismatch]:
    """Every mismatch between the two sides' trainable variables (names already mapped by each side)."""
    problems: list[VariableMismatch] = []
    if len(reference.variables) != len(candidate.variables):
        problems.append(VariableMismatch("count", "", str(len(reference.variables)), str(len(candidate.variables))))
    problems.extend(VariableMismatch("duplicate", name) for name in candidate.duplicates)
    ref = {v.name: v for v in reference.variables}
    mapped = {v.name: v for v in candidate.variables}
    for name, r in ref.items():
        c = mapped.get(name)
        if c is None:
            problems.append(VariableMismatch("missing", name, str(r.shape)))
            continue
        if tuple(r.shape) != tuple(c.shape):
            problems.append(VariableMismatch("shape", name, str(tuple(r.shape)), str(tuple(c.shape))))
        if r.dtype != c.dtype:
            problems.append(VariableMismatch("dtype", name, r.dtype, c.dtype))
    for name, c in mapped.items():
        if name not in ref:
            problems.append(VariableMismatch("unexpected", name, "", str(c.shape)))
    problems.extend(VariableMismatch("recreated", name) for name in candidate.recreated)
    return problems


# --- batches -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedBatches(Sequence):
    """A batch plan over two arrays, gathered lazily: `batches[step] == (images[idx], labels[idx])`.

    Both sides of a parity check see the same examples in the same order; sides that feed a
    `tf.data` pipeline can use `plan.indices` directly.
    """

    plan: BatchPlan
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return self.plan.steps

    def __getitem__(self, step):  # type: ignore[override]
        if isinstance(step, slice):
            return [self[i] for i in range(*step.indices(len(self)))]
        idx = self.plan.indices[step]
        return self.images[idx], self.labels[idx]

    def __iter__(self) -> Iterator[Batch]:
        for idx in self.plan.indices:
            yield self.images[idx], self.labels[idx]


def planned_batches(images: np.ndarray, labels: np.ndarray, *, batch_size: int, steps: int, seed: int = 0) -> PlannedBatches:
    """`steps` batches of `batch_size` drawn by `compat.make_batch_plan` (a fresh permutation each epoch)."""
    return PlannedBatches(make_batch_plan(len(images), batch_size, steps, seed), images, labels)


# --- trajectories and sides ----------------------------------------------------------------


@dataclass
class Trajectory:
    """`losses[k]`: the loss of batch k at the weights before update k+1.
    `weights[k]`: the weights after k updates (`weights[0]` is the start), at the recorded steps."""

    losses: np.ndarray
    weights: dict[int, Weights]

    @property
    def steps(self) -> int:
        return int(len(self.losses))

    @property
    def final(self) -> Weights:
        return self.weights[max(self.weights)]


def recorded_steps(steps: int, record_every: int) -> set[int]:
    """0, every `record_every`-th step, and the last one."""
    return set(range(0, steps + 1, max(1, record_every))) | {steps}


class Side(Protocol):
    """One implementation under comparison. Each method starts from a fresh build (new graph,
    new model, new optimizer), so calls never share state."""

    name: str

    def inspect(self, sample_inputs: np.ndarray) -> Inspection: ...

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray: ...

    def train(self, weights: Weights, batches: Sequence[Batch], record_every: int = 1) -> Trajectory: ...


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
        with self.graph.as_default(), (tf.device(device) if device else contextlib.nullcontext()):
            self.handles = build()
            if not isinstance(self.handles, TF1Graph):
                raise TypeError(f"a TF1 graph builder must return compat.parity.TF1Graph, got {type(self.handles).__name__}")
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

    def __init__(self, build: Callable[[], TF1Graph], *, name: str = "tf1", device: str | None = None, name_map: NameMap = None):
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
            specs = [VariableSpec(n, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for n, v in run.variables.items()]
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
            record = recorded_steps(len(batches), record_every)
            losses = np.empty(len(batches), np.float64)
            trail = {0: run.read()}
            for step, (x, y) in enumerate(batches):
                _, losses[step] = run.session.run([h.train_op, h.loss], {h.inputs: x, h.labels: y, **h.train_feed})
                if step + 1 in record:
                    trail[step + 1] = run.read()
            return Trajectory(losses, trail)


def variable_name(variable: Any) -> str:
    """A Keras 3 variable's path ('sequential/dense/kernel'), else a tf.Variable's name without ':0'."""
    return clean_name(getattr(variable, "path", None) or variable.name)


def default_forward(model: Any, inputs: Any) -> Any:
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

    def __init__(self, make_model: Callable[[], Any], *, train_step: Callable[[Any, Any, Any], Any] | None = None,
                 forward: Callable[[Any, Any], Any] | None = None, name: str = "tf2", device: str | None = None,
                 name_map: NameMap = None):
        self.make_model, self.name, self.device, self.name_map = make_model, name, device, name_map
        self.forward_fn = forward or default_forward
        self.train_step = train_step

    def _device(self):
        import tensorflow as tf

        return tf.device(self.device) if self.device else contextlib.nullcontext()

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

            def catch(next_creator, **kwargs):
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
            record = recorded_steps(len(batches), record_every)
            losses = []
            trail = {0: read(variables)}
            for step, (x, y) in enumerate(batches):
                losses.append(step_fn(model, x, y))
                if step + 1 in record:
                    trail[step + 1] = read(variables)
            return Trajectory(np.array([float(v) for v in losses], np.float64), trail)


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def named_variables(variables: Sequence[Any], name_map: NameMap = None) -> dict[str, Any]:
    """Variables by `name_map(variable_name(v))`; a repeated name gets '#2', '#3' (a 'duplicate' mismatch)."""
    out: dict[str, Any] = {}
    for v in variables:
        base = apply_name_map(variable_name(v), name_map)
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}#{n}"
        out[name] = v
    return out


def assign(variables: Mapping[str, Any], weights: Weights) -> None:
    for name, v in variables.items():
        v.assign(weights[name])


def read(variables: Mapping[str, Any]) -> Weights:
    return {name: np.array(v.numpy()) for name, v in variables.items()}


# --- the 1-ulp perturbation ----------------------------------------------------------------


def weight_scales(trajectory: Trajectory) -> dict[str, float]:
    """Each tensor's largest magnitude at the first recorded step where it is not all zero.

    A zero-initialized tensor takes its scale from the first update; one that stays zero gets 1.0.
    """
    scales: dict[str, float] = {}
    for k in sorted(trajectory.weights):
        for name, w in trajectory.weights[k].items():
            top = float(np.max(np.abs(w), initial=0.0)) if np.isfinite(w).all() else 0.0
            if name not in scales and top > 0:
                scales[name] = top
    return {name: scales.get(name, 1.0) for name in trajectory.weights[min(trajectory.weights)]}


def perturb_one_ulp(weights: Weights, scales: Mapping[str, float] | None = None, seed: int = 0) -> Weights:
    """Every element moved by one ulp at its tensor's scale, with a random sign.

    The step is `np.spacing(scale)` in the tensor's own dtype, with `scale` the tensor's
    largest magnitude (`weight_scales`: at step 0, or after the first update for a tensor that
    starts at zero), so its largest element moves to its float neighbour and the others by the
    same absolute amount: the size of a rounding difference in the weights.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(weights):
        w = np.asarray(weights[name])
        scale = (scales or {}).get(name) or float(np.max(np.abs(w), initial=0.0)) or 1.0
        step = np.spacing(w.dtype.type(scale))
        out[name] = (w + rng.choice(np.array([-1, 1], w.dtype), size=w.shape) * step).astype(w.dtype)
    return out


# --- results -------------------------------------------------------------------------------


@dataclass
class ForwardResult:
    weights: str  # where the shared weights came from
    inputs: int  # rows compared
    worst: Difference
    shape_mismatch: str = ""  # set when the two sides' outputs differ in shape

    @property
    def ok(self) -> bool:
        return not self.shape_mismatch and not self.worst.beyond


@dataclass
class TrajectoryResult:
    """Reference vs candidate over the run; per recorded step, D(k) = largest weight |diff|."""

    steps: int
    record_every: int
    weight_steps: list[int]
    weight_divergence: list[float]  # D(k) at weight_steps
    loss_divergence: list[float]  # |loss diff| at every step
    reference_losses: list[float]
    candidate_losses: list[float]
    first_divergence: Difference | None
    final: list[Difference]  # worst element per variable after the last step
    bit_identical: bool

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    @property
    def max_weight_divergence(self) -> float:
        return max(self.weight_divergence, default=0.0)

    @property
    def final_weight_divergence(self) -> float:
        return self.weight_divergence[-1] if self.weight_divergence else 0.0

    @property
    def max_loss_divergence(self) -> float:
        return max(self.loss_divergence, default=0.0)


@dataclass
class GrowthEstimate:
    """How far the reference's 1-ulp perturbed twin drifts from the reference: P(k)."""

    perturbation: float  # largest element move at step 0
    weight_steps: list[int]
    weight_divergence: list[float]  # P(k) at weight_steps
    loss_divergence: list[float]  # |loss diff| at every step
    growth_per_step: float  # exp(slope) of a least-squares line through log P(k), k <= fitted_until (NaN: < 3 points)
    fitted_until: int  # the first step where P reaches half its maximum
    amplification: float  # max_k P(k) / P(0)
    beyond_tolerance_at: int | None  # first step where the twin itself leaves the tolerance

    @property
    def sensitive(self) -> bool:
        """True when 1 ulp alone grows beyond the tolerance within the run."""
        return self.beyond_tolerance_at is not None

    def describe(self) -> str:
        steps = self.weight_steps[-1] if self.weight_steps else 0
        rate = (f"x{self.growth_per_step:.4g} per step up to step {self.fitted_until}" if math.isfinite(self.growth_per_step)
                else f"no growth phase to fit: half its maximum by step {self.fitted_until}")
        head = f"a 1-ulp perturbation ({self.perturbation:.2g}) grows x{self.amplification:.3g} over {steps} steps ({rate})"
        if self.beyond_tolerance_at == 0:
            return f"{head}; the tolerance is finer than one ulp of the weights, so any rounding leaves it"
        if self.sensitive:
            return f"{head}; it leaves the tolerance at step {self.beyond_tolerance_at}: a sensitive problem"
        return f"{head}; it stays within the tolerance: a stable problem"


@dataclass
class Envelope:
    """The sensitivity rule applied: E(k) per recorded step and where D(k) exceeded it."""

    factor: float
    weight_envelope: list[float]
    loss_envelope: list[float]
    weight_violation: Difference | None  # first step beyond tolerance and above E(k)
    loss_violation: Difference | None

    @property
    def explains(self) -> bool:
        return self.weight_violation is None and self.loss_violation is None


@dataclass
class MetricResult:
    """A metric of each side's outputs at its own final weights (and of the 1-ulp twin's, when run)."""

    reference: float
    candidate: float
    atol: float
    twin: float | None = None

    @property
    def diff(self) -> float:
        return abs(self.candidate - self.reference)

    @property
    def ok(self) -> bool:
        return self.diff <= self.atol


@dataclass
class ParityReport:
    """Everything `check_parity` found, with the verdict and the reasons for it.

    `verdict` is "parity" (everything within tolerance), "sensitive problem, no bug" (the
    trajectory left the tolerance, but no further than float32 rounding grows to on this
    problem: `SENSITIVITY_RULE`), "bug", or "non-finite" (both runs went to NaN or inf, so
    there is nothing to compare; never a pass). `nonfinite` says where each such run blew up.
    `str(report)` is a readable report; `to_dict()` is JSON-ready.
    """

    reference: str
    candidate: str
    tolerance: Tolerance
    loss_tolerance: Tolerance
    variables: list[VariableSpec]
    variable_mismatches: list[VariableMismatch]
    initial_values: list[Difference] | None  # worst element per variable; None when not compared
    forward: ForwardResult | None
    trajectory: TrajectoryResult | None
    growth: GrowthEstimate | None
    envelope: Envelope | None
    metrics: dict[str, MetricResult]
    nonfinite: list[NonFinite]
    verdict: Verdict
    reasons: list[str]

    def __repr__(self) -> str:
        return f"<ParityReport {self.candidate} against {self.reference}: {self.verdict}>"

    @property
    def ok(self) -> bool:
        """True for "parity" only; see `passes()` to accept a sensitive problem too."""
        return self.verdict == PARITY

    def passes(self, allow_sensitive: bool = False) -> bool:
        return self.verdict == PARITY or (allow_sensitive and self.verdict == SENSITIVE)

    def named(self) -> set[str]:
        """Every variable name or 'loss'/'outputs' that a finding points at (for tests and tools)."""
        out = {m.name for m in self.variable_mismatches}
        out |= {d.where for d in (self.initial_values or []) if d.beyond}
        if self.forward and not self.forward.ok:
            out.add("outputs")
        if self.trajectory and self.trajectory.first_divergence:
            out.add(self.trajectory.first_divergence.where)
        for n in self.nonfinite:
            out |= set(n.variables) | ({"loss"} if n.loss_step is not None else set())
        return out

    def __str__(self) -> str:
        return render_report(self)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self) | {"ok": self.ok, "named": sorted(self.named())})


def _jsonable(value: Any) -> Any:
    """Plain JSON: tuples to lists, numpy scalars to Python, NaN and inf to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


# --- comparing -----------------------------------------------------------------------------


def compare_trajectories(reference: Trajectory, candidate: Trajectory, tolerance: Tolerance,
                         loss_tolerance: Tolerance, record_every: int) -> TrajectoryResult:
    steps = sorted(set(reference.weights) & set(candidate.weights))
    weight_div = [max_abs(reference.weights[k], candidate.weights[k]) for k in steps]
    loss_div = abs_diff(reference.losses, candidate.losses)
    first: Difference | None = None
    for k in steps:
        worst = weights_differences(reference.weights[k], candidate.weights[k], tolerance, step=k)
        if worst and worst[0].beyond:
            first = worst[0]
            break
    loss_beyond = np.nonzero(loss_div > loss_tolerance.allowed(reference.losses))[0]
    if loss_beyond.size and (first is None or int(loss_beyond[0]) < first.step):
        k = int(loss_beyond[0])
        first = Difference("loss", (), float(reference.losses[k]), float(candidate.losses[k]), float(loss_div[k]),
                           float(loss_tolerance.allowed(reference.losses[k])), k)
    last = steps[-1] if steps else 0
    final = weights_differences(reference.weights[last], candidate.weights[last], tolerance, step=last) if steps else []
    identical = bool(np.array_equal(reference.losses, candidate.losses)) and all(
        all(np.array_equal(reference.weights[k][n], candidate.weights[k][n]) for n in reference.weights[k])
        for k in steps)
    return TrajectoryResult(
        steps=reference.steps, record_every=record_every, weight_steps=steps, weight_divergence=weight_div,
        loss_divergence=loss_div.tolist(), reference_losses=reference.losses.tolist(),
        candidate_losses=candidate.losses.tolist(), first_divergence=first, final=final, bit_identical=identical,
    )


def estimate_growth(reference: Trajectory, perturbed: Trajectory, tolerance: Tolerance) -> GrowthEstimate:
    steps = sorted(set(reference.weights) & set(perturbed.weights))
    div = [max_abs(reference.weights[k], perturbed.weights[k]) for k in steps]
    beyond = next((k for k in steps if weights_differences(reference.weights[k], perturbed.weights[k], tolerance)[0].beyond), None)
    # Fit the growth phase only: up to the first step where P reaches half its maximum (a
    # chaotic problem saturates there, and a line through the plateau would hide the rate).
    top = max(div, default=0.0)
    fit_until = next((k for k, p in zip(steps, div) if p >= top / 2), 0)
    points = [(k, p) for k, p in zip(steps, div) if 0 < p and k <= fit_until]
    slope = float(np.polyfit([k for k, _ in points], np.log([p for _, p in points]), 1)[0]) if len(points) >= 3 else math.nan
    p0 = div[0] if div and div[0] > 0 else math.nan
    return GrowthEstimate(
        perturbation=div[0] if div else 0.0, weight_steps=steps, weight_divergence=div,
        loss_divergence=abs_diff(reference.losses, perturbed.losses).tolist(),
        growth_per_step=math.exp(slope), fitted_until=fit_until, amplification=top / p0 if div else math.nan,
        beyond_tolerance_at=beyond,
    )


def cumulative_envelope(steps: Sequence[int], growth: Sequence[float], factor: float) -> list[float]:
    """E(k) = factor * sum over recorded j <= k of P(j) * (steps since the previous record).

    With weights recorded every step this is `factor * cumsum(P)`: the divergence that a
    1-ulp difference made at every step, each growing as the measured twin did, adds up to.
    """
    gaps = np.diff(np.asarray([steps[0] - 1, *steps], np.float64)) if len(steps) else np.array([])
    return (factor * np.cumsum(np.asarray(growth, np.float64) * gaps)).tolist()


def apply_sensitivity_rule(trajectory: TrajectoryResult, growth: GrowthEstimate, reference: Trajectory,
                           candidate: Trajectory, tolerance: Tolerance, loss_tolerance: Tolerance,
                           factor: float, batch_size: int = 1) -> Envelope:
    """`SENSITIVITY_RULE`: the first step beyond tolerance whose divergence exceeds the envelope."""
    p_by_step = dict(zip(growth.weight_steps, growth.weight_divergence))
    steps = [k for k in trajectory.weight_steps if k in p_by_step]
    env = cumulative_envelope(steps, [p_by_step[k] for k in steps], factor)
    weight_violation = None
    for k, e in zip(steps, env):
        worst = weights_differences(reference.weights[k], candidate.weights[k], tolerance, step=k)[0]
        if worst.beyond and trajectory.weight_divergence[trajectory.weight_steps.index(k)] > e:
            weight_violation = worst
            break
    # A loss is also rounded where it is computed, whatever the weights: two implementations
    # reduce a batch of per-example terms in different orders and formulas. The loss envelope
    # holds K times that rounding, taken as sqrt(batch size) float32 ulps of the loss value
    # (the typical rounding error of a float32 sum of that many terms).
    own_rounding = math.sqrt(batch_size) * np.spacing(np.abs(reference.losses).astype(np.float32)).astype(np.float64)
    loss_env = (factor * (np.cumsum(growth.loss_divergence) + own_rounding)).tolist()
    loss_violation = None
    d = np.asarray(trajectory.loss_divergence)
    over = np.nonzero((d > loss_tolerance.allowed(reference.losses)) & (d > np.asarray(loss_env)))[0]
    if over.size:
        k = int(over[0])
        loss_violation = Difference("loss", (), float(reference.losses[k]), float(candidate.losses[k]), float(d[k]),
                                    float(loss_tolerance.allowed(reference.losses[k])), k)
    return Envelope(factor, env, loss_env, weight_violation, loss_violation)


# --- the checks ----------------------------------------------------------------------------


@dataclass
class _Reference:
    """The reference side's runs, made once and shared by every candidate."""

    side: Side
    inspection: Inspection
    initial: Weights
    forward_weights: Weights
    forward_label: str
    forward_inputs: np.ndarray
    forward_outputs: np.ndarray
    batches: Sequence[Batch]
    record_every: int
    perturbation_seed: int
    _trajectory: Trajectory | None = None
    _perturbed: Trajectory | None = None
    _eval_outputs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def trajectory(self) -> Trajectory:
        """The reference's training run, made on first use (never, when every candidate stops earlier)."""
        if self._trajectory is None:
            self._trajectory = self.side.train(self.initial, self.batches, self.record_every)
        return self._trajectory

    def eval_outputs(self, which: Literal["reference", "twin"], inputs: np.ndarray) -> np.ndarray:
        """The reference's (or its twin's) outputs on `inputs` at its final weights, computed once."""
        if which not in self._eval_outputs:
            trajectory = self.trajectory if which == "reference" else self.perturbed()
            self._eval_outputs[which] = self.side.forward(trajectory.final, inputs)
        return self._eval_outputs[which]

    def perturbed(self) -> Trajectory:
        if self._perturbed is None:
            start = perturb_one_ulp(self.initial, weight_scales(self.trajectory), self.perturbation_seed)
            self._perturbed = self.side.train(start, self.batches, self.record_every)
        return self._perturbed


def _prepare_reference(reference: Side, batches: Sequence[Batch], initial_weights: Weights | None,
                       forward_weights: Weights | float | str, forward_inputs: np.ndarray | None,
                       record_every: int, perturbation_seed: int) -> _Reference:
    if len(batches) < 1:
        raise ValueError("parity needs at least one batch")
    inputs = batches[0][0] if forward_inputs is None else forward_inputs
    inspection = reference.inspect(inputs)
    names = [v.name for v in inspection.variables]
    if initial_weights is None:
        initial, initial_label = inspection.initial, f"the {reference.name} side's initial values"
    else:
        missing = sorted(set(names) - set(initial_weights))
        if missing:
            raise ValueError(f"initial_weights has no value for {missing}; give one per reference variable {names}")
        initial, initial_label = {n: np.asarray(initial_weights[n]) for n in names}, "the given initial weights"
    if isinstance(forward_weights, str):
        if forward_weights != "initial":
            raise ValueError(f"forward_weights must be 'initial', a number, or a dict of arrays; got {forward_weights!r}")
        fw, fw_label = initial, initial_label
    elif isinstance(forward_weights, (int, float)):
        fw = {n: np.full_like(w, forward_weights) for n, w in initial.items()}
        fw_label = f"the constant {forward_weights:g} everywhere"
    else:
        fw, fw_label = {n: np.asarray(forward_weights[n]) for n in names}, "the given forward weights"
    outputs = reference.forward(fw, inputs)
    return _Reference(reference, inspection, initial, fw, fw_label, inputs, outputs, batches,
                      record_every, perturbation_seed)


def _check_candidate(ref: _Reference, candidate: Side, *, train: bool, tolerance: Tolerance,
                     loss_tolerance: Tolerance, compare_initial_values: bool, growth: bool | str,
                     sensitivity_factor: float, eval_data: tuple[np.ndarray, np.ndarray] | None,
                     metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None, metric_atol: float) -> ParityReport:
    reasons: list[str] = []
    bug = False
    inspection = candidate.inspect(ref.forward_inputs)
    mismatches = compare_variables(ref.inspection, inspection)
    report = ParityReport(
        reference=ref.side.name, candidate=candidate.name, tolerance=tolerance, loss_tolerance=loss_tolerance,
        variables=ref.inspection.variables, variable_mismatches=mismatches, initial_values=None, forward=None,
        trajectory=None, growth=None, envelope=None, metrics={}, nonfinite=[], verdict=PARITY, reasons=reasons,
    )
    if mismatches:
        reasons.append(f"{len(mismatches)} variable mismatch(es): " + "; ".join(m.describe() for m in mismatches))
        reasons.append("numerical checks skipped: the variables must match first (the guide's steps 1-2)")
        report.verdict = BUG
        return report

    if compare_initial_values:
        report.initial_values = weights_differences(ref.inspection.initial, inspection.initial, tolerance)
        differing = [d for d in report.initial_values if d.beyond]
        if differing:
            bug = True
            reasons.append("initial values differ (the initializers do not agree): " + "; ".join(d.describe() for d in differing))

    outputs = candidate.forward(ref.forward_weights, ref.forward_inputs)
    if np.shape(outputs) != np.shape(ref.forward_outputs):
        shapes = f"outputs have shape {np.shape(ref.forward_outputs)} on {ref.side.name}, {np.shape(outputs)} on {candidate.name}"
        report.forward = ForwardResult(ref.forward_label, len(ref.forward_inputs),
                                       Difference("outputs", (), math.nan, math.nan, math.inf, 0.0), shapes)
        bug = True
        reasons.append(f"forward pass: {shapes}")
    else:
        report.forward = ForwardResult(ref.forward_label, len(ref.forward_inputs),
                                       worst_difference("outputs", ref.forward_outputs, outputs, tolerance))
        if not report.forward.ok:
            bug = True
            reasons.append(f"forward pass differs with the same weights ({ref.forward_label}): {report.forward.worst.describe()}")

    if not train:
        report.verdict = BUG if bug else PARITY
        if not bug:
            reasons.append("variables and forward pass agree (training not checked: train=False)")
        return report
    cand_traj = candidate.train(ref.initial, ref.batches, ref.record_every)
    if cand_traj.steps != ref.trajectory.steps:
        raise ValueError(f"{candidate.name} recorded {cand_traj.steps} losses for {ref.trajectory.steps} batches")
    traj = compare_trajectories(ref.trajectory, cand_traj, tolerance, loss_tolerance, ref.record_every)
    report.trajectory = traj
    runs = ((ref.side.name, ref.trajectory), (candidate.name, cand_traj))
    report.nonfinite = [n for n in (first_nonfinite(name, t.losses, t.weights) for name, t in runs) if n]
    if len(report.nonfinite) == 2:
        return _both_nonfinite(report, bug)
    if report.nonfinite:
        bug = True
        reasons.append(f"only one side went non-finite: {report.nonfinite[0].describe()} "
                       f"({NONFINITE_FIX})")

    if growth is True or (growth == "auto" and not traj.ok):
        report.growth = estimate_growth(ref.trajectory, ref.perturbed(), tolerance)
    if not traj.ok:
        where = traj.first_divergence.describe()
        if report.growth is None:
            bug = True
            reasons.append(f"training diverges beyond tolerance from {where} (growth estimate off: cannot tell sensitivity from a bug)")
        else:
            report.envelope = apply_sensitivity_rule(traj, report.growth, ref.trajectory, cand_traj, tolerance,
                                                     loss_tolerance, sensitivity_factor, len(ref.batches[0][0]))
            if report.envelope.explains:
                why = ("float32 sensitivity" if report.growth.sensitive else
                       "rounding differences adding up (the tolerance is tighter than float32 allows over this run)")
                reasons.append(f"training leaves the tolerance from {where}, but stays within {sensitivity_factor:g}x "
                               f"the cumulative 1-ulp growth at every step: {why} ({report.growth.describe()})")
            else:
                bug = True
                violation = report.envelope.weight_violation or report.envelope.loss_violation
                above = "" if violation == traj.first_divergence else f"; above the envelope at {violation.describe()}"
                reasons.append(f"training diverges from {where}{above}: more than {sensitivity_factor:g}x what 1 ulp "
                               f"grows to on this problem ({report.growth.describe()})")

    if metrics:
        if eval_data is None:
            raise ValueError("metrics need eval_data=(inputs, labels)")
        x, y = eval_data
        ref_out = ref.eval_outputs("reference", x)
        cand_out = candidate.forward(cand_traj.final, x)
        twin_out = ref.eval_outputs("twin", x) if report.growth else None
        sensitive = report.envelope is not None and report.envelope.explains
        for name, fn in metrics.items():
            m = MetricResult(float(fn(ref_out, y)), float(fn(cand_out, y)), metric_atol,
                             None if twin_out is None else float(fn(twin_out, y)))
            report.metrics[name] = m
            if m.ok:
                continue
            line = f"{name} after training: {m.reference:.6g} vs {m.candidate:.6g}, |diff| {m.diff:.3g} > {metric_atol:g}"
            if sensitive:  # the weights ended elsewhere for float32 reasons: so did the metric
                reasons.append(f"{line}, expected on a sensitive problem (the 1-ulp twin gets {m.twin:.6g})")
            else:
                bug = True
                reasons.append(line)

    if bug:
        report.verdict = BUG
    elif not traj.ok:
        report.verdict = SENSITIVE
    else:
        how = "bit-identical" if traj.bit_identical else f"within {tolerance} (losses {loss_tolerance})"
        reasons.append(f"variables, forward pass and {traj.steps} training steps agree: {how}")
    return report


def _both_nonfinite(report: ParityReport, bug: bool) -> ParityReport:
    """Both runs blew up: after that NaN equals nothing, so the run proves neither parity nor a bug."""
    where = "; ".join(n.describe() for n in report.nonfinite)
    report.reasons.append(f"both runs went non-finite ({where}), so training was not compared: "
                          f"{NONFINITE_FIX}, then check again")
    first = report.trajectory.first_divergence
    if first is not None and first.step is not None and first.step < min(n.step for n in report.nonfinite):
        report.reasons.append(f"the runs already differed beyond tolerance before that, at {first.describe()}")
    report.verdict = BUG if bug else NONFINITE
    return report


def check_many(reference: Side, candidates: Sequence[Side] | Mapping[str, Side], batches: Sequence[Batch], *,
               tolerance: Tolerance | Mapping[str, Tolerance] = GUIDE_TOLERANCE,
               loss_tolerance: Tolerance | Mapping[str, Tolerance] | None = None, initial_weights: Weights | None = None, forward_weights: Weights | float | str = "initial",
               forward_inputs: np.ndarray | None = None, compare_initial_values: bool = True, train: bool = True,
               record_every: int = 1,
               growth: bool | Literal["auto"] = "auto", sensitivity_factor: float = SENSITIVITY_FACTOR,
               eval_data: tuple[np.ndarray, np.ndarray] | None = None,
               metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None, metric_atol: float = 1e-3,
               perturbation_seed: int = 0, progress: Callable[[str], None] | None = None) -> dict[str, ParityReport]:
    """`check_parity` for several candidates against one reference, run once; reports by candidate name.

    `tolerance` and `loss_tolerance` may be dicts by candidate name. `progress`, when given, is
    called with the name of each side before it runs.
    """
    items = list(candidates.items()) if isinstance(candidates, Mapping) else [(c.name, c) for c in candidates]
    if progress:
        progress(reference.name)
    ref = _prepare_reference(reference, batches, initial_weights, forward_weights, forward_inputs, record_every, perturbation_seed)
    reports = {}
    for name, candidate in items:
        if progress:
            progress(name)
        tol, loss_tol = (_for_candidate(option, name, label) for option, label in
                         ((tolerance, "tolerance"), (loss_tolerance, "loss_tolerance")))
        reports[name] = _check_candidate(
            ref, candidate, train=train, tolerance=tol, loss_tolerance=loss_tol or tol,
            compare_initial_values=compare_initial_values, growth=growth, sensitivity_factor=sensitivity_factor,
            eval_data=eval_data, metrics=metrics, metric_atol=metric_atol,
        )
    return reports


def _for_candidate(option: Any, name: str, label: str) -> Any:
    """A per-candidate option: the value itself, or its entry in a dict by candidate name."""
    if not isinstance(option, Mapping):
        return option
    if name not in option:
        raise ValueError(f"{label} is a dict by candidate name but has no entry for {name!r} (it has {sorted(option)})")
    return option[name]


def check_parity(reference: Side, candidate: Side, batches: Sequence[Batch], **options: Any) -> ParityReport:
    """Compare `candidate` (the TF2 migration) with `reference` (the TF1 code) on `batches`.

    Options (all keyword):
      tolerance: `Tolerance` for initial values, forward outputs and weights (guide: rtol 1e-6, atol 1e-5).
      loss_tolerance: `Tolerance` for per-step losses (default: `tolerance`).
      initial_weights: start both sides here (by reference name); default: the reference's own initial values.
      forward_weights: "initial", a constant (the guide's 0.001), or a dict of arrays.
      forward_inputs: rows for the forward check; default: the first batch's inputs.
      compare_initial_values: compare each side's own initializers (needs aligned randomness).
      train: False stops after the forward pass (the guide's steps 1-3; no loss or train_op needed).
      record_every: record weights every this many steps (losses are recorded at every step).
      growth: run the 1-ulp perturbed reference always (True), never (False), or only to
        classify a divergence ("auto").
      sensitivity_factor: K in `SENSITIVITY_RULE`.
      eval_data, metrics, metric_atol: metrics of each side's outputs at its own final weights,
        e.g. `metrics={"accuracy": parity.accuracy}`, compared to `metric_atol`.
      perturbation_seed: the signs of the 1-ulp perturbation.
    """
    return next(iter(check_many(reference, [candidate], batches, **options).values()))


def assert_parity(reference: Side, candidate: Side, batches: Sequence[Batch], *, allow_sensitive: bool = False,
                  **options: Any) -> ParityReport:
    """`check_parity`, raising AssertionError with the whole report unless the verdict passes.

    With `allow_sensitive`, "sensitive problem, no bug" passes as well as "parity".
    """
    report = check_parity(reference, candidate, batches, **options)
    if not report.passes(allow_sensitive):
        raise AssertionError(f"\n{report}")
    return report


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax matches the label (integer labels or one-hot rows)."""
    labels = np.asarray(labels)
    truth = labels.argmax(axis=1) if labels.ndim == 2 else labels
    return float(np.mean(np.argmax(outputs, axis=1) == truth))


# --- randomness ----------------------------------------------------------------------------


class DeterministicOpSeeds:
    """Op seeds that depend only on how many random ops were made, not on the graph (see
    `deterministic_op_seeds`). `operation_seed` is the next op seed, and may be set."""

    def __init__(self, seed: int, mode: Literal["constant", "num_random_ops"]):
        if mode not in ("constant", "num_random_ops"):
            raise ValueError(f"mode must be 'constant' or 'num_random_ops', got {mode!r}")
        self.seed, self.mode, self.operation_seed = seed, mode, 0
        self._used: set[int] = set()

    def get_seed(self, _op_seed: Any) -> tuple[int, int]:
        import tensorflow as tf

        op_seed = self.operation_seed
        if self.mode == "constant":
            tf.random.set_seed(op_seed)
        else:
            if op_seed in self._used:
                raise ValueError(f"operation seed {op_seed} was already used: eager and graph draws would no longer agree")
            self._used.add(op_seed)
            self.operation_seed += 1
        return self.seed, op_seed


@contextlib.contextmanager
def deterministic_op_seeds(seed: int = 42, mode: Literal["constant", "num_random_ops"] = "constant") -> Iterator[DeterministicOpSeeds]:
    """The migration guide's `DeterministicRandomTestTool.scope()`, for TF 2.21 without tf_keras.

    Inside, every *stateful* random op (`tf.random.uniform`, `tf.random.normal`,
    `tf.compat.v1` initializers, `tf.nn.dropout`) takes its seeds from this object instead of
    TensorFlow's `get_seed`, so a TF1 graph built in one scope and eager code run in another
    draw the same numbers. "constant": every op gets the same seeds; "num_random_ops": the
    n-th random op gets op seed n (program order must match on both sides).

    Keras 3 layers and initializers draw through `keras.random` (stateless ops and
    `SeedGenerator`s) and are not affected: give them integer seeds instead (module docstring).
    This patches `tensorflow.python.framework.random_seed.get_seed`, a private symbol, as the
    guide's tool did.
    """
    import tensorflow as tf
    from unittest import mock

    tool = DeterministicOpSeeds(seed, mode)
    tf.random.set_seed(seed)
    module = sys.modules[tf.compat.v1.get_seed.__module__]
    with mock.patch.object(module, "get_seed", wraps=tool.get_seed):
        yield tool


# --- the readable report -------------------------------------------------------------------


def sample_steps(steps: Sequence[int], extra: Sequence[int] = (), count: int = 12) -> list[int]:
    """About `count` steps, spaced evenly on a log scale, plus `extra` (the first divergence)."""
    if not steps:
        return []
    last = steps[-1]
    wanted = {0, last, *extra} | {int(round(v)) for v in np.geomspace(1, max(1, last), num=count)}
    have = set(steps)
    return sorted(min(have, key=lambda s: abs(s - w)) for w in wanted)


def render_report(report: ParityReport) -> str:
    from tabulate import tabulate

    lines = [f"parity: {report.candidate} against {report.reference}: {report.verdict.upper()}"]
    lines += [f"  - {r}" for r in report.reasons]
    lines.append("")
    if report.variable_mismatches:
        lines.append("variables (every mismatch):")
        rows = [[m.kind, m.name, m.reference, m.candidate] for m in report.variable_mismatches]
        lines.append(tabulate(rows, headers=["mismatch", "variable", report.reference, report.candidate], disable_numparse=True))
        return "\n".join(lines)
    lines.append(f"variables: {len(report.variables)} on both sides, same names, shapes and dtypes: "
                 + ", ".join(f"{v.name} {v.shape} {v.dtype}" for v in report.variables))
    if report.initial_values is not None:
        beyond = [d for d in report.initial_values if d.beyond]
        worst = max((d.abs_diff for d in report.initial_values), default=0.0)
        lines.append(f"initial values: {len(beyond)} variable(s) differ" if beyond else f"initial values: agree (max |diff| {worst:.3g})")
        lines += [f"  {d.describe()}" for d in beyond]
    if report.forward and report.forward.shape_mismatch:
        lines.append(f"forward pass: DIFFERS, {report.forward.shape_mismatch}")
    elif report.forward:
        f = report.forward
        state = "ok" if f.ok else "DIFFERS"
        lines.append(f"forward pass ({f.inputs} rows, weights: {f.weights}): {state}, max |diff| {f.worst.abs_diff:.3g} "
                     f"(tolerance {report.tolerance})" + ("" if f.ok else f"\n  {f.worst.describe()}"))
    t = report.trajectory
    if t:
        first = t.first_divergence
        head = (f"training: {t.steps} steps, weights recorded every {t.record_every}; "
                + ("bit-identical" if t.bit_identical else f"max |dw| {t.max_weight_divergence:.3g}, max |dloss| {t.max_loss_divergence:.3g}"))
        if report.verdict == NONFINITE:  # NaN equals nothing: no difference, "within tolerance" or not, means anything
            lines.append(f"training: {t.steps} steps, not compared: both runs are non-finite from step "
                         f"{min(n.step for n in report.nonfinite)}")
        else:
            lines.append(head)
            lines.append(f"  first divergence beyond tolerance: {first.describe()}" if first else
                         f"  within tolerance at every step (weights {report.tolerance}; losses {report.loss_tolerance})")
            lines.append("  after the last step: " + "; ".join(f"{d.where} max |diff| {d.abs_diff:.3g} at {list(d.index)}" for d in t.final))
        g, e = report.growth, report.envelope
        if g:
            lines.append(f"1-ulp growth: {g.describe()}")
        p_by = dict(zip(g.weight_steps, g.weight_divergence)) if g else {}
        e_by = dict(zip([k for k in t.weight_steps if k in p_by], e.weight_envelope)) if e else {}
        rows = []
        for k in sample_steps(t.weight_steps, [first.step] if first and first.step is not None else []):
            d = t.weight_divergence[t.weight_steps.index(k)]
            losses = [f"{t.reference_losses[k]:.7g}", f"{t.candidate_losses[k]:.7g}", f"{t.loss_divergence[k]:.3g}"] if k < t.steps else ["", "", ""]
            rows.append([k, *losses, f"{d:.3g}", f"{p_by[k]:.3g}" if k in p_by else "", f"{e_by[k]:.3g}" if k in e_by else ""])
        headers = ["step", f"loss {report.reference}", f"loss {report.candidate}", "|dloss|", "max |dw| D(k)"]
        if g:
            headers += ["1-ulp twin P(k)", "envelope E(k)"]
        else:
            rows = [r[:5] for r in rows]
        lines.append(tabulate(rows, headers=headers, disable_numparse=True))
        lines.append("  (step k: weights after k updates, and the loss of batch k at those weights)")
    for name, m in report.metrics.items():
        twin = f", 1-ulp twin {m.twin:.6g}" if m.twin is not None else ""
        lines.append(f"{name}: {report.reference} {m.reference:.6g}, {report.candidate} {m.candidate:.6g}{twin}, "
                     f"|diff| {m.diff:.3g} " + ("<=" if m.ok else ">") + f" {m.atol:g}")
    lines += [f"non-finite: {n.describe()}" for n in report.nonfinite]
    return "\n".join(lines)
