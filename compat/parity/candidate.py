"""One candidate against the reference, in the guide's order: variables, initial values, forward pass, training.

Each stage adds its findings to the report; `check_candidate` reads them into the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tfparity.compat.finite import FIX as NONFINITE_FIX
from tfparity.compat.finite import first_nonfinite
from tfparity.compat.parity.envelope import CANDIDATE_TWINS_BELOW, apply_sensitivity_rule
from tfparity.compat.parity.forward import forward_margin
from tfparity.compat.parity.initial import builds_agree
from tfparity.compat.parity.matching import RenamedSide, match_variables
from tfparity.compat.parity.reference import Reference
from tfparity.compat.parity.report import BUG, NONFINITE, PARITY, SENSITIVE, ForwardResult, MetricResult, ParityReport
from tfparity.compat.parity.sensitivity import estimate_growth, rounds_every_step, twin_runs
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.tolerance import Difference, Tolerance, weights_differences
from tfparity.compat.parity.trajectories import Trajectory, compare_trajectories

CANDIDATE_TWIN_SEED = 1000  # candidate twins draw other signs than the reference's


@dataclass(frozen=True)
class Options:
    train: bool
    tolerance: Tolerance
    loss_tolerance: Tolerance
    compare_initial_values: bool
    growth: bool | str
    twins: int
    sensitivity_factor: float
    eval_data: tuple[np.ndarray, np.ndarray] | None
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None
    metric_atol: float


def check_candidate(ref: Reference, candidate: Side, opts: Options) -> ParityReport:
    report = ParityReport(
        reference=ref.side.name,
        candidate=candidate.name,
        tolerance=opts.tolerance,
        loss_tolerance=opts.loss_tolerance,
        variables=ref.inspection.variables,
        variable_mismatches=[],
        initial_values=None,
        forward=None,
        trajectory=None,
        growth=None,
        envelope=None,
        metrics={},
        nonfinite=[],
        verdict=PARITY,
        reasons=[],
        notes=list(ref.notes),
        start=ref.start,
    )
    candidate = _match(ref, candidate, report)
    if candidate is None:
        return report
    bug = _initial_values(ref, candidate, report, opts)
    bug |= _forward(ref, candidate, report, opts)
    if not opts.train:
        return _verdict(report, bug, None)
    cand_traj = candidate.train(ref.initial, ref.batches, ref.record_every)
    if cand_traj.steps != ref.trajectory.steps:
        raise ValueError(f"{candidate.name} recorded {cand_traj.steps} losses for {ref.trajectory.steps} batches")
    traj = compare_trajectories(ref.trajectory, cand_traj, opts.tolerance, opts.loss_tolerance, ref.record_every)
    report.trajectory = traj
    runs = ((ref.side.name, ref.trajectory), (candidate.name, cand_traj))
    report.nonfinite = [n for n in (first_nonfinite(name, t.losses, t.weights) for name, t in runs) if n]
    if len(report.nonfinite) == 2:
        return _both_nonfinite(report, bug)
    if report.nonfinite:
        bug = True
        report.reasons.append(f"only one side went non-finite: {report.nonfinite[0].describe()} ({NONFINITE_FIX})")
        report.summary = f"only {report.nonfinite[0].run} went non-finite, from step {report.nonfinite[0].step}"
    bug |= _training(ref, candidate, cand_traj, report, opts)
    bug |= _metrics(ref, candidate, cand_traj, report, opts)
    return _verdict(report, bug, cand_traj)


def _match(ref: Reference, candidate: Side, report: ParityReport) -> Side | None:
    """The candidate under the reference's variable names, or None (a BUG) when its variables do not match."""
    match = match_variables(ref.inspection, candidate.inspect(ref.forward_inputs))
    if match.mismatches:
        report.variable_mismatches = match.mismatches
        report.reasons.append(
            f"{len(match.mismatches)} variable mismatch(es): " + "; ".join(m.describe() for m in match.mismatches)
        )
        report.reasons.append("numerical checks skipped: the variables must match first (the guide's steps 1-2)")
        report.notes += [match.hint] if match.hint else []
        report.summary = f"variables differ: {match.mismatches[0].describe()}"
        report.verdict = BUG
        return None
    if match.how == "names":
        return candidate
    report.matched_by = match.how
    report.notes.append(match.hint)
    report.notes.append("variables paired: " + "; ".join(match.describe_mapping()))
    return RenamedSide(candidate, match.mapping)


