"""The verdict-accuracy experiment's tables, from its per-run rows: counts, false alarms, detection.

A row is one candidate's verdict in one pair x seed (`verdict_accuracy.run_rows`): at least
`pair`, `variant`, `class` ("correct", "rounding" or "bug"), `verdict` and `margin_ratio`
(None when the report carries no margin). Pure functions of the rows, no TensorFlow.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from tfparity.compat.parity.report import BUG, NONFINITE, PARITY, SENSITIVE

Row = dict[str, Any]
VERDICT_COLUMNS = ((BUG, "BUG"), (SENSITIVE, "SENSITIVE"), (PARITY, "PARITY"), (NONFINITE, "NONFINITE"))
DETECTION_TARGET = 0.95  # a bug caught less often than this is "not told apart from rounding"
Z_ONE_SIDED_95 = 1.6448536269514722  # the normal quantile of a one-sided 95% bound, as the rule of three is
NOT_BUG_CLASSES = ("correct", "rounding")


def upper_bound(hits: int, runs: int) -> float:
    """One-sided 95% upper confidence bound of a rate seen `hits` times in `runs`.

    0 of n: 3/n (the rule of three); otherwise Wilson's score bound, which is 1 at n of n.
    """
    if runs < 1 or not 0 <= hits <= runs:
        raise ValueError(f"need 0 <= hits <= runs and runs >= 1, got {hits} of {runs}")
    if hits == 0:
        return min(1.0, 3.0 / runs)
    p, z2 = hits / runs, Z_ONE_SIDED_95**2
    spread = Z_ONE_SIDED_95 * math.sqrt(p * (1 - p) / runs + z2 / (4 * runs * runs))
    return min(1.0, (p + z2 / (2 * runs) + spread) / (1 + z2 / runs))


@dataclass(frozen=True)
class Rate:
    """`hits` BUG verdicts in `runs` runs, with its share and the share's 95% upper bound."""

    label: str
    runs: int
    hits: int

    @property
    def rate(self) -> float:
        return self.hits / self.runs if self.runs else math.nan

    @property
    def bound(self) -> float:
        return upper_bound(self.hits, self.runs) if self.runs else math.nan


def _bug_rate(label: str, rows: Sequence[Row]) -> Rate:
    return Rate(label, len(rows), sum(r["verdict"] == BUG for r in rows))


def group(rows: Iterable[Row], *keys: str) -> dict[tuple, list[Row]]:
    """Rows by the values of `keys`, in order of first appearance."""
    out: dict[tuple, list[Row]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def false_alarms(rows: Sequence[Row]) -> list[Rate]:
    """BUG among the correct and rounding-only runs: one Rate per pair, then all pairs together."""
    fine = [r for r in rows if r["class"] in NOT_BUG_CLASSES]
    per_pair = [_bug_rate(pair, runs) for (pair,), runs in group(fine, "pair").items()]
    return [*per_pair, _bug_rate("all", fine)]


def detection(rows: Sequence[Row]) -> dict[str, tuple[Rate, list[Rate]]]:
    """For each bug variant: its BUG share over all pairs, and per pair."""
    bugs = [r for r in rows if r["class"] == "bug"]
    return {
        variant: (_bug_rate("all", runs), [_bug_rate(pair, p) for (pair,), p in group(runs, "pair").items()])
        for (variant,), runs in group(bugs, "variant").items()
    }


def not_told_apart(rows: Sequence[Row]) -> dict[str, list[str]]:
    """Bug variant -> the pairs where it is called BUG in fewer than 95% of its runs."""
    return {
        variant: [p.label for p in per_pair if p.rate < DETECTION_TARGET]
        for variant, (_, per_pair) in detection(rows).items()
        if any(p.rate < DETECTION_TARGET for p in per_pair)
    }


def median_margin(rows: Sequence[Row]) -> float | None:
    """The median margin ratio of the runs whose report has one (None: none has)."""
    ratios = [r["margin_ratio"] for r in rows if r.get("margin_ratio") is not None]
    return statistics.median(ratios) if ratios else None


# --- Markdown ---------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}%"


def verdict_table(rows: Sequence[Row]) -> str:
    """Per pair x variant: runs, the count of each verdict, the median margin."""
    body = []
    for (pair, variant), runs in group(rows, "pair", "variant").items():
        counts = [sum(r["verdict"] == v for r in runs) for v, _ in VERDICT_COLUMNS]
        margin = median_margin(runs)
        body.append([pair, variant, runs[0]["class"], len(runs), *counts, "-" if margin is None else f"{margin:.3g}"])
    headers = ["pair", "variant", "class", "runs", *(label for _, label in VERDICT_COLUMNS), "median margin"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def false_alarm_table(rows: Sequence[Row]) -> str:
    body = [[r.label, r.runs, r.hits, _pct(r.rate), _pct(r.bound)] for r in false_alarms(rows)]
    headers = ["pair", "correct + rounding runs", "BUG", "false-alarm rate", "95% upper bound"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def detection_table(rows: Sequence[Row]) -> str:
    flagged = not_told_apart(rows)
    body = []
    for variant, (overall, per_pair) in detection(rows).items():
        pairs = ", ".join(f"{p.label} {_pct(p.rate)}" for p in per_pair)
        note = f"not told apart from rounding on {', '.join(flagged[variant])}" if variant in flagged else ""
        body.append([variant, overall.runs, overall.hits, _pct(overall.rate), pairs, note])
    headers = ["bug", "runs", "BUG", "detection rate", "per pair", "flag"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def summary_line(rows: Sequence[Row]) -> str:
    """One sentence: the false-alarm rate with its bound, and how many bugs reach 95% detection."""
    overall = false_alarms(rows)[-1]
    found = detection(rows)
    caught = sum(1 for variant in found if variant not in not_told_apart(rows))
    alarm = (
        f"{overall.hits} BUG in {overall.runs} correct and rounding-only runs "
        f"({_pct(overall.rate)}, 95% upper bound {_pct(overall.bound)})"
        if overall.runs
        else "no correct or rounding-only runs"
    )
    return f"False alarms: {alarm}. Bugs caught in 95% or more of their runs on every pair: {caught} of {len(found)}."


def render_markdown(rows: Sequence[Row], header: Sequence[str], pairs_table: str) -> str:
    """The report: `header` lines first (command, date, versions), then the summary and the tables."""
    sections = [
        "\n".join(header),
        "# Verdict accuracy of compat.parity's default check",
        pairs_table,
        summary_line(rows),
        "## False alarms (BUG among correct and rounding-only runs)",
        false_alarm_table(rows),
        "## Detection (BUG share among each planted bug's runs)",
        detection_table(rows),
        "## Verdicts per pair and variant",
        verdict_table(rows),
        "Margin: the report's difference / allowed (above 1 is a BUG); '-' where no report carried one.",
    ]
    return "\n\n".join(sections) + "\n"
