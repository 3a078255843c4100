"""What rounding alone does on this problem: twin runs perturbed by 1 ulp, and the spread between them.

A correct port differs from the reference by rounding at every step (another summation order,
another fused kernel: TF1's fused `ApplyAdam` against Keras' composite update, say). A twin
reproduces that: the reference (or the candidate) trained again from weights moved by 1 ulp, on
inputs each moved by 1 ulp, and, when the side accepts `rounding_seed` (the built-in sides do),
each update scaled by 1 +/- `UPDATE_SCALE` (under an optimizer with constants of its own, such as
Adam's) and every weight moved by 1 ulp again after it. Moving only the start and the inputs is not enough
where the update itself damps them: Adam's m/sqrt(v) barely moves with its inputs, so a CNN's twins
stayed 100x closer than a correct Keras port (docs/parity.md). Several twins, and the distances
between every two runs of that family, give at each step the spread rounding alone produces;
`envelope.py` judges the candidate against it.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfparity.compat.batches import Batch, BatchPlan, PlannedBatches
from tfparity.compat.metrics import abs_diff, largest_abs_diff
from tfparity.compat.parity.tolerance import Tolerance, weights_differences
from tfparity.compat.parity.trajectories import Trajectory
from tfparity.compat.parity.variables import Weights

DEFAULT_TWINS = 3
# The relative size of the difference between two correct implementations of one optimizer's update.
# TF1's fused Adam computes 1 - beta2 in float32 (0.0009999871), Keras' in float64 then rounds (0.001):
# v differs by 1.3e-5, the update by 6.4e-6 at every step, the same sign throughout (docs/parity.md).
# Plain gradient descent (and momentum) has no such constant: its twins scale nothing.
UPDATE_SCALE = 1e-5
# TF1 training ops (and Keras optimizers) whose updates carry no constant rounded two ways.
PLAIN_TF1_UPDATES = frozenset(
    {"ApplyGradientDescent", "ResourceApplyGradientDescent", "ApplyMomentum", "ResourceApplyMomentum"}
)

# --- the 1-ulp perturbations ---------------------------------------------------------------


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
        out[name] = (w + random_signs(rng, w.shape, w.dtype) * step).astype(w.dtype)
    return out


def random_signs(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """-1 or +1 at random: the draws of `rng.choice(np.array([-1, 1], dtype), size=shape)`, 4x faster
    (choice draws its indices as these integers; tests/test_parity_twins.py holds them equal)."""
    return _random_bits(rng, shape).astype(dtype) * 2 - 1


def _random_bits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """0 or 1 at random: the indices `rng.choice` draws for two options (so the twins stay the runs
    docs/results measured when they still used choice)."""
    return rng.integers(0, 2, size=shape, dtype=np.uint32)


def _nudge(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each nonzero float element moved to a float neighbour, up or down at random (others unchanged)."""
    if not np.issubdtype(x.dtype, np.floating):
        return x  # token ids, integer pixels: nothing to round
    return _moved(x, _random_bits(rng, x.shape))


def _moved(x: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """x + s * spacing(x), s = -1 where `bits` is 0, else +1; zeros (and -0.0) unchanged."""
    moved = bits.astype(x.dtype)
    moved *= 2
    moved -= 1
    moved *= np.spacing(x)
    moved += x
    return np.where(x == 0, x, moved)


class PerturbedBatches(Sequence):
    """`batches` with every input moved by 1 ulp, new signs at every step, fixed by `seed`: rounding at every step."""

    def __init__(self, batches: Sequence[Batch], seed: int):
        self.batches, self.seed = batches, seed

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, step: int) -> Batch:  # type: ignore[override]
        x, y = self.batches[step]
        return _nudge(np.asarray(x), np.random.default_rng([self.seed, step])), y

    def __iter__(self) -> Iterator[Batch]:
        return (self[i] for i in range(len(self)))


def perturb_inputs(batches: Sequence[Batch], seed: int) -> Sequence[Batch]:
    """The twin's batches. A batch plan stays a plan (keras.fit sides feed `plan.indices` to tf.data),
    with each example moved once; any other sequence is perturbed batch by batch, lazily."""
    if isinstance(batches, PlannedBatches):
        return _perturbed_plan(batches, seed)
    return PerturbedBatches(batches, seed)