def _initial_values(ref: Reference, candidate: Side, report: ParityReport, opts: Options) -> bool:
    """Each side's own initializers, element by element; a difference is a bug only when both are seeded."""
    if not opts.compare_initial_values:
        return False
    own = candidate.inspect(ref.forward_inputs).initial
    report.initial_values = weights_differences(ref.inspection.initial, own, opts.tolerance)
    differing = [d for d in report.initial_values if d.beyond]
    if not differing:
        return False
    unseeded = [] if ref.seeded else [ref.side.name]
    if not builds_agree(candidate, ref.forward_inputs):
        unseeded.append(candidate.name)
    if unseeded:
        report.notes.append(
            f"initial values differ, but the {' and '.join(unseeded)} side's initializers are unseeded (two builds "
            "differ), so this is not a bug; both sides start from the same values anyway (start:). "
            "Seed the initializers to compare them"
        )
        return False
    report.reasons.append(
        "initial values differ (the initializers do not agree): " + "; ".join(d.describe() for d in differing)
    )
    report.summary = report.summary or f"initial values differ: {differing[0].where}"
    return True


def _forward(ref: Reference, candidate: Side, report: ParityReport, opts: Options) -> bool:
    outputs = np.asarray(candidate.forward(ref.forward_weights, ref.forward_inputs))
    n = len(ref.forward_inputs)
    if outputs.shape != ref.forward_outputs.shape:
        shapes = (
            f"outputs have shape {ref.forward_outputs.shape} on {ref.side.name}, {outputs.shape} on {candidate.name}"
        )
        worst = Difference("outputs", (), math.nan, math.nan, math.inf, 0.0)
        report.forward = ForwardResult(ref.forward_label, n, worst, shapes, probed=ref.probed)
        report.reasons.append(f"forward pass: {shapes}")
        report.summary = report.summary or f"forward pass: {shapes}"
        return True
    margin = forward_margin(ref.forward_outputs, outputs, opts.tolerance, ref.bound)
    flat = int(np.ravel_multi_index(margin.index, outputs.shape)) if margin.index else 0
    r, c = float(ref.forward_outputs.reshape(-1)[flat]), float(outputs.reshape(-1)[flat])
    allowed = abs(c - r) / margin.ratio if margin.ratio not in (0.0, math.inf) else float(opts.tolerance.atol)
    worst = Difference("outputs", margin.index, r, c, abs(c - r), allowed)
    report.forward = ForwardResult(
        ref.forward_label, n, worst, margin=margin, bound=ref.bound.describe() if ref.bound else "", probed=ref.probed
    )
    if report.forward.ok:
        return False
    report.reasons.append(
        f"forward pass differs with the same weights ({ref.forward_label}) beyond what float32 rounding can: "
        f"{margin.describe()}: {worst.describe()}"
    )
    report.margin = margin
    report.summary = report.summary or f"forward pass: {margin.describe()}"
    return True


def _training(ref: Reference, candidate: Side, cand_traj: Trajectory, report: ParityReport, opts: Options) -> bool:
    """Within tolerance, or within the rounding family's envelope (`SENSITIVITY_RULE`); else a bug."""
    traj = report.trajectory
    run_twins = opts.twins > 0 and (opts.growth is True or (opts.growth == "auto" and not traj.ok))
    if run_twins:
        family = ref.family(opts.twins, opts.tolerance)
        report.growth = estimate_growth(ref.trajectory, ref.twins(opts.twins), opts.tolerance, reference_family=family)
        if not rounds_every_step(ref.side):
            report.notes.append(
                f"{ref.side.name}'s train() takes no rounding_seed, so its twins are moved at the start and in "
                "their inputs only, not after every update: they may understate rounding under Adam "
                "(docs/parity.md, the rule)"
            )
    if traj.ok:
        return False
    where = traj.first_divergence.describe()
    if report.growth is None:
        report.reasons.append(
            f"training diverges beyond tolerance from {where} (no twins ran: cannot tell rounding from a bug)"
        )
        report.summary = report.summary or f"training diverges from step {traj.first_divergence.step}"
        return True
    envelope = _judge(ref, cand_traj, report, opts)
    # The candidate's own twins: a port may amplify rounding sooner than its reference. Far above the
    # envelope no such widening could explain it, and the twins would cost three trainings for nothing.
    if not envelope.explains and envelope.margin.ratio <= CANDIDATE_TWINS_BELOW:
        seeds = [CANDIDATE_TWIN_SEED + i for i in range(opts.twins)]
        twins = twin_runs(candidate, cand_traj, ref.batches, ref.record_every, seeds)
        report.growth = estimate_growth(
            ref.trajectory,
            ref.twins(opts.twins),
            opts.tolerance,
            cand_traj,
            twins,
            reference_family=ref.family(opts.twins, opts.tolerance),
        )
        envelope = _judge(ref, cand_traj, report, opts)
    report.envelope = envelope
    report.margin = envelope.margin
    kind = "float32 sensitivity" if report.growth.sensitive else "rounding differences adding up"
    if envelope.explains:
        report.reasons.append(
            f"training leaves the tolerance from {where}, but every difference stays within the rounding "
            f"envelope: largest {envelope.margin.describe()} ({kind}; {report.growth.describe()})"
        )
        report.summary = report.summary or f"within the rounding envelope, largest {envelope.margin.describe()}"
        report.notes.append(
            "not a bug as far as a run can tell, which is not proof: a difference per step within the twins' "
            "spread cannot be told from rounding on this problem (Adam's epsilon 1e-7 for 1e-8 where gradients "
            "are large, for one); check such settings in the code"
        )
        return False
    first = envelope.first_crossing
    worst = "" if envelope.margin == first else f"; largest {envelope.margin.describe()}"
    before = (
        f"; it left the tolerance earlier, within the envelope, at {where}"
        if traj.first_divergence.step < first.step
        else ""
    )
    violation = envelope.weight_violation if first.where != "loss" else envelope.loss_violation
    report.reasons.append(
        f"training diverges beyond what rounding explains: {first.describe()} ({violation.describe()}){worst}{before}"
        f" ({report.growth.describe()})"
    )
    report.summary = report.summary or f"training: {first.describe()}"
    return True


