"""The reference side's runs, made once and shared by every candidate: start, forward outputs, training, twins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.forward import LOOSE_BOUND, RoundingBound, probe_weights, rounding_bound
from tfparity.compat.parity.initial import builds_agree, reproducible_start
from tfparity.compat.parity.sensitivity import FamilyDistances, family_distances, twin_runs
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.tolerance import Tolerance
from tfparity.compat.parity.trajectories import RECORDED_BYTES, Trajectory, record_every_within
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
    _families: dict[tuple[int, Tolerance], FamilyDistances] = field(default_factory=dict)
    _eval_outputs: dict[int | None, np.ndarray] = field(default_factory=dict)

    @property
    def trajectory(self) -> Trajectory:
        """The reference's training run, made on first use (never, when every candidate stops earlier)."""
        if self._trajectory is None:
            self._trajectory = self.side.train(self.initial, self.batches, self.record_every)
        return self._trajectory

    def twins(self, count: int) -> list[Trajectory]:
        """The first `count` twins of the reference run (made once, shared by every candidate)."""
        seeds = [self.perturbation_seed + k for k in range(len(self._twins), count)]
        self._twins += twin_runs(self.side, self.trajectory, self.batches, self.record_every, seeds)
        return self._twins[:count]

    def family(self, count: int, tolerance: Tolerance) -> FamilyDistances:
        """The distances within the reference's family of `count` twins, computed once for every candidate."""
        if (count, tolerance) not in self._families:
            self._families[count, tolerance] = family_distances(self.trajectory, self.twins(count), tolerance)
        return self._families[count, tolerance]

    def eval_outputs(self, inputs: np.ndarray, twin: int | None = None) -> np.ndarray:
        """The reference's (or its twin's, by index) outputs on `inputs` at its final weights, computed once."""
        if twin not in self._eval_outputs:
            trajectory = self.trajectory if twin is None else self.twins(twin + 1)[twin]
            self._eval_outputs[twin] = self.side.forward(trajectory.final, inputs)
        return self._eval_outputs[twin]


def _start(
    reference: Side, inputs: np.ndarray, initial_weights: Weights | None, initial_seed: int
) -> tuple[Inspection, Weights, str, bool, list[str]]:
    """The reference's inspection, the initial values both sides start from, where they came from,
    whether its own initializers repeat, and any note."""
    if initial_weights is None:
        start = reproducible_start(reference, inputs, seed=initial_seed)
        seeded = start.seeded and not start.note  # its own initializers repeat (not drawn under our seed)
        return start.inspection, start.weights, start.how, seeded, [start.note] if start.note else []
    inspection = reference.inspect(inputs)
    names = [v.name for v in inspection.variables]
    missing = sorted(set(names) - set(initial_weights))
    if missing:
        raise ValueError(f"initial_weights has no value for {missing}; give one per reference variable {names}")
    seeded = builds_agree(reference, inputs)  # the start is given; whether its own initializers repeat is asked
    return inspection, {n: np.asarray(initial_weights[n]) for n in names}, "the given initial weights", seeded, []


def _forward_weights(
    forward_weights: Weights | float | str, initial: Weights, initial_label: str
) -> tuple[Weights, str, list[str]]:
    """The weights of the forward check, in words, and the constant tensors given a seeded draw."""
    if isinstance(forward_weights, str):
        if forward_weights != "initial":
            raise ValueError(
                f"forward_weights must be 'initial', a number, or a dict of arrays; got {forward_weights!r}"
            )
        fw, probed = probe_weights(initial)
        drawn = f", constant tensors {probed} given a seeded draw" if probed else ""
        return fw, f"{initial_label}{drawn}", probed
    if isinstance(forward_weights, (int, float)):
        return (
            {n: np.full_like(w, forward_weights) for n, w in initial.items()},
            f"the constant {forward_weights:g} everywhere",
            [],
        )
    return {n: np.asarray(forward_weights[n]) for n in initial}, "the given forward weights", []


def prepare_reference(
    reference: Side,
    batches: Sequence[Batch],
    *,
    initial_weights: Weights | None,
    initial_seed: int,
    forward_weights: Weights | float | str,
    forward_inputs: np.ndarray | None,
    record_every: int | None,
    perturbation_seed: int,
    rounding_bound_check: bool,
) -> Reference:
    """Everything about the reference that does not depend on a candidate (its training runs lazily).

    `record_every` None: every step, unless a run's weights would then outgrow `RECORDED_BYTES`."""
    if len(batches) < 1:
        raise ValueError("parity needs at least one batch")
    inputs = batches[0][0] if forward_inputs is None else forward_inputs
    inspection, initial, label, seeded, notes = _start(reference, inputs, initial_weights, initial_seed)
    if record_every is None:
        record_every = record_every_within(len(batches), initial, RECORDED_BYTES)
        if record_every > 1:
            notes.append(
                f"weights recorded every {record_every} steps: at every step, one run's would take more than "
                f"{RECORDED_BYTES // 2**20} MB (record_every=1 records them all)"
            )
    short = "the initial values" if initial_weights is None else "the given initial weights"
    fw, fw_label, probed = _forward_weights(forward_weights, initial, short)
    outputs = np.asarray(reference.forward(fw, inputs))
    if probed and not np.isfinite(outputs).all():  # the draw broke the model (a log of a scale, say): undo it
        notes.append(f"the seeded draw on {probed} made the reference's outputs non-finite: forward pass at {short}")
        fw, probed, fw_label = initial, [], short
        outputs = np.asarray(reference.forward(fw, inputs))
    bound = rounding_bound(reference, inspection.variables, fw, inputs) if rounding_bound_check else None
    looseness = _looseness(bound, outputs)
    if looseness > LOOSE_BOUND:
        notes.append(
            f"the forward pass's rounding bound allows {looseness:.2g} of a typical output here (it adds up "
            "absolute products through every layer): a forward bug smaller than that shows in training only; "
            "rounding_bound=False judges the outputs by the tolerance alone"
        )
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


def _looseness(bound: RoundingBound | None, outputs: np.ndarray) -> float:
    """The bound's median share of an output's magnitude (0 without a bound or with zero outputs)."""
    if bound is None or np.shape(bound.magnitudes) != outputs.shape or not outputs.size:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = bound.allowed() / np.abs(outputs.astype(np.float64))
    share = share[np.isfinite(share)]
    return float(np.median(share)) if share.size else 0.0
