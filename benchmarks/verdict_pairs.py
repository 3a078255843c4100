"""The verdict-accuracy experiment's model pairs and planted variants: its one source of truth.

A pair is a TF1 reference (`verdict_models.build_reference`) and TF2 candidates
(`verdict_models.CandidateModel`), one per applicable variant of `VARIANTS`: the faithful port
("correct"), ports that only round differently ("rounding": must not be called a bug), and
planted migration bugs ("bug": must be called one). The softmax pair adds tfparity's shipped
styles as further correct candidates. `build_experiment` makes one pair x seed, ready for
`parity.check_many`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from tabulate import tabulate

from tfparity.benchmarks import parity_sides
from tfparity.benchmarks.verdict_models import SHAPES, CandidateModel, Training, build_reference
from tfparity.compat import DataError, Datasets, TrainConfig, load_dataset, parity
from tfparity.compat.data import ENV_VARS, resolve_data_path

Kind = Literal["correct", "rounding", "bug"]
KINDS: tuple[Kind, ...] = ("correct", "rounding", "bug")


@dataclass(frozen=True)
class PairSpec:
    """One model pair: its training as both sides state it, and the data it prefers."""

    name: str
    training: Training
    batch_size: int
    steps: int
    datasets: tuple[str, ...]  # the first one that loads is used
    init: str  # how `initial_weights` draws the start, in words


PAIRS: dict[str, PairSpec] = {
    "softmax": PairSpec("softmax", Training("sgd", 0.5), 100, 200, ("fashion_mnist", "mnist"), "N(0, 0.01) everywhere"),
    "mlp": PairSpec("mlp", Training("adam", 0.1), 128, 200, ("mnist",), "N(0, 1) everywhere"),
    "cnn": PairSpec("cnn", Training("adam", 0.01), 64, 100, ("mnist",), "kernels N(0, 2/fan_in), biases N(0, 0.01)"),
}
ALL_PAIRS = tuple(PAIRS)
ADAM_PAIRS = tuple(name for name, spec in PAIRS.items() if spec.training.optimizer == "adam")
SHIPPED_STYLES = tuple(parity_sides.SIDES)  # tf1_graph, eager, function, keras_fit
STYLE_PREFIX = "style_"


@dataclass(frozen=True)
class Variant:
    """One TF2 candidate: its class, the pairs it applies to, and what it changes."""

    name: str
    kind: Kind
    pairs: tuple[str, ...]
    what: str


VARIANTS: tuple[Variant, ...] = (
    Variant("correct", "correct", ALL_PAIRS, "the faithful port"),
    Variant("reordered_sum", "rounding", ALL_PAIRS, "first dense matmul over a fixed permutation of its inputs"),
    Variant("split_sum", "rounding", ALL_PAIRS, "first dense matmul as the sum of its two halves"),
    Variant("sum_loss", "bug", ALL_PAIRS, "reduce_sum of the cross-entropy instead of reduce_mean"),
    Variant("softmax_twice", "bug", ALL_PAIRS, "softmax applied before softmax_cross_entropy_with_logits"),
    Variant("probs_as_logits", "bug", ALL_PAIRS, "the model returns probabilities where logits are expected"),
    Variant("new_optimizer", "bug", ADAM_PAIRS, "a new optimizer every step (SGD without momentum has no state)"),
    Variant("lr_10x", "bug", ALL_PAIRS, "ten times the learning rate"),
    Variant("adam_epsilon", "bug", ADAM_PAIRS, "Adam epsilon 1e-7 (Keras' default) instead of TF1's 1e-8"),
    Variant("transposed", "bug", ALL_PAIRS, "a weight used transposed (mis-shaped where it is not square)"),
    Variant("label_smoothing", "bug", ALL_PAIRS, "label smoothing 0.1"),
    Variant("dropout_rate", "bug", ("cnn",), "dropout 0.5 instead of 0.25"),
    Variant("dropout_mask", "bug", ("cnn",), "another seed for the dropout mask"),
    *(
        Variant(f"{STYLE_PREFIX}{style}", "correct", ("softmax",), f"tfparity's shipped {style} style")
        for style in SHIPPED_STYLES
    ),
)
VARIANTS_BY_NAME = {v.name: v for v in VARIANTS}


def scaled_steps(pair: str, scale: float = 1.0) -> int:
    """The pair's training steps times `scale` (`--steps-scale`), at least one."""
    return max(1, round(PAIRS[pair].steps * scale))


