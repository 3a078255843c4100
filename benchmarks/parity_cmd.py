"""`tfparity parity`: the full `compat.parity` report for every TF2 style against the TF1 graph.

Exit status: 0 when every style is at parity (or, with --allow-sensitive, a sensitive problem
with no bug), 1 when any style diverges or a run goes non-finite (NaN or inf), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tabulate import tabulate

from tfparity.benchmarks import cli, idioms, parity_sides
from tfparity.benchmarks.progress import Progress
from tfparity.compat import Datasets, TrainConfig, parity


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_data_arguments(parser)
    cli.add_config_arguments(parser)
    candidates = [n for n in idioms.STYLES if n != idioms.REFERENCE]
    parser.add_argument(
        "--styles", nargs="+", default=None, metavar="STYLE", help=f"candidates to check (default: {candidates})"
    )
    g = parser.add_argument_group("parity options (compat.parity.check_parity)")
    g.add_argument(
        "--rtol",
        type=float,
        default=parity.GUIDE_TOLERANCE.rtol,
        help="weights and outputs (default: the guide's 1e-6)",
    )
    g.add_argument(
        "--atol",
        type=float,
        default=parity.GUIDE_TOLERANCE.atol,
        help="weights and outputs (default: the guide's 1e-5)",
    )
    g.add_argument("--loss-rtol", type=float, default=None, help="per-step losses (default: --rtol)")
    g.add_argument("--loss-atol", type=float, default=None, help="per-step losses (default: --atol)")
    g.add_argument("--metric-atol", type=float, default=1e-3, help="test accuracy after training (default: 0.1 pp)")
    g.add_argument(
        "--growth",
        choices=["auto", "always", "never"],
        default="auto",
        help="run the 1-ulp perturbed reference: only to classify a divergence (auto), always, or never",
    )
    g.add_argument(
        "--sensitivity-factor", type=float, default=parity.SENSITIVITY_FACTOR, help="K of the sensitivity rule"
    )
    g.add_argument("--record-every", type=int, default=1, help="record weights every N steps (losses: every step)")
    g.add_argument("--allow-sensitive", action="store_true", help="exit 0 on 'sensitive problem, no bug'")
    cli.add_output_arguments(parser)


def candidates_from_args(names: list[str] | None) -> list[str]:
    chosen = idioms.select_styles(names)
    if names and idioms.REFERENCE in chosen:
        raise ValueError(
            f"{idioms.REFERENCE} is the reference; choose candidates from "
            f"{[n for n in idioms.STYLES if n != idioms.REFERENCE]}"
        )
    return [n for n in chosen if n != idioms.REFERENCE]


def check(
    data: Datasets, config: TrainConfig, candidates: list[str], args: argparse.Namespace
) -> dict[str, parity.ParityReport]:
    tolerance = parity.Tolerance(args.rtol, args.atol)
    loss_tolerance = parity.Tolerance(
        args.rtol if args.loss_rtol is None else args.loss_rtol, args.atol if args.loss_atol is None else args.loss_atol
    )
    growth = {"auto": "auto", "always": True, "never": False}[args.growth]
    with Progress(len(candidates) + 1, "parity", quiet=args.quiet) as progress:
        return parity_sides.check_styles(
            data,
            config,
            candidates,
            tolerance=tolerance,
            loss_tolerance=loss_tolerance,
            growth=growth,
            sensitivity_factor=args.sensitivity_factor,
            record_every=args.record_every,
            metric_atol=args.metric_atol,
            progress=lambda name: progress.step(f"training {name}"),
        )


def summary_rows(reports: dict[str, parity.ParityReport]) -> list[list[Any]]:
    rows = []
    for name, r in reports.items():
        t, g = r.trajectory, r.growth
        first = t.first_divergence if t else None
        acc = r.metrics.get("test_accuracy")
        if t is None or r.nonfinite:  # NaN equals nothing: no divergence figures for a non-finite run
            dw, dloss = ("-", "-") if t is None else ("non-finite", "-")
        else:
            dw, dloss = (
                "bit-identical" if t.bit_identical else f"{t.max_weight_divergence:.3g}",
                f"{t.max_loss_divergence:.3g}",
            )
        where = (
            _nonfinite_cell(r)
            if r.nonfinite
            else "none"
            if first is None
            else f"step {first.step}: {first.where}{list(first.index) if first.index else ''}"
        )
        rows.append(
            [
                name,
                r.verdict,
                dw,
                dloss,
                where,
                "-" if g is None else f"x{g.amplification:.3g} ({'sensitive' if g.sensitive else 'stable'})",
                "-" if acc is None else f"{acc.reference:.4f} / {acc.candidate:.4f}",
            ]
        )
    return rows


def _nonfinite_cell(report: parity.ParityReport) -> str:
    """'step 1: non-finite (tf1_graph, eager)': the first step where a run went NaN or inf."""
    step = min(n.step for n in report.nonfinite)
    return f"step {step}: non-finite ({', '.join(n.run for n in report.nonfinite)})"


def render(reports: dict[str, parity.ParityReport], fmt: str, data: Datasets, config: TrainConfig) -> str:
    if fmt == "json":
        return json.dumps(
            {"dataset": data.name, "config": config.to_dict(), "reports": {n: r.to_dict() for n, r in reports.items()}},
            indent=2,
            allow_nan=False,
        )
    title = (
        f"{data.name} ({data.source}); {config.optimizer} lr={config.learning_rate:g}, loss={config.loss}, "
        f"init={config.init}, batch={config.batch_size}, steps={config.steps}, seed={config.seed}, "
        f"device={config.device}"
    )
    headers = [
        "style",
        "verdict",
        f"max |dw| vs {idioms.REFERENCE}",
        "max |dloss|",
        "first divergence",
        "1-ulp growth",
        "test acc (TF1 / style)",
    ]
    table = tabulate(
        summary_rows(reports),
        headers=headers,
        tablefmt="github" if fmt == "markdown" else "simple",
        disable_numparse=True,
    )
    if fmt == "markdown":
        details = "\n\n".join(f"### {name}\n\n```text\n{report}\n```" for name, report in reports.items())
        return f"{title}\n\n{table}\n\n{details}"
    details = "\n\n".join(str(report) for report in reports.values())
    return f"{title}\n\n{table}\n\n{details}"


def run(args: argparse.Namespace) -> int:
    config = cli.config_from_args(args)
    candidates = candidates_from_args(args.styles)
    if args.record_every < 1:
        raise ValueError(f"--record-every must be at least 1, got {args.record_every}")
    data = cli.load_data_from_args(args)
    reports = check(data, config, candidates, args)
    cli.write_output(render(reports, args.format, data, config), args.output, quiet=args.quiet)
    return 0 if all(r.passes(args.allow_sensitive) for r in reports.values()) else 1
