"""Moving a checkpoint's weights into a model of another era, writing it atomically, and verifying it.

`convert` pairs the checkpoint's variables with the target model's (`mapping.find_mapping`),
assigns them, carries the optimizer state that means the same on both sides
(`optimizer_state`), writes the target's format into a temporary folder beside the destination
and moves the files into place (the index last: a failed conversion leaves nothing that looks
like a checkpoint), then loads what it wrote into a fresh target model and compares its forward
pass with the source model's on the same inputs, with the parity API's tolerance.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfparity.compat.checkpoints import optimizer_state
from tfparity.compat.checkpoints.mapping import MappingError, find_mapping
from tfparity.compat.checkpoints.read import Checkpoint, CheckpointError
from tfparity.compat.parity.tolerance import GUIDE_TOLERANCE, Margin, largest_ratio

Holder = object  # a holders.TF1Holder, ModuleHolder or KerasHolder


@dataclass
class Verification:
    margin: Margin  # the largest |target - source| over what the tolerance allows, among the outputs
    max_abs_diff: float
    examples: int

    @property
    def passed(self) -> bool:
        return not self.margin.beyond

    def describe(self) -> str:
        how = "identical" if self.max_abs_diff == 0 else f"max |diff| {self.max_abs_diff:.3g}"
        verdict = "verified" if self.passed else "FAILED"
        return f"{verdict}: forward pass on {self.examples} examples {how} ({self.margin.describe()})"


@dataclass
class Conversion:
    written: list[Path]
    mapping: dict[str, str]
    carried: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    verification: Verification | None = None


def source_values(checkpoint: Checkpoint) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    """The checkpoint's model variables (not slots, not the step): name -> shape, name -> value."""
    variables = checkpoint.variables()
    return {e.name: e.shape for e in variables}, {e.name: checkpoint.value(e) for e in variables}


def load_into(holder, checkpoint: Checkpoint, explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Assign the checkpoint's variables to `holder`'s, paired by `find_mapping`; the pairs."""
    shapes, values = source_values(checkpoint)
    mapping = find_mapping(shapes, holder.variables(), explicit)
    holder.assign({tgt: values[src] for src, tgt in mapping.items()})
    return mapping


def read_optimizer_state(checkpoint: Checkpoint, holder) -> None:
    """For a Keras or TF2 source: restore it into `holder` (a model of its format with its optimizer
    built) and keep the optimizer's state on `checkpoint`, by the holder's variable names."""
    if checkpoint.format == "tf1":
        return
    holder.restore(checkpoint.path)
    optimizer = getattr(holder, "optimizer", None) or getattr(getattr(holder, "model", None), "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", True):
        return
    state = optimizer_state.keras_state(optimizer, holder.named)
    in_file = {tgt: src for src, tgt in find_mapping(source_values(checkpoint)[0], holder.variables()).items()}
    state.slots = {(in_file[name], kind): value for (name, kind), value in state.slots.items()}
    checkpoint.optimizer_state = state


def carry_state(
    source: Checkpoint, mapping: Mapping[str, str], target, betas: tuple[float, float] | None
) -> optimizer_state.Carried:
    """The optimizer state `source` holds, into `target` where it means the same; the rest reported."""
    if source.format == "tf1":
        state = optimizer_state.tf1_state(source, None if betas is None else betas[0])
    else:  # a Keras or TF2 source: its optimizer was loaded with its model (see `source_state`)
        state = getattr(source, "optimizer_state", None) or optimizer_state.OptimizerState()
    if not state.slots and state.step is None:
        return optimizer_state.Carried()
    if target.format == "tf1":
        values, report = optimizer_state.tf1_slot_values(state, mapping, target.state(), betas)
        target.assign(values)
        return report
    optimizer = getattr(target, "optimizer", None) or getattr(getattr(target, "model", None), "optimizer", None)
    return optimizer_state.carry_into_keras(state, mapping, optimizer, target.named)


def staged(destination: Path) -> Path:
    """A fresh temporary folder beside `destination`: what is written there is moved in only once verified."""
    folder = Path(destination).parent / f".{Path(destination).name}.tmp-{os.getpid()}"
    folder.mkdir()
    return folder


def move_into_place(folder: Path, destination: Path) -> list[Path]:
    """Each file of `folder` moved beside `destination`, the index last (a half-moved checkpoint has no index)."""
    written = []
    for file in sorted(folder.iterdir(), key=lambda p: (p.suffix == ".index", p.name)):
        os.replace(file, Path(destination).parent / file.name)
        written.append(Path(destination).parent / file.name)
    return written


def write_atomically(holder, destination: Path) -> list[Path]:
    """`holder.save` into a temporary folder beside `destination`, then each file moved into place, index last."""
    folder = staged(destination)
    try:
        holder.save(folder / Path(destination).name)
        return move_into_place(folder, destination)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def verify(
    source_forward: Callable[[np.ndarray], np.ndarray], target, written: Path, inputs: np.ndarray
) -> Verification:
    """Load `written` into `target` (a fresh model) and compare its outputs with the source model's."""
    target.restore(written)
    reference = np.asarray(source_forward(inputs), np.float64)
    candidate = np.asarray(target.forward(inputs), np.float64)
    if reference.shape != candidate.shape:
        raise CheckpointError(
            f"{written}: the target's outputs have shape {candidate.shape}, the source's {reference.shape}"
        )
    diff = np.abs(candidate - reference)
    margin = largest_ratio("outputs", diff, GUIDE_TOLERANCE.allowed(reference), "tolerance")
    return Verification(margin, float(diff.max(initial=0.0)), int(inputs.shape[0]))


def adam_betas(holder) -> tuple[float, float] | None:
    """(beta1, beta2) of the holder's Adam: a Keras optimizer's own, or a fresh TF1 graph's beta powers
    (which start at beta1 and beta2); None without an Adam."""
    optimizer = getattr(holder, "optimizer", None) or getattr(getattr(holder, "model", None), "optimizer", None)
    if optimizer is not None and optimizer_state.is_adam(optimizer):
        return float(optimizer.beta_1), float(optimizer.beta_2)
    state = holder.state() if hasattr(holder, "state") else {}
    if "beta1_power" in state and "beta2_power" in state:
        powers = holder.session.run([holder.every["beta1_power"], holder.every["beta2_power"]])
        return float(powers[0]), float(powers[1])
    return None


def convert(
    source: Checkpoint,
    target,
    destination: Path,
    *,
    fresh_target: Callable[[], object],
    source_forward: Callable[[np.ndarray], np.ndarray],
    inputs: np.ndarray,
    explicit: Mapping[str, str] | None = None,
    betas: tuple[float, float] | None = None,
) -> Conversion:
    """Map, assign, carry the optimizer state, write into a temporary folder, verify there on `inputs`, and
    only then move the files into place: a failed or unverified conversion leaves nothing at `destination`.
    `betas`: Adam's (beta1, beta2), by default the target's (or the source model's, given as `betas`)."""
    betas = adam_betas(target) or betas
    try:
        mapping = load_into(target, source, explicit)
    except MappingError as exc:
        raise MappingError(f"{source.path} -> {target.format}: {exc}") from exc
    report = carry_state(source, mapping, target, betas)
    folder = staged(destination)
    try:
        staged_path = folder / Path(destination).name
        target.save(staged_path)
        checked = fresh_target()
        try:
            verification = verify(source_forward, checked, staged_path, inputs)
        finally:
            checked.close()
        written = move_into_place(folder, destination) if verification.passed else []
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Conversion(written, mapping, report.carried, report.dropped, verification)