def _judge(ref: Reference, cand_traj: Trajectory, report: ParityReport, opts: Options):
    return apply_sensitivity_rule(
        report.trajectory,
        report.growth,
        ref.trajectory,
        cand_traj,
        opts.tolerance,
        opts.loss_tolerance,
        opts.sensitivity_factor,
        len(ref.batches[0][0]),
    )


def _metrics(ref: Reference, candidate: Side, cand_traj: Trajectory, report: ParityReport, opts: Options) -> bool:
    if not opts.metrics:
        return False
    if opts.eval_data is None:
        raise ValueError("metrics need eval_data=(inputs, labels)")
    x, y = opts.eval_data
    ref_out = ref.eval_outputs(x)
    cand_out = candidate.forward(cand_traj.final, x)
    twins = [ref.eval_outputs(x, i) for i in range(report.growth.twins)] if report.growth else []
    sensitive = report.envelope is not None and report.envelope.explains
    bug = False
    for name, fn in opts.metrics.items():
        reference = float(fn(ref_out, y))
        twin = max((float(fn(out, y)) for out in twins), key=lambda v: abs(v - reference), default=None)
        m = MetricResult(reference, float(fn(cand_out, y)), opts.metric_atol, twin)
        report.metrics[name] = m
        if m.ok:
            continue
        line = f"{name} after training: {m.reference:.6g} vs {m.candidate:.6g}, |diff| {m.diff:.3g} > {m.atol:g}"
        # On a sensitive problem the weights end elsewhere for float32 reasons, and so does the metric:
        # within K times the farthest twin's metric difference it is rounding, beyond it a bug.
        reach = None if twin is None else m.atol + opts.sensitivity_factor * abs(twin - reference)
        if sensitive and reach is not None and m.diff <= reach:
            report.reasons.append(f"{line}, expected on a sensitive problem (the farthest twin gets {twin:.6g})")
            continue
        bug = True
        if reach is not None:
            line += f", and beyond {opts.sensitivity_factor:g}x the farthest twin's difference ({twin:.6g})"
        report.reasons.append(line)
        report.summary = report.summary or line
    return bug


def _verdict(report: ParityReport, bug: bool, cand_traj: Trajectory | None) -> ParityReport:
    t = report.trajectory
    if bug:
        report.verdict = BUG
    elif t is not None and not t.ok:
        report.verdict = SENSITIVE
    else:
        report.verdict = PARITY
        if t is None:
            report.margin = report.forward.margin if report.forward else None
            report.reasons.append("variables and forward pass agree (training not checked: train=False)")
            report.summary = f"forward pass within {report.margin.describe()}" if report.margin else ""
        else:
            report.margin = t.tolerance_margin
            how = "bit-identical" if t.bit_identical else f"within {report.tolerance} (losses {report.loss_tolerance})"
            report.reasons.append(f"variables, forward pass and {t.steps} training steps agree: {how}")
            report.summary = (
                f"bit-identical over {t.steps} steps"
                if t.bit_identical
                else f"within tolerance over {t.steps} steps, largest {t.tolerance_margin.describe()}"
            )
    return report


def _both_nonfinite(report: ParityReport, bug: bool) -> ParityReport:
    """Both runs blew up: after that NaN equals nothing, so the run proves neither parity nor a bug."""
    where = "; ".join(n.describe() for n in report.nonfinite)
    report.reasons.append(
        f"both runs went non-finite ({where}), so training was not compared: {NONFINITE_FIX}, then check again"
    )
    first = report.trajectory.first_divergence
    step = min(n.step for n in report.nonfinite)
    if first is not None and first.step is not None and first.step < step:
        report.reasons.append(f"the runs already differed beyond tolerance before that, at {first.describe()}")
    report.summary = report.summary or f"both runs went non-finite from step {step}: nothing to compare"
    report.verdict = BUG if bug else NONFINITE
    return report