def describe_pairs(data: dict[str, Datasets], steps_scale: float = 1.0) -> str:
    """A Markdown table of what each pair trains on, and how."""
    body = []
    for pair, dataset in data.items():
        spec, t = PAIRS[pair], PAIRS[pair].training
        adam = f", epsilon {t.adam_epsilon:g}" if t.optimizer == "adam" else ""
        where = f"{dataset.name} ({dataset.source})"
        body.append(
            [
                pair,
                where,
                f"{t.optimizer} lr {t.learning_rate:g}{adam}",
                spec.batch_size,
                scaled_steps(pair, steps_scale),
                spec.init,
            ]
        )
    headers = ["pair", "data", "optimizer", "batch", "steps", "initial weights"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def variants_for(pair: str, names: Sequence[str] | None = None) -> list[Variant]:
    """The variants that apply to `pair`, in registry order (only `names`, when given)."""
    if pair not in PAIRS:
        raise ValueError(f"unknown pair {pair!r}; choose from {list(PAIRS)}")
    unknown = sorted(set(names or ()) - set(VARIANTS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {list(VARIANTS_BY_NAME)}")
    return [v for v in VARIANTS if pair in v.pairs and (names is None or v.name in names)]


def initial_weights(pair: str, seed: int) -> parity.Weights:
    """The seeded start both sides get, by the reference's variable names, drawn in NumPy."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.standard_normal(shape) * _init_std(pair, name, shape)).astype(np.float32)
        for name, shape in SHAPES[pair].items()
    }


def _init_std(pair: str, name: str, shape: tuple[int, ...]) -> float:
    if pair == "softmax":
        return 0.01
    if pair == "mlp":
        return 1.0
    return math.sqrt(2.0 / math.prod(shape[:-1])) if len(shape) > 1 else 0.01  # He normal kernels


def load_pair_data(pair: str, paths: dict[str, str | None] | None = None) -> Datasets:
    """The first of the pair's data sets found locally (`paths`, else the usual lookup).

    A preferred data set that is not installed falls back to the next one (the softmax pair:
    Fashion-MNIST, else MNIST) without a download; one named by a path or its own variable
    must load, or it is an error.
    """
    paths = paths or {}
    preferred = PAIRS[pair].datasets
    for name in preferred[:-1]:
        try:
            where = resolve_data_path(name, paths.get(name))
        except DataError:
            if paths.get(name) or os.environ.get(ENV_VARS[name]):
                raise
            where = None  # $TFPARITY_DATA_DIR without this data set: the next one
        if where is not None:
            return load_dataset(name, where)
    return load_dataset(preferred[-1], paths.get(preferred[-1]))


@dataclass
class Experiment:
    """One pair x seed, ready for `parity.check_many(reference, candidates, batches, initial_weights=...)`."""

    pair: str
    seed: int
    dataset: str
    steps: int
    batch_size: int
    reference: parity.TF1GraphSide
    candidates: dict[str, Any]
    batches: parity.PlannedBatches
    initial_weights: parity.Weights


def build_experiment(
    pair: str,
    data: Datasets,
    seed: int,
    *,
    steps: int | None = None,
    batch_size: int | None = None,
    variants: Sequence[str] | None = None,
) -> Experiment:
    """The reference, every applicable variant (or `variants`) as candidates, the seed's batches and start."""
    spec = PAIRS[pair]
    steps, batch_size = steps or spec.steps, batch_size or spec.batch_size
    training = spec.training
    reference = parity.TF1GraphSide(lambda: build_reference(pair, training), name=f"tf1_{pair}")
    candidates = {
        v.name: _candidate(pair, training, v.name, steps, batch_size, seed) for v in variants_for(pair, variants)
    }
    batches = parity.planned_batches(
        data.train.images, data.train.one_hot, batch_size=batch_size, steps=steps, seed=seed
    )
    return Experiment(
        pair, seed, data.name, steps, batch_size, reference, candidates, batches, initial_weights(pair, seed)
    )


def _candidate(pair: str, training: Training, variant: str, steps: int, batch_size: int, seed: int) -> Any:
    if variant.startswith(STYLE_PREFIX):
        return _shipped_style(variant.removeprefix(STYLE_PREFIX), training, steps, batch_size, seed)
    return parity.TF2Side(
        lambda: CandidateModel(pair, training, variant),
        train_step=lambda model, x, y: model.train_step(x, y),
        forward=lambda model, x: model(x),
        name=variant,
    )


def _shipped_style(style: str, training: Training, steps: int, batch_size: int, seed: int) -> Any:
    """A shipped style as a candidate of the softmax pair.

    TrainConfig cannot state the seeded start (its `normal` init leaves the bias at zero), and
    need not: the check assigns `initial_weights` to every side. Its zeros init matches the
    reference's own initializers, and its variables are the reference's `W` and `b`.
    """
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        learning_rate=training.learning_rate,
        optimizer=training.optimizer,
        loss="mean",
        init="zeros",
        seed=seed,
    )
    side = parity_sides.SIDES[style](config)
    side.name = f"{STYLE_PREFIX}{style}"
    return side
