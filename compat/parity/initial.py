"""Where both sides start: initial values that are the same on every run, so a CI verdict does not flip.

The check starts both sides from the reference's initial values. A TF1 graph whose initializers
have no seed draws new ones on every run, and a training run from other weights is another
run. `reproducible_start` builds the side twice: if the builds agree, its own values are
reproducible; if not, it builds twice more under a seed (`inspect(..., seed=)`, see `sides`)
and, if those agree, starts from them. `builds_agree` tells whether a side's own initializers
repeat, so that "initial values differ" can be a note, not a bug, when one side's do not.
Two builds in one process cannot see randomness drawn once per process, before any build (an
unseeded Keras initializer made outside `make_model`): that side looks seeded, yet runs differ.
"""

from __future__ import annotations

import inspect as pyinspect
from dataclasses import dataclass

import numpy as np

from tfparity.compat.parity.matching import RenamedSide
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.variables import Inspection, Weights


@dataclass
class Start:
    """The weights both sides start from, and how they were found.

    `seeded`: every run starts from these same values. `note`: what a report should say ("" when
    nothing). `inspection`: the build the values come from (its variables serve the check too).
    """

    weights: Weights
    how: str
    seeded: bool
    note: str
    inspection: Inspection | None = None


def accepts_seed(side: Side) -> bool:
    """Whether `side.inspect` takes `seed=` (`TF1GraphSide` and `TF2Side` do; a user's own `Side` may not)."""
    if isinstance(side, RenamedSide):
        return accepts_seed(side.side)
    parameters = pyinspect.signature(side.inspect).parameters.values()
    return any(p.name == "seed" or p.kind is pyinspect.Parameter.VAR_KEYWORD for p in parameters)


def same_values(a: Weights, b: Weights) -> bool:
    """Whether two sets of weights hold the same names and bit-identical arrays."""
    return a.keys() == b.keys() and all(np.array_equal(a[n], b[n]) for n in a)


def _two_builds(side: Side, sample_inputs: np.ndarray, seed: int | None) -> tuple[Inspection, bool]:
    """One build's inspection, and whether a second build gives the same initial values."""
    kwargs = {} if seed is None else {"seed": seed}
    first = side.inspect(sample_inputs, **kwargs)
    second = side.inspect(sample_inputs, **kwargs)
    return first, same_values(first.initial, second.initial)


def builds_agree(side: Side, sample_inputs: np.ndarray) -> bool:
    """Whether two unseeded builds of `side` give the same initial values (its initializers are seeded)."""
    return _two_builds(side, sample_inputs, None)[1]


def reproducible_start(side: Side, sample_inputs: np.ndarray, seed: int = 0) -> Start:
    """Initial values that every run reproduces: the side's own when two builds agree, else drawn under `seed`.

    When neither gives two equal builds (or the side's `inspect` takes no seed), the values of
    one build, with `seeded=False` and a note: then runs start from different weights.
    """
    own, agree = _two_builds(side, sample_inputs, None)
    if agree:
        how = f"the {side.name} side's initial values (its initializers are seeded: two builds agree)"
        return Start(own.initial, how, True, "", own)
    if accepts_seed(side):
        drawn, agree = _two_builds(side, sample_inputs, seed)
        if agree:
            seeding = getattr(side, "seeding", "inspect(seed=...)")
            note = (
                f"the {side.name} side's initializers are unseeded (two builds differ); the check drew them under "
                f"seed {seed} ({seeding}) so every run starts from the same weights"
            )
            return Start(drawn.initial, f"the {side.name} side's initial values under seed {seed}", True, note, drawn)
    tried = f"seed {seed} did not make two builds agree" if accepts_seed(side) else "its inspect takes no seed"
    note = (
        f"the {side.name} side's initializers are unseeded (two builds differ, and {tried}): every run starts "
        "from different weights, so the verdict may change from run to run; pass initial_weights= or seed "
        "the initializers"
    )
    return Start(own.initial, f"one build of the {side.name} side's initial values (unseeded)", False, note, own)
