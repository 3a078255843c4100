"""What a parity check found: the verdicts, `ParityReport`, its readable text and its JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tfparity.compat.finite import NonFinite
from tfparity.compat.parity.sensitivity import Envelope, GrowthEstimate
from tfparity.compat.parity.tolerance import Difference, Tolerance
from tfparity.compat.parity.trajectories import TrajectoryResult
from tfparity.compat.parity.variables import VariableMismatch, VariableSpec

PARITY = "parity"
SENSITIVE = "sensitive problem, no bug"
BUG = "bug"
NONFINITE = "non-finite"  # both runs blew up: NaN equals nothing, so nothing was compared
Verdict = Literal["parity", "sensitive problem, no bug", "bug", "non-finite"]


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
    """The report as text: verdict and reasons, then each check, then a table of sampled steps."""
    from tabulate import tabulate

    lines = [f"parity: {report.candidate} against {report.reference}: {report.verdict.upper()}"]
    lines += [f"  - {r}" for r in report.reasons]
    lines.append("")
    if report.variable_mismatches:
        lines.append("variables (every mismatch):")
        rows = [[m.kind, m.name, m.reference, m.candidate] for m in report.variable_mismatches]
        lines.append(
            tabulate(rows, headers=["mismatch", "variable", report.reference, report.candidate], disable_numparse=True)
        )
        return "\n".join(lines)
    lines.append(
        f"variables: {len(report.variables)} on both sides, same names, shapes and dtypes: "
        + ", ".join(f"{v.name} {v.shape} {v.dtype}" for v in report.variables)
    )
    if report.initial_values is not None:
        beyond = [d for d in report.initial_values if d.beyond]
        worst = max((d.abs_diff for d in report.initial_values), default=0.0)
        lines.append(
            f"initial values: {len(beyond)} variable(s) differ"
            if beyond
            else f"initial values: agree (max |diff| {worst:.3g})"
        )
        lines += [f"  {d.describe()}" for d in beyond]
    if report.forward and report.forward.shape_mismatch:
        lines.append(f"forward pass: DIFFERS, {report.forward.shape_mismatch}")
    elif report.forward:
        f = report.forward
        state = "ok" if f.ok else "DIFFERS"
        lines.append(
            f"forward pass ({f.inputs} rows, weights: {f.weights}): {state}, max |diff| {f.worst.abs_diff:.3g} "
            f"(tolerance {report.tolerance})" + ("" if f.ok else f"\n  {f.worst.describe()}")
        )
    t = report.trajectory
    if t:
        first = t.first_divergence
        head = f"training: {t.steps} steps, weights recorded every {t.record_every}; " + (
            "bit-identical"
            if t.bit_identical
            else f"max |dw| {t.max_weight_divergence:.3g}, max |dloss| {t.max_loss_divergence:.3g}"
        )
        if report.verdict == NONFINITE:  # NaN equals nothing: no difference, "within tolerance" or not, means anything
            lines.append(
                f"training: {t.steps} steps, not compared: both runs are non-finite from step "
                f"{min(n.step for n in report.nonfinite)}"
            )
        else:
            lines.append(head)
            lines.append(
                f"  first divergence beyond tolerance: {first.describe()}"
                if first
                else f"  within tolerance at every step (weights {report.tolerance}; losses {report.loss_tolerance})"
            )
            lines.append(
                "  after the last step: "
                + "; ".join(f"{d.where} max |diff| {d.abs_diff:.3g} at {list(d.index)}" for d in t.final)
            )
        g, e = report.growth, report.envelope
        if g:
            lines.append(f"1-ulp growth: {g.describe()}")
        p_by = dict(zip(g.weight_steps, g.weight_divergence)) if g else {}
        e_by = dict(zip([k for k in t.weight_steps if k in p_by], e.weight_envelope)) if e else {}
        rows = []
        for k in sample_steps(t.weight_steps, [first.step] if first and first.step is not None else []):
            d = t.weight_divergence[t.weight_steps.index(k)]
            losses = (
                [f"{t.reference_losses[k]:.7g}", f"{t.candidate_losses[k]:.7g}", f"{t.loss_divergence[k]:.3g}"]
                if k < t.steps
                else ["", "", ""]
            )
            rows.append(
                [k, *losses, f"{d:.3g}", f"{p_by[k]:.3g}" if k in p_by else "", f"{e_by[k]:.3g}" if k in e_by else ""]
            )
        headers = ["step", f"loss {report.reference}", f"loss {report.candidate}", "|dloss|", "max |dw| D(k)"]
        if g:
            headers += ["1-ulp twin P(k)", "envelope E(k)"]
        else:
            rows = [r[:5] for r in rows]
        lines.append(tabulate(rows, headers=headers, disable_numparse=True))
        lines.append("  (step k: weights after k updates, and the loss of batch k at those weights)")
    for name, m in report.metrics.items():
        twin = f", 1-ulp twin {m.twin:.6g}" if m.twin is not None else ""
        lines.append(
            f"{name}: {report.reference} {m.reference:.6g}, {report.candidate} {m.candidate:.6g}{twin}, "
            f"|diff| {m.diff:.3g} " + ("<=" if m.ok else ">") + f" {m.atol:g}"
        )
    lines += [f"non-finite: {n.describe()}" for n in report.nonfinite]
    return "\n".join(lines)
