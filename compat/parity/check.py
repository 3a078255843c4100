"""The check itself: `check_parity`, `check_many` and `assert_parity`, from the variables to the verdict.

The reference side runs once (`_Reference`) and every candidate is checked against it in the
guide's order: variables, initial values, forward pass, then the training trajectory, judged by
the sensitivity rule when it leaves the tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.finite import FIX as NONFINITE_FIX
from tfparity.compat.finite import first_nonfinite
from tfparity.compat.parity.report import BUG, NONFINITE, PARITY, SENSITIVE, ForwardResult, MetricResult, ParityReport
from tfparity.compat.parity.sensitivity import (
    SENSITIVITY_FACTOR,
    apply_sensitivity_rule,
    estimate_growth,
    perturb_one_ulp,
    weight_scales,
)
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.tolerance import (
    GUIDE_TOLERANCE,
    Difference,
    Tolerance,
    weights_differences,
    worst_difference,
)
from tfparity.compat.parity.trajectories import Trajectory, compare_trajectories
from tfparity.compat.parity.variables import Inspection, Weights, compare_variables


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


def _prepare_reference(
    reference: Side,
    batches: Sequence[Batch],
    initial_weights: Weights | None,
    forward_weights: Weights | float | str,
    forward_inputs: np.ndarray | None,
    record_every: int,
    perturbation_seed: int,
) -> _Reference:
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
            raise ValueError(
                f"forward_weights must be 'initial', a number, or a dict of arrays; got {forward_weights!r}"
            )
        fw, fw_label = initial, initial_label
    elif isinstance(forward_weights, (int, float)):
        fw = {n: np.full_like(w, forward_weights) for n, w in initial.items()}
        fw_label = f"the constant {forward_weights:g} everywhere"
    else:
        fw, fw_label = {n: np.asarray(forward_weights[n]) for n in names}, "the given forward weights"
    outputs = reference.forward(fw, inputs)
    return _Reference(
        reference, inspection, initial, fw, fw_label, inputs, outputs, batches, record_every, perturbation_seed
    )


def _check_candidate(
    ref: _Reference,
    candidate: Side,
    *,
    train: bool,
    tolerance: Tolerance,
    loss_tolerance: Tolerance,
    compare_initial_values: bool,
    growth: bool | str,
    sensitivity_factor: float,
    eval_data: tuple[np.ndarray, np.ndarray] | None,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None,
    metric_atol: float,
) -> ParityReport:
    reasons: list[str] = []
    bug = False
    inspection = candidate.inspect(ref.forward_inputs)
    mismatches = compare_variables(ref.inspection, inspection)
    report = ParityReport(
        reference=ref.side.name,
        candidate=candidate.name,
        tolerance=tolerance,
        loss_tolerance=loss_tolerance,
        variables=ref.inspection.variables,
        variable_mismatches=mismatches,
        initial_values=None,
        forward=None,
        trajectory=None,
        growth=None,
        envelope=None,
        metrics={},
        nonfinite=[],
        verdict=PARITY,
        reasons=reasons,
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
            reasons.append(
                "initial values differ (the initializers do not agree): " + "; ".join(d.describe() for d in differing)
            )

    outputs = candidate.forward(ref.forward_weights, ref.forward_inputs)
    if np.shape(outputs) != np.shape(ref.forward_outputs):
        shapes = (
            f"outputs have shape {np.shape(ref.forward_outputs)} on {ref.side.name}, "
            f"{np.shape(outputs)} on {candidate.name}"
        )
        report.forward = ForwardResult(
            ref.forward_label,
            len(ref.forward_inputs),
            Difference("outputs", (), math.nan, math.nan, math.inf, 0.0),
            shapes,
        )
        bug = True
        reasons.append(f"forward pass: {shapes}")
    else:
        report.forward = ForwardResult(
            ref.forward_label,
            len(ref.forward_inputs),
            worst_difference("outputs", ref.forward_outputs, outputs, tolerance),
        )
        if not report.forward.ok:
            bug = True
            reasons.append(
                f"forward pass differs with the same weights ({ref.forward_label}): {report.forward.worst.describe()}"
            )

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
        reasons.append(f"only one side went non-finite: {report.nonfinite[0].describe()} ({NONFINITE_FIX})")

    if growth is True or (growth == "auto" and not traj.ok):
        report.growth = estimate_growth(ref.trajectory, ref.perturbed(), tolerance)
    if not traj.ok:
        where = traj.first_divergence.describe()
        if report.growth is None:
            bug = True
            reasons.append(
                f"training diverges beyond tolerance from {where} "
                "(growth estimate off: cannot tell sensitivity from a bug)"
            )
        else:
            report.envelope = apply_sensitivity_rule(
                traj,
                report.growth,
                ref.trajectory,
                cand_traj,
                tolerance,
                loss_tolerance,
                sensitivity_factor,
                len(ref.batches[0][0]),
            )
            if report.envelope.explains:
                why = (
                    "float32 sensitivity"
                    if report.growth.sensitive
                    else "rounding differences adding up (the tolerance is tighter than float32 allows over this run)"
                )
                reasons.append(
                    f"training leaves the tolerance from {where}, but stays within {sensitivity_factor:g}x "
                    f"the cumulative 1-ulp growth at every step: {why} ({report.growth.describe()})"
                )
            else:
                bug = True
                violation = report.envelope.weight_violation or report.envelope.loss_violation
                above = "" if violation == traj.first_divergence else f"; above the envelope at {violation.describe()}"
                reasons.append(
                    f"training diverges from {where}{above}: more than {sensitivity_factor:g}x what 1 ulp "
                    f"grows to on this problem ({report.growth.describe()})"
                )

    if metrics:
        if eval_data is None:
            raise ValueError("metrics need eval_data=(inputs, labels)")
        x, y = eval_data
        ref_out = ref.eval_outputs("reference", x)
        cand_out = candidate.forward(cand_traj.final, x)
        twin_out = ref.eval_outputs("twin", x) if report.growth else None
        sensitive = report.envelope is not None and report.envelope.explains
        for name, fn in metrics.items():
            m = MetricResult(
                float(fn(ref_out, y)),
                float(fn(cand_out, y)),
                metric_atol,
                None if twin_out is None else float(fn(twin_out, y)),
            )
            report.metrics[name] = m
            if m.ok:
                continue
            line = (
                f"{name} after training: {m.reference:.6g} vs {m.candidate:.6g}, |diff| {m.diff:.3g} > {metric_atol:g}"
            )
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
    report.reasons.append(
        f"both runs went non-finite ({where}), so training was not compared: {NONFINITE_FIX}, then check again"
    )
    first = report.trajectory.first_divergence
    if first is not None and first.step is not None and first.step < min(n.step for n in report.nonfinite):
        report.reasons.append(f"the runs already differed beyond tolerance before that, at {first.describe()}")
    report.verdict = BUG if bug else NONFINITE
    return report


def check_many(
    reference: Side,
    candidates: Sequence[Side] | Mapping[str, Side],
    batches: Sequence[Batch],
    *,
    tolerance: Tolerance | Mapping[str, Tolerance] = GUIDE_TOLERANCE,
    loss_tolerance: Tolerance | Mapping[str, Tolerance] | None = None,
    initial_weights: Weights | None = None,
    forward_weights: Weights | float | str = "initial",
    forward_inputs: np.ndarray | None = None,
    compare_initial_values: bool = True,
    train: bool = True,
    record_every: int = 1,
    growth: bool | Literal["auto"] = "auto",
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
    items = list(candidates.items()) if isinstance(candidates, Mapping) else [(c.name, c) for c in candidates]
    if progress:
        progress(reference.name)
    ref = _prepare_reference(
        reference, batches, initial_weights, forward_weights, forward_inputs, record_every, perturbation_seed
    )
    reports = {}
    for name, candidate in items:
        if progress:
            progress(name)
        tol, loss_tol = (
            _for_candidate(option, name, label)
            for option, label in ((tolerance, "tolerance"), (loss_tolerance, "loss_tolerance"))
        )
        reports[name] = _check_candidate(
            ref,
            candidate,
            train=train,
            tolerance=tol,
            loss_tolerance=loss_tol or tol,
            compare_initial_values=compare_initial_values,
            growth=growth,
            sensitivity_factor=sensitivity_factor,
            eval_data=eval_data,
            metrics=metrics,
            metric_atol=metric_atol,
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


def assert_parity(
    reference: Side, candidate: Side, batches: Sequence[Batch], *, allow_sensitive: bool = False, **options: Any
) -> ParityReport:
    """`check_parity`, raising AssertionError with the whole report unless the verdict passes.

    With `allow_sensitive`, "sensitive problem, no bug" passes as well as "parity".
    """
    report = check_parity(reference, candidate, batches, **options)
    if not report.passes(allow_sensitive):
        raise AssertionError(f"\n{report}")
    return report
