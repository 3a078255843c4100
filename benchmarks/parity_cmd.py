"""`tfparity parity [PATH.py:FACTORY]`: the full `compat.parity` report, for your own pair or for our styles.

With a target (`path/to/file.py:FACTORY` or `package.module:FACTORY`, resolved by
`parity_target`), the factory's candidate is checked against its reference; without one, every
TF2 style against the TF1 graph. Both print the same summary table and full reports.

Exit status: 0 at parity or on a sensitive problem with no bug (--strict: 1 for that), 1 when
a candidate diverges (a bug) or a run goes non-finite (NaN or inf), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from tfparity.benchmarks import cli, config_args, idioms, parity_sides, parity_target
from tfparity.benchmarks.progress import Progress
from tfparity.compat import Datasets, TrainConfig, parity
from tfparity.compat.parity.case import ParityCase

EPILOG = """\
The factory is called with no arguments and returns (reference, candidate), (reference, candidate,
batches) or a compat.parity.case.ParityCase. Without batches of its own, the pair trains on the
data set planned by --batch-size, --steps and --seed, and test accuracy is compared.
exit status: 0 parity or 'sensitive problem, no bug' (1 with --strict); 1 bug or non-finite; 2 bad input
in a checkout: tfparity parity tests/two_layer.py:sides --batch-size 32 --steps 50
our styles: tfparity parity --styles keras_fit --optimizer adam --learning-rate 0.001 --steps 200"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        default=None,
        metavar="PATH.py:FACTORY",
        help="your pair: a factory in a file (path/to/file.py:FACTORY) or module (package.module:FACTORY, "
        "the current folder importable); default: our TF2 styles against the TF1 graph",
    )
    cli.add_data_arguments(parser)
    config_args.add_config_arguments(parser)
    candidates = [n for n in idioms.STYLES if n != idioms.REFERENCE]
    parser.add_argument(
        "--styles",
        nargs="+",
        default=None,
        metavar="STYLE",
        help=f"our candidate styles to check, without a target (default: {candidates})",
    )
    g = parser.add_argument_group("parity options (compat.parity.check_parity; a target's own options win)")
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
        help="train the rounding twins (each side trained again from 1-ulp perturbations): only to judge a "
        "divergence (auto), always, or never (a divergence is then a bug)",
    )
    g.add_argument(
        "--twins",
        type=int,
        default=parity.DEFAULT_TWINS,
        help="twins per side: more measure the rounding spread better, each costs one training",
    )
    g.add_argument(
        "--initial-seed",
        type=int,
        default=0,
        help="seed the check draws initial values under when the reference's initializers are unseeded",
    )
    g.add_argument(
        "--sensitivity-factor", type=float, default=parity.SENSITIVITY_FACTOR, help="K of the sensitivity rule"
    )
    g.add_argument(
        "--record-every",
        type=int,
        default=None,
        help="record weights every N steps (losses: every step); default: every step, or every few where a run's "
        "weights would outgrow 512 MB",
    )
    g.add_argument("--strict", action="store_true", help="exit 1 on 'sensitive problem, no bug' too")
    g.add_argument(
        "--allow-sensitive",
        action="store_true",
        help="exit 0 on 'sensitive problem, no bug': the default now, accepted for older scripts",
    )
    cli.add_output_arguments(parser)
    parser.epilog = EPILOG


def candidates_from_args(names: list[str] | None) -> list[str]:
    chosen = idioms.select_styles(names)
    if names and idioms.REFERENCE in chosen:
        raise ValueError(
            f"{idioms.REFERENCE} is the reference; choose candidates from "
            f"{[n for n in idioms.STYLES if n != idioms.REFERENCE]}"
        )
    return [n for n in chosen if n != idioms.REFERENCE]


TRAINING_FLAGS = {  # what our styles train with; a target's factory builds its own training
    "learning_rate": "--learning-rate",
    "optimizer": "--optimizer",
    "adam_beta1": "--adam-beta1",
    "adam_beta2": "--adam-beta2",
    "adam_epsilon": "--adam-epsilon",
    "rmsprop_rho": "--rmsprop-rho",
    "rmsprop_epsilon": "--rmsprop-epsilon",
    "loss": "--loss",
    "init": "--init",
    "init_stddev": "--init-stddev",
    "init_bias": "--init-bias",
    "dropout_rate": "--dropout-rate",
    "device": "--device",
    "tutorial": "--tutorial",
    "model": "--model",
}