def _perturbed_plan(batches: PlannedBatches, seed: int) -> PlannedBatches:
    """The examples the plan uses, each moved by 1 ulp as it would be in the whole array (the same
    draws), in a plan over just those: a 200-step plan uses a third of MNIST's 60,000 images."""
    images = np.asarray(batches.images)
    used, positions = np.unique(batches.plan.indices, return_inverse=True)
    if np.issubdtype(images.dtype, np.floating):
        bits = _random_bits(np.random.default_rng(seed), images.shape)[used]
        moved = _moved(images[used], bits)
    else:
        moved = images[used]
    plan = BatchPlan(positions.reshape(batches.plan.indices.shape).astype(np.int64), len(used), batches.plan.seed)
    return PlannedBatches(plan, moved, np.asarray(batches.labels)[used])


def tf1_update_scale(op_types: Iterable[str]) -> float:
    """UPDATE_SCALE when a TF1 graph's ops include a training op other than gradient descent or
    momentum (`ApplyAdam`, `ApplyRMSProp`, ...), else 0: an update the graph writes with
    `assign_sub` is taken for plain gradient descent."""
    trains = {t for t in op_types if t.startswith(("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply"))}
    return UPDATE_SCALE if trains - PLAIN_TF1_UPDATES else 0.0


def keras_update_scale(optimizer: Any) -> float:
    """0 for Keras' `SGD` (with or without momentum), UPDATE_SCALE for any other optimizer or none found."""
    import keras

    return 0.0 if isinstance(optimizer, keras.optimizers.SGD) else UPDATE_SCALE


def rounding_after_each_step(
    seed: int | None,
    read: Callable[[], Weights],
    assign: Callable[[Weights], None],
    update_scale: float = UPDATE_SCALE,
) -> Callable[[int], Weights] | None:
    """For a side's `train(..., rounding_seed=seed)`: a function to call after every update, that
    rounds the update differently, as another implementation of the same optimizer would.

    Each tensor's update is scaled by 1 + s * `update_scale` (s = +1 or -1 per tensor, fixed for the
    run: an optimizer's constants round the same way at every step; `tf1_update_scale` and
    `keras_update_scale` choose it by optimizer), then every nonzero weight is
    moved to a float neighbour (its own ulp, random signs fixed by `seed` and the step). It returns
    the weights it assigned. Call it after the start is assigned: it reads the start when made.
    None when `seed` is None.
    """
    if seed is None:
        return None
    start = read()
    factors = update_factors(seed, start, update_scale)
    previous = {name: np.asarray(w) for name, w in start.items()}

    def after_step(step: int) -> Weights:
        bits = step_bits(seed, step, previous)
        moved = {}
        for name, w in read().items():
            w, before = np.asarray(w), previous[name]
            scaled = (before + (w - before) * factors[name]).astype(w.dtype, copy=False)
            moved[name] = _moved(scaled, bits[name]) if name in bits else scaled
        assign(moved)
        previous.update(moved)
        return moved

    return after_step


def update_factors(seed: int, weights: Weights, update_scale: float) -> dict[str, np.float64]:
    """Each tensor's 1 + s * `update_scale`, s = +1 or -1 drawn under `seed` in name order, once for
    the run. A float64 scalar: the scaled update is computed in float64 and rounded once to the
    weights' dtype (tests/test_parity_twins.py holds the twins to the runs docs/results measured)."""
    names = sorted(weights)
    signs = np.random.default_rng([seed, 1 << 31]).choice([-1.0, 1.0], len(names))
    return {name: np.float64(1 + sign * update_scale) for name, sign in zip(names, signs)}


def step_bits(seed: int, step: int, weights: Weights) -> dict[str, np.ndarray]:
    """The random bits (0: down, 1: up) of the 1-ulp move after `step` of every float tensor of
    `weights` (their shapes are what counts), drawn from one generator under (`seed`, `step`) in name order."""
    rng = np.random.default_rng([seed, step])
    return {
        name: _random_bits(rng, np.shape(w))
        for name, w in sorted(weights.items())
        if np.issubdtype(np.asarray(w).dtype, np.floating)
    }


