"""The reference side's runs, made once and shared by every candidate: start, forward outputs, training, twins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.forward import RoundingBound, probe_weights, rounding_bound
from tfparity.compat.parity.initial import reproducible_start
from tfparity.compat.parity.sensitivity import twin_run
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.trajectories import Trajectory
from tfparity.compat.parity.variables import Inspection, Weights


@dataclass
class Reference:
    side: Side
    inspection: Inspection
    initial: Weights
    start: str  # where the initial values came from, in words
    seeded: bool  # the reference's own initializers give the same values on every build
    notes: list[str]
    forward_weights: Weights
    forward_label: str
    probed: list[str]
    forward_inputs: np.ndarray
    forward_outputs: np.ndarray
    bound: RoundingBound | None
    batches: Sequence[Batch]
    record_every: int
    perturbation_seed: int
    _trajectory: Trajectory | None = None
    _twins: list[Trajectory] = field(default_factory=list)
    _eval_outputs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def trajectory(self) -> Trajectory:
        """The reference's training run, made on first use (never, when every candidate stops earlier)."""
        if self._trajectory is None:
            self._trajectory = self.side.train(self.initial, self.batches, self.record_every)
        return self._trajectory

    def twins(self, count: int) -> list[Trajectory]:
        """The first `count` twins of the reference run (made once, shared by every candidate)."""
        while len(self._twins) < count:
            seed = self.perturbation_seed + len(self._twins)
            self._twins.append(twin_run(self.side, self.trajectory, self.batches, self.record_every, seed))
        return self._twins[:count]

    def eval_outputs(self, which: Literal["reference", "twin"], inputs: np.ndarray) -> np.ndarray:
        """The reference's (or its first twin's) outputs on `inputs` at its final weights, computed once."""
        if which not in self._eval_outputs:
            trajectory = self.trajectory if which == "reference" else self.twins(1)[0]
            self._eval_outputs[which] = self.side.forward(trajectory.final, inputs)
        return self._eval_outputs[which]


def prepare_reference(
    reference: Side,
    batches: Sequence[Batch],
    *,
    initial_weights: Weights | None,
    initial_seed: int,
    forward_weights: Weights | float | str,
    forward_inputs: np.ndarray | None,
    record_every: int,
    perturbation_seed: int,
    rounding_bound_check: bool,
) -> Reference:
    if len(batches) < 1:
        raise ValueError("parity needs at least one batch")
    inputs = batches[0][0] if forward_inputs is None else forward_inputs
    notes: list[str] = []
    if initial_weights is None:
        start = reproducible_start(reference, inputs, seed=initial_seed)
        inspection, initial, label = start.inspection, start.weights, start.how
        seeded = start.seeded and not start.note  # its own initializers repeat (not drawn under our seed)
        notes += [start.note] if start.note else []
    else:
        inspection = reference.inspect(inputs)
        names = [v.name for v in inspection.variables]
        missing = sorted(set(names) - set(initial_weights))
        if missing:
            raise ValueError(f"initial_weights has no value for {missing}; give one per reference variable {names}")
        initial, label, seeded = {n: np.asarray(initial_weights[n]) for n in names}, "the given initial weights", True
    names = [v.name for v in inspection.variables]
    probed: list[str] = []
    if isinstance(forward_weights, str):
        if forward_weights != "initial":
            raise ValueError(
                f"forward_weights must be 'initial', a number, or a dict of arrays; got {forward_weights!r}"
            )
        fw, probed = probe_weights(initial)
        fw_label = ("the initial values" if initial_weights is None else "the given initial weights") + (
            f", constant tensors {probed} given a seeded draw" if probed else ""
        )
    elif isinstance(forward_weights, (int, float)):
        fw = {n: np.full_like(w, forward_weights) for n, w in initial.items()}
        fw_label = f"the constant {forward_weights:g} everywhere"
    else:
        fw, fw_label = {n: np.asarray(forward_weights[n]) for n in names}, "the given forward weights"
    outputs = np.asarray(reference.forward(fw, inputs))
    bound = rounding_bound(reference, inspection.variables, fw, inputs) if rounding_bound_check else None
    return Reference(
        side=reference,
        inspection=inspection,
        initial=initial,
        start=label,
        seeded=seeded,
        notes=notes,
        forward_weights=fw,
        forward_label=fw_label,
        probed=probed,
        forward_inputs=inputs,
        forward_outputs=outputs,
        bound=bound,
        batches=batches,
        record_every=record_every,
        perturbation_seed=perturbation_seed,
    )