def check_flags(args: argparse.Namespace) -> None:
    """Flags that contradict each other or the target: a UsageError before anything loads."""
    if args.record_every is not None and args.record_every < 1:
        raise cli.UsageError(f"--record-every must be at least 1, got {args.record_every}")
    if args.twins < 0:
        raise cli.UsageError(f"--twins must be 0 or more, got {args.twins}")
    if args.target:
        defaults = cli.build_parser().parse_args(["parity"])
        given = [flag for dest, flag in TRAINING_FLAGS.items() if getattr(args, dest) != getattr(defaults, dest)]
        if given:
            raise cli.UsageError(
                f"{', '.join(given)} set(s) how our styles train; {args.target}'s factory builds its own "
                "training: drop the flag, or set it in the factory"
            )
    if args.strict and args.allow_sensitive:
        raise cli.UsageError("--strict and --allow-sensitive contradict each other: keep one")
    if args.target in idioms.STYLES:
        raise cli.UsageError(f"{args.target} is one of our styles, not a target: check it with --styles {args.target}")
    stray = [n for n in args.styles or [] if ":" in n]  # `--styles eager pair.py:f` swallows the target
    if (args.target and args.styles) or stray:
        raise cli.UsageError(
            f"--styles picks tfparity's own styles; with a target ({args.target or stray[0]}) its factory's pair "
            "is checked: drop --styles, or the target (which goes before the options)"
        )


def check_options(args: argparse.Namespace) -> dict[str, Any]:
    """check_parity's keyword options from the flags."""
    tolerance = parity.Tolerance(args.rtol, args.atol)
    return dict(
        tolerance=tolerance,
        loss_tolerance=parity.Tolerance(
            tolerance.rtol if args.loss_rtol is None else args.loss_rtol,
            tolerance.atol if args.loss_atol is None else args.loss_atol,
        ),
        growth={"auto": "auto", "always": True, "never": False}[args.growth],
        twins=args.twins,
        initial_seed=args.initial_seed,
        sensitivity_factor=args.sensitivity_factor,
        record_every=args.record_every,
        metric_atol=args.metric_atol,
    )


def check(
    data: Datasets, config: TrainConfig, candidates: list[str], args: argparse.Namespace
) -> dict[str, parity.ParityReport]:
    """Our styles against the TF1 graph."""
    with Progress(len(candidates) + 1, "parity", quiet=args.quiet) as progress:
        return parity_sides.check_styles(
            data, config, candidates, progress=lambda name: progress.step(f"training {name}"), **check_options(args)
        )


def check_case(
    case: ParityCase, data: Datasets | None, config: TrainConfig, args: argparse.Namespace
) -> dict[str, parity.ParityReport]:
    """The target's candidate against its reference."""
    with Progress(2, "parity", quiet=args.quiet) as progress:
        step = progress.step
        return parity_target.check_case(case, data, config, check_options(args), lambda n: step(f"training {n}"))


@dataclass
class Heading:
    """What the report says above its table: a title line, JSON fields, and the table's varying headers."""

    title: str
    about: dict[str, Any]
    kind: str  # the first column: "style" or "candidate"
    reference: str
    sides: str  # which metric value is whose: "(TF1 / style)"


def styles_heading(data: Datasets, config: TrainConfig) -> Heading:
    title = (
        f"{config.model} model; {data.name} ({data.source}); {config.optimizer} lr={config.learning_rate:g}, "
        f"loss={config.loss}, init={config.init}, batch={config.batch_size}, steps={config.steps}, seed={config.seed}, "
        f"device={config.device}"
    )
    about = {"target": None, "dataset": data.name, "config": config.to_dict()}
    return Heading(title, about, "style", idioms.REFERENCE, "(TF1 / style)")


def case_heading(target: str, case: ParityCase, data: Datasets | None, config: TrainConfig) -> Heading:
    if data is None:
        batches, source = {"from": "factory"}, "the factory's batches"
    else:
        batches = {"from": data.name, "batch_size": config.batch_size, "steps": config.steps, "seed": config.seed}
        source = f"{data.name} ({data.source}); batch={config.batch_size}, steps={config.steps}, seed={config.seed}"
    title = f"{target}: {case.label} against {case.reference.name}; {source}"
    about = {"target": target, "dataset": None if data is None else data.name, "batches": batches}
    return Heading(title, about, "candidate", case.reference.name, f"({case.reference.name} / candidate)")