def rounds_every_step(side: Any) -> bool:
    """Whether `side.train` takes `rounding_seed` (its twins are then moved after every update too);
    a wrapper says so for the side it wraps with a `rounds_every_step` attribute."""
    declared = getattr(side, "rounds_every_step", None)
    if isinstance(declared, bool):
        return declared
    try:
        return "rounding_seed" in inspect.signature(side.train).parameters
    except (TypeError, ValueError):
        return False


def twin_run(side: Any, original: Trajectory, batches: Sequence[Batch], record_every: int, seed: int) -> Trajectory:
    """One twin of `original` (a run of `side`): trained again from its start moved by 1 ulp
    (at each tensor's `weight_scales`), on `batches` moved by 1 ulp, and with `rounding_seed=seed`
    when the side accepts it (`rounds_every_step`)."""
    start = perturb_one_ulp(original.weights[0], weight_scales(original), seed)
    if rounds_every_step(side):
        return side.train(start, perturb_inputs(batches, seed), record_every, rounding_seed=seed)
    return side.train(start, perturb_inputs(batches, seed), record_every)


def trains_concurrently(side: Any) -> bool:
    """Whether several `side.train` calls may run at once, each in its own thread: a side says so
    with a `trains_concurrently` attribute (`TF1GraphSide` does: each call opens its own session on
    a graph built before; a wrapper says so for the side it wraps)."""
    return getattr(side, "trains_concurrently", False) is True


