"""What a parity check found: the verdicts, `ParityReport`, its readable text and its JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tfparity.compat.finite import NonFinite
from tfparity.compat.parity.envelope import Envelope
from tfparity.compat.parity.sensitivity import GrowthEstimate
from tfparity.compat.parity.tolerance import Difference, Margin, Tolerance
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
    margin: Margin | None = None  # the largest |diff| / allowed (the tolerance or the rounding bound)
    bound: str = ""  # the rounding bound, described; "" when not computed
    probed: list[str] = dataclasses.field(default_factory=list)  # constant tensors given a seeded draw

    @property
    def ok(self) -> bool:
        if self.shape_mismatch:
            return False
        return not self.margin.beyond if self.margin is not None else not self.worst.beyond


@dataclass
class MetricResult:
    """A metric of each side's outputs at its own final weights (and of the farthest reference twin, when run)."""

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
    margin: Margin | None = None  # what decided the verdict: how far over or under what was allowed, where
    summary: str = ""  # the verdict's one-line why, after the verdict on the report's first line
    notes: list[str] = dataclasses.field(default_factory=list)  # what the check did that the user should know
    start: str = ""  # where both sides' initial values came from
    matched_by: str = "names"  # how the candidate's variables were paired: "names" or "order and shape"

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
        if self.verdict == BUG and self.margin is not None:
            out.add(self.margin.where)
        for n in self.nonfinite:
            out |= set(n.variables) | ({"loss"} if n.loss_step is not None else set())
        return out

    @property
    def headline(self) -> str:
        """The report's first line: the verdict, and where it was decided."""
        head = f"parity: {self.candidate} against {self.reference}: {self.verdict.upper()}"
        return f"{head}: {self.summary}" if self.summary else head

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

    lines = [report.headline]
    lines += [f"  - {r}" for r in report.reasons]
    lines += [f"  note: {n}" for n in report.notes]
    lines.append("")
    if report.variable_mismatches:
        lines.append("variables (every mismatch):")
        rows = [[m.kind, m.name, m.reference, m.candidate] for m in report.variable_mismatches]
        lines.append(
            tabulate(rows, headers=["mismatch", "variable", report.reference, report.candidate], disable_numparse=True)
        )
        return "\n".join(lines)
    lines.append(
        f"variables: {len(report.variables)} on both sides, "
        + ("same names, " if report.matched_by == "names" else "paired by creation order (see the note), same ")
        + "shapes and dtypes: "
        + ", ".join(f"{v.name} {v.shape} {v.dtype}" for v in report.variables)
    )
    if report.start:
        lines.append(f"start: both sides from {report.start}")
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
        margin = f"; {f.margin.describe()}" if f.margin and f.worst.abs_diff > 0 else ""
        lines.append(
            f"forward pass ({f.inputs} rows, weights: {f.weights}): {state}, max |diff| {f.worst.abs_diff:.3g}"
            f"{margin} (tolerance {report.tolerance})" + ("" if f.ok else f"\n  {f.worst.describe()}")
        )
        if f.bound:
            lines.append(f"  rounding bound: {f.bound}")
        if f.probed:
            lines.append(f"  constant tensors given a seeded N(0, 1) draw so that a missing one shows: {f.probed}")
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
            lines.append(f"rounding spread: {g.describe()}")
        if e and e.margin:
            lines.append(f"  margin: {e.margin.describe()} (above 1x: a bug), envelope K = {e.factor:g}")
        lines.append(_trajectory_table(report))
        lines.append(
            "  (step k: the weights after k updates and the loss of batch k at them; D(k): the candidate's largest"
            " weight difference; S(k): the largest between two runs of the rounding family; envelopes: K times"
            " those, the loss's plus its own rounding)"
            if g
            else "  (step k: the weights after k updates, and the loss of batch k at those weights)"
        )
    for name, m in report.metrics.items():
        twin = f", farthest twin {m.twin:.6g}" if m.twin is not None else ""
        lines.append(
            f"{name}: {report.reference} {m.reference:.6g}, {report.candidate} {m.candidate:.6g}{twin}, "
            f"|diff| {m.diff:.3g} " + ("<=" if m.ok else ">") + f" {m.atol:g}"
        )
    lines += [f"non-finite: {n.describe()}" for n in report.nonfinite]
    return "\n".join(lines)


def _trajectory_table(report: ParityReport) -> str:
    """Sampled steps: losses, D(k), and with twins S(k) and both envelopes. The steps that decided the
    verdict (first beyond tolerance, first above the envelope, the largest margin) are always among them."""
    from tabulate import tabulate

    t, g, e = report.trajectory, report.growth, report.envelope
    decisive = [t.first_divergence, e.first_crossing if e else None, report.margin]
    extra = [d.step for d in decisive if d is not None and d.step is not None]
    spread = dict(zip(g.weight_steps, g.weight_divergence)) if g else {}
    envelope = dict(zip([k for k in t.weight_steps if k in spread], e.weight_envelope)) if e else {}
    rows = []
    for k in sample_steps(t.weight_steps, extra):
        losses = ["", "", "", ""]
        if k < t.steps:
            loss_env = f"{e.loss_envelope[k]:.3g}" if e else ""
            losses = [f"{t.reference_losses[k]:.7g}", f"{t.candidate_losses[k]:.7g}", f"{t.loss_divergence[k]:.3g}"]
            losses.append(loss_env)
        d = t.weight_divergence[t.weight_steps.index(k)]
        twins = [f"{spread[k]:.3g}" if k in spread else "", f"{envelope[k]:.3g}" if k in envelope else ""]
        rows.append([k, *losses, f"{d:.3g}", *twins])
    headers = ["step", f"loss {report.reference}", f"loss {report.candidate}", "|dloss|", "loss envelope"]
    headers += ["max |dw| D(k)", "S(k)", "envelope K*S(k)"]
    if not g:
        rows, headers = [r[:4] + r[5:6] for r in rows], headers[:4] + headers[5:6]
    elif not e:
        rows, headers = [r[:4] + r[5:7] for r in rows], headers[:4] + headers[5:7]
    return tabulate(rows, headers=headers, disable_numparse=True)