def summary_rows(reports: dict[str, parity.ParityReport]) -> list[list[Any]]:
    rows = []
    for r in reports.values():
        t, g = r.trajectory, r.growth
        if t is None or r.nonfinite:  # NaN equals nothing: no divergence figures for a non-finite run
            dw, dloss = ("-", "-") if t is None else ("non-finite", "-")
        else:
            dw, dloss = (
                "bit-identical" if t.bit_identical else f"{t.max_weight_divergence:.3g}",
                f"{t.max_loss_divergence:.3g}",
            )
        growth = "-" if g is None else f"x{g.amplification:.3g} ({'sensitive' if g.sensitive else 'stable'})"
        rows.append([r.candidate, r.verdict, dw, dloss, _decided_cell(r), growth, margin_cell(r), metric_cell(r)])
    return rows


def _decided_cell(report: parity.ParityReport) -> str:
    """Where the verdict was decided: the first step above the envelope for a training bug, else the
    first step beyond tolerance ('none' when there is none)."""
    if report.nonfinite:
        return _nonfinite_cell(report)
    crossing = report.envelope.first_crossing if report.envelope else None
    if crossing is not None:
        return f"step {crossing.step}: {crossing.where} (above the envelope)"
    first = report.trajectory.first_divergence if report.trajectory else None
    if first is None:
        return "none"
    return f"step {first.step}: {first.where}{list(first.index) if first.index else ''}"


def _nonfinite_cell(report: parity.ParityReport) -> str:
    """'step 1: non-finite (tf1_graph, eager)': the first step where a run went NaN or inf."""
    step = min(n.step for n in report.nonfinite)
    return f"step {step}: non-finite ({', '.join(n.run for n in report.nonfinite)})"


def margin_cell(report: parity.ParityReport) -> str:
    """'0.31x envelope (step 40, W)': how near the divergence came to its limit, where it came nearest."""
    return "-" if report.margin is None else report.margin.short()


def metric_cell(report: parity.ParityReport) -> str:
    """Test accuracy as 'reference / candidate'; other metrics by name; '-' without metrics."""
    if "test_accuracy" in report.metrics:
        m = report.metrics["test_accuracy"]
        return f"{m.reference:.4f} / {m.candidate:.4f}"
    return "; ".join(f"{n} {m.reference:.4g} / {m.candidate:.4g}" for n, m in report.metrics.items()) or "-"


def render(reports: dict[str, parity.ParityReport], fmt: str, heading: Heading) -> str:
    if fmt == "json":
        body = heading.about | {"reports": {n: r.to_dict() for n, r in reports.items()}}
        return json.dumps(body, indent=2, allow_nan=False)
    metric = "test acc" if all("test_accuracy" in r.metrics for r in reports.values()) else "metrics"
    headers = [
        heading.kind,
        "verdict",
        f"max |dw| vs {heading.reference}",
        "max |dloss|",
        "decided at",
        "twins' growth",
        "margin",
        f"{metric} {heading.sides}",
    ]
    if fmt == "markdown":  # '|dw|' would split a Markdown cell
        headers = [h.replace("|", "\\|") for h in headers]
    table = tabulate(
        summary_rows(reports),
        headers=headers,
        tablefmt="github" if fmt == "markdown" else "simple",
        disable_numparse=True,
    )
    if fmt == "markdown":
        details = "\n\n".join(f"### {name}\n\n```text\n{report}\n```" for name, report in reports.items())
    else:
        details = "\n\n".join(str(report) for report in reports.values())
    return f"{heading.title}\n\n{table}\n\n{details}"


def run(args: argparse.Namespace) -> int:
    config = config_args.config_from_args(args)
    check_flags(args)
    if args.target:
        case = parity_target.load_case(args.target)  # every failure a UsageError, before data or training
        data = cli.load_data_from_args(args) if case.batches is None else None
        reports = check_case(case, data, config, args)
        heading = case_heading(args.target, case, data, config)
    else:
        candidates = candidates_from_args(args.styles)
        data = cli.load_data_from_args(args)
        reports = check(data, config, candidates, args)
        heading = styles_heading(data, config)
    cli.write_output(render(reports, args.format, heading), args.output, quiet=args.quiet)
    return 0 if all(r.passes(allow_sensitive=not args.strict) for r in reports.values()) else 1