def twin_runs(
    side: Any, original: Trajectory, batches: Sequence[Batch], record_every: int, seeds: Sequence[int]
) -> list[Trajectory]:
    """`twin_run` for each seed, in threads when the side `trains_concurrently`: a twin's host work
    (its rounding, its feeds) overlaps another's training, a third less time on 2 cores. Each twin
    is the run it would be alone (tests/test_parity_twins.py)."""
    if len(seeds) < 2 or not trains_concurrently(side):
        return [twin_run(side, original, batches, record_every, seed) for seed in seeds]
    with concurrent.futures.ThreadPoolExecutor(min(len(seeds), max(2, os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda seed: twin_run(side, original, batches, record_every, seed), seeds))


# --- the spread ----------------------------------------------------------------------------


@dataclass
class GrowthEstimate:
    """The rounding family's spread: at each recorded step, the distances between every two of its runs.

    The family is the reference and its twins, plus the candidate and its twins when those ran.
    `weight_divergence[i]` is S(k), the largest weight distance of any pair at `weight_steps[i]`,
    `weight_low` the smallest; `loss_divergence` the largest per-step loss distance.
    """

    perturbation: float  # the largest distance at step 0 (1 ulp at each tensor's scale)
    weight_steps: list[int]
    weight_divergence: list[float]
    loss_divergence: list[float]
    growth_per_step: float  # exp(slope) of a least-squares line through log S(k), k <= fitted_until (NaN: < 3 points)
    fitted_until: int  # the first step where S reaches half its maximum
    amplification: float  # max_k S(k) / S(0)
    beyond_tolerance_at: int | None  # first step where a reference twin itself leaves the tolerance
    weight_low: list[float] = field(default_factory=list)
    twins: int = 1
    candidate_twins: int = 0

    @property
    def sensitive(self) -> bool:
        """True when 1 ulp alone grows beyond the tolerance within the run."""
        return self.beyond_tolerance_at is not None

    @property
    def pairs(self) -> int:
        n, m = self.twins, self.candidate_twins
        return n * (n + 1) // 2 + m * (m + 1) // 2

    def describe(self) -> str:
        steps = self.weight_steps[-1] if self.weight_steps else 0
        rate = (
            f"x{self.growth_per_step:.4g} per step up to step {self.fitted_until}"
            if math.isfinite(self.growth_per_step)
            else f"no growth phase to fit: half its maximum by step {self.fitted_until}"
        )
        runs = f"{self.twins} twin(s) of the reference" + (
            f" and {self.candidate_twins} of the candidate" if self.candidate_twins else ""
        )
        head = (
            f"1-ulp perturbations ({self.perturbation:.2g}; {runs}, {self.pairs} distances per step) grow "
            f"x{self.amplification:.3g} over {steps} steps ({rate})"
        )
        if self.beyond_tolerance_at == 0:
            return f"{head}; the tolerance is finer than one ulp of the weights, so any rounding leaves it"
        if self.sensitive:
            return f"{head}; they leave the tolerance at step {self.beyond_tolerance_at}: a sensitive problem"
        return f"{head}; they stay within the tolerance: a stable problem"


@dataclass
class FamilyDistances:
    """The distances between every two runs of one family (an original and its twins), per recorded step."""

    steps: list[int]
    weight: dict[int, list[float]]  # step -> the largest weight distance of each pair
    loss: np.ndarray  # per step: the largest loss distance of any pair
    beyond_tolerance_at: int | None  # the first step where a twin leaves the tolerance around the original


def family_distances(
    original: Trajectory, twins: Sequence[Trajectory], tolerance: Tolerance | None = None
) -> FamilyDistances:
    """Every pair of `[original, *twins]`; with `tolerance`, also where a twin first leaves it."""
    runs = [original, *twins]
    pairs = list(itertools.combinations(runs, 2))
    steps = sorted(set(original.weights).intersection(*(t.weights for t in twins)))
    weight = {k: [largest_abs_diff(a.weights[k], b.weights[k]) for a, b in pairs] for k in steps}
    loss = np.max([abs_diff(a.losses, b.losses) for a, b in pairs], axis=0) if pairs else np.zeros(len(original.losses))
    beyond = None
    if tolerance is not None:
        beyond = next(
            (
                k
                for k in steps
                if any(weights_differences(original.weights[k], t.weights[k], tolerance)[0].beyond for t in twins)
            ),
            None,
        )
    return FamilyDistances(steps, weight, loss, beyond)


def estimate_growth(
    reference: Trajectory,
    twins: Trajectory | Sequence[Trajectory],
    tolerance: Tolerance,
    candidate: Trajectory | None = None,
    candidate_twins: Sequence[Trajectory] = (),
    *,
    reference_family: FamilyDistances | None = None,
) -> GrowthEstimate:
    """S(k) over the reference's family (and the candidate's, when its twins are given), and its growth rate.

    `reference_family`, when given, is `family_distances(reference, twins, tolerance)` computed before.
    """
    twins = [twins] if isinstance(twins, Trajectory) else list(twins)
    families = [reference_family or family_distances(reference, twins, tolerance)]
    if candidate is not None and candidate_twins:
        families.append(family_distances(candidate, candidate_twins))
    steps = sorted(set(families[0].steps).intersection(*(f.steps for f in families[1:])))
    distances = [[d for f in families for d in f.weight[k]] for k in steps]
    top = [max(d, default=0.0) for d in distances]
    low = [min(d, default=0.0) for d in distances]
    losses = np.max([f.loss for f in families], axis=0)
    rate, fit_until = _growth_rate(steps, top)
    p0 = top[0] if top and top[0] > 0 else math.nan
    return GrowthEstimate(
        perturbation=top[0] if top else 0.0,
        weight_steps=steps,
        weight_divergence=top,
        loss_divergence=losses.tolist(),
        growth_per_step=rate,
        fitted_until=fit_until,
        amplification=max(top) / p0 if top else math.nan,
        beyond_tolerance_at=families[0].beyond_tolerance_at,
        weight_low=low,
        twins=len(twins),
        candidate_twins=len(candidate_twins) if len(families) > 1 else 0,
    )


def _growth_rate(steps: Sequence[int], spread: Sequence[float]) -> tuple[float, int]:
    """The growth per step of the growth phase only: up to the first step where the spread reaches
    half its maximum (a chaotic problem saturates there, and a line through the plateau would hide the rate)."""
    top = max(spread, default=0.0)
    fit_until = next((k for k, p in zip(steps, spread) if p >= top / 2), 0)
    points = [(k, p) for k, p in zip(steps, spread) if 0 < p and k <= fit_until]
    if len(points) < 3:
        return math.nan, fit_until
    slope = float(np.polyfit([k for k, _ in points], np.log([p for _, p in points]), 1)[0])
    return math.exp(slope), fit_until
