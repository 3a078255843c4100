"""The check itself: `check_parity`, `check_many` and `assert_parity`.

The reference side runs once (`reference.py`) and every candidate is checked against it
(`candidate.py`) in the guide's order: variables, initial values, forward pass, then the
training trajectory, judged by the rounding family's envelope when it leaves the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.candidate import Options, check_candidate
from tfparity.compat.parity.envelope import SENSITIVITY_FACTOR
from tfparity.compat.parity.reference import prepare_reference
from tfparity.compat.parity.report import ParityReport
from tfparity.compat.parity.sensitivity import DEFAULT_TWINS
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.tolerance import GUIDE_TOLERANCE, Tolerance
from tfparity.compat.parity.variables import Weights


def check_many(
    reference: Side,
    candidates: Sequence[Side] | Mapping[str, Side],
    batches: Sequence[Batch],
    *,
    tolerance: Tolerance | Mapping[str, Tolerance] = GUIDE_TOLERANCE,
    loss_tolerance: Tolerance | Mapping[str, Tolerance] | None = None,
    initial_weights: Weights | None = None,
    initial_seed: int = 0,
    forward_weights: Weights | float | str = "initial",
    forward_inputs: np.ndarray | None = None,
    rounding_bound: bool = True,
    compare_initial_values: bool = True,
    train: bool = True,
    record_every: int | None = None,
    growth: bool | Literal["auto"] = "auto",
    twins: int = DEFAULT_TWINS,
    sensitivity_factor: float = SENSITIVITY_FACTOR,
    eval_data: tuple[np.ndarray, np.ndarray] | None = None,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    metric_atol: float = 1e-3,
    perturbation_seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, ParityReport]:
    """`check_parity` for several candidates against one reference, run once; reports by candidate name.

    `tolerance` and `loss_tolerance` may be dicts by candidate name. `progress`, when given, is
    called with the name of each side before it runs.
    """
    if twins < 0:
        raise ValueError(f"twins must be 0 or more, got {twins}")
    items = list(candidates.items()) if isinstance(candidates, Mapping) else [(c.name, c) for c in candidates]
    if progress:
        progress(reference.name)
    ref = prepare_reference(
        reference,
        batches,
        initial_weights=initial_weights,
        initial_seed=initial_seed,
        forward_weights=forward_weights,
        forward_inputs=forward_inputs,
        record_every=record_every,
        perturbation_seed=perturbation_seed,
        rounding_bound_check=rounding_bound,
    )
    reports = {}
    for name, candidate in items:
        if progress:
            progress(name)
        tol, loss_tol = (
            _for_candidate(option, name, label)
            for option, label in ((tolerance, "tolerance"), (loss_tolerance, "loss_tolerance"))
        )
        options = Options(
            train=train,
            tolerance=tol,
            loss_tolerance=loss_tol or tol,
            compare_initial_values=compare_initial_values,
            growth=growth,
            twins=twins,
            sensitivity_factor=sensitivity_factor,
            eval_data=eval_data,
            metrics=metrics,
            metric_atol=metric_atol,
        )
        reports[name] = check_candidate(ref, candidate, options)
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
      initial_weights: start both sides here (by reference name). Default: the reference's own initial
        values when two builds agree, else drawn under `initial_seed` (said in the report's notes).
      forward_weights: "initial" (constant tensors, such as zero biases, get a seeded draw added),
        a constant (the guide's 0.001), or a dict of arrays.
      forward_inputs: rows for the forward check; default: the first batch's inputs.
      rounding_bound: outputs may also differ by what float32 summation can produce (`forward.py`).
      compare_initial_values: compare each side's own initializers (a difference is a note when
        either side is unseeded, a bug when both are seeded).
      train: False stops after the forward pass (the guide's steps 1-3; no loss or train_op needed).
      record_every: record weights every this many steps (losses are recorded at every step); default:
        every step, or every few where one run's weights would outgrow 512 MB (said in the notes).
      growth: run the rounding twins always (True), never (False), or only to judge a divergence ("auto").
      twins: twins per side (default 3: with the candidate's, at most 8 trainings; docs/parity.md gives the cost).
      sensitivity_factor: K in `SENSITIVITY_RULE`.
      eval_data, metrics, metric_atol: metrics of each side's outputs at its own final weights,
        e.g. `metrics={"accuracy": parity.accuracy}`, compared to `metric_atol`.
      perturbation_seed: the signs of the twins' 1-ulp perturbations.

    A side's `train_step` must return the loss it computed *before* its update (what TF1's
    `session.run([train_op, loss])` returns): the per-step losses are compared.
    """
    return next(iter(check_many(reference, [candidate], batches, **options).values()))


def assert_parity(
    reference: Side, candidate: Side, batches: Sequence[Batch], *, allow_sensitive: bool = False, **options: Any
) -> ParityReport:
    """`check_parity`, raising AssertionError with the report unless the verdict passes.

    The message's first line is the verdict and where it was decided (what `pytest -ra` shows).
    With `allow_sensitive`, "sensitive problem, no bug" passes as well as "parity".
    """
    report = check_parity(reference, candidate, batches, **options)
    if not report.passes(allow_sensitive):
        raise AssertionError(str(report))
    return report
