"""How often compat.parity's default verdict is right: model pairs with planted bugs, checked seed by seed.

For each pair x seed (`verdict_pairs`): one TF1 reference, every applicable variant as a TF2
candidate, one `parity.check_many` call with the check's defaults (only `initial_weights`
given: the experiment measures the defaults). Each candidate's verdict and margin becomes a
row; `verdict_tables` turns the rows into the report (Markdown), `--json` keeps them.

    python -m tfparity.benchmarks.verdict_accuracy [--pairs softmax mlp cnn] [--seeds N]
        [--steps-scale F] [--variants NAME ...] [-o FILE.md] [--json FILE] [--quiet]
    python -m tfparity.benchmarks.verdict_accuracy --rows A.json B.json -o FILE.md   # the report of earlier runs
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

if TYPE_CHECKING:
    from tfparity.benchmarks.verdict_pairs import Experiment

PROG = "python -m tfparity.benchmarks.verdict_accuracy"
PAIR_NAMES = ("softmax", "mlp", "cnn")  # verdict_pairs.PAIRS, named here so that --help needs no TensorFlow


def build_parser() -> argparse.ArgumentParser:
    from tfparity.benchmarks import cli, report_args

    parser = report_args.OneLineParser(
        prog=PROG, description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    report_args.add_pair_arguments(parser, PAIR_NAMES, seeds=10, what="run")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only these variants (default: every one that applies; the names are verdict_pairs.VARIANTS')",
    )
    parser.add_argument(
        "-o", "--output", default=None, metavar="FILE", type=cli.output_file, help="write the Markdown report here"
    )
    parser.add_argument(
        "--json", default=None, metavar="FILE", type=cli.output_file, help="write the per-run rows here"
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        default=None,
        metavar="FILE",
        help="render the report from earlier --json files instead of running (a later file's rows replace "
        "an earlier one's for the same pair; each file's command and date are kept in the header)",
    )
    cli.add_quiet_argument(parser)
    return parser


# --- one pair x seed ----------------------------------------------------------------------


def margin_fields(report: Any) -> dict[str, Any]:
    """The report's margin (ratio, what it is against, step, where), all None until the rule provides one."""
    margin = getattr(report, "margin", None)
    fields = {"ratio": None, "against": None, "step": None, "where": None}
    if margin is not None:
        fields = {key: getattr(margin, key, None) for key in fields}
        ratio = fields["ratio"]
        fields["ratio"] = float(ratio) if ratio is not None and math.isfinite(float(ratio)) else None
    return {f"margin_{key}": value for key, value in fields.items()}


def run_rows(experiment: Experiment) -> list[dict[str, Any]]:
    """One `check_many` call for the pair x seed; a row per candidate.

    `seconds` is the candidate's share of the call: the first candidate's includes the
    reference's training run, the first one that diverges the 1-ulp twin's.
    """
    from tfparity.benchmarks.verdict_pairs import VARIANTS_BY_NAME
    from tfparity.compat import parity

    started: dict[str, float] = {}
    reports = parity.check_many(
        experiment.reference,
        experiment.candidates,
        experiment.batches,
        initial_weights=experiment.initial_weights,
        progress=lambda name: started.setdefault(name, time.perf_counter()),
    )
    ends = [*(started[name] for name in reports), time.perf_counter()][1:]
    rows = []
    for (name, report), end in zip(reports.items(), ends):
        rows.append(
            {
                "pair": experiment.pair,
                "dataset": experiment.dataset,
                "seed": experiment.seed,
                "steps": experiment.steps,
                "batch_size": experiment.batch_size,
                "variant": name,
                "class": VARIANTS_BY_NAME[name].kind,
                "verdict": report.verdict,
                **margin_fields(report),
                "seconds": round(end - started[name], 3),
                "reason": report.reasons[0] if report.reasons else "",
            }
        )
    return rows


def _right(row: dict[str, Any]) -> bool:
    from tfparity.compat import parity

    return (row["verdict"] == parity.BUG) == (row["class"] == "bug")


# --- the whole experiment -------------------------------------------------------------------


def check_variants(pairs: Sequence[str], names: Sequence[str] | None) -> None:
    """--variants names known variants, and at least one that applies to each pair: else one line, exit 2."""
    from tfparity.benchmarks.cli import UsageError
    from tfparity.benchmarks.verdict_pairs import VARIANTS_BY_NAME, variants_for

    if names is None:
        return
    unknown = [n for n in names if n not in VARIANTS_BY_NAME]
    if unknown:
        raise UsageError(f"--variants {' '.join(unknown)}: no such variant; choose from {', '.join(VARIANTS_BY_NAME)}")
    for pair in pairs:
        if not variants_for(pair, names):
            usable = ", ".join(v.name for v in variants_for(pair))
            raise UsageError(f"--variants {' '.join(names)}: none applies to the {pair} pair; add one of {usable}")


def load_data(pairs: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """Each pair's data set, loaded up front: a bad path is an error before any training."""
    from tfparity.benchmarks.verdict_pairs import load_pair_data

    paths = {"mnist": args.mnist_dir, "fashion_mnist": args.fashion_mnist_dir}
    return {pair: load_pair_data(pair, paths) for pair in pairs}


def run_all(
    data: dict[str, Any],
    seeds: int,
    steps_scale: float,
    *,
    variants: Sequence[str] | None = None,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Every pair x seed in turn (each with every applicable variant, or `variants`); a progress line each."""
    from tfparity.benchmarks.progress import Progress
    from tfparity.benchmarks.verdict_pairs import build_experiment, scaled_steps

    rows: list[dict[str, Any]] = []
    with Progress(len(data) * seeds, "verdict accuracy", quiet=quiet) as progress:
        for pair, dataset in data.items():
            steps = scaled_steps(pair, steps_scale)
            for seed in range(seeds):
                new = run_rows(build_experiment(pair, dataset, seed, steps=steps, variants=variants))
                rows += new
                progress.done(f"{pair} seed {seed}: {sum(map(_right, new))} of {len(new)} verdicts right")
    return rows


def header_lines(argv: Sequence[str], prog: str = PROG) -> list[str]:
    """The command (`prog` and `argv`) that made the report, the date, TensorFlow's version and the CPU count."""
    import tensorflow as tf

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Command: `{' '.join([prog, *map(shlex.quote, argv)])}`",
        "",
        f"Date: {now}; TensorFlow {tf.__version__}; {os.cpu_count()} CPUs",
    ]


def read_rows(paths: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of earlier `--json` files, a later file's pairs replacing an earlier one's, and
    header lines naming where each pair's rows came from."""
    from tfparity.benchmarks.cli import UsageError

    by_pair: dict[str, list[dict[str, Any]]] = {}
    source: dict[str, str] = {}
    for path in paths:
        try:
            document = json.loads(Path(path).read_text())
            rows, header = document["rows"], document["header"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"--rows {path}: not a --json file of this command ({exc}); run it with --json FILE"
            ) from exc
        for pair in dict.fromkeys(row["pair"] for row in rows):
            by_pair[pair] = [row for row in rows if row["pair"] == pair]
            source[pair] = " ".join(line for line in header if line)
    ordered = [pair for pair in PAIR_NAMES if pair in by_pair]
    lines = [f"Rows of the {pair} pair from: {source[pair]}" for pair in ordered]
    return [row for pair in ordered for row in by_pair[pair]], lines


def write_reports(
    rows: list[dict[str, Any]],
    argv: Sequence[str],
    data: dict[str, Any],
    args: argparse.Namespace,
    sources: Sequence[str] = (),
) -> None:
    """The Markdown report (to -o, else stdout) and, with --json, the per-run rows."""
    from tfparity.benchmarks import cli, verdict_tables
    from tfparity.benchmarks.verdict_pairs import describe_pairs

    header = header_lines(argv) + [line for source in sources for line in ("", source)]
    if args.json:
        document = {"header": [line for line in header if line], "rows": rows}
        cli.write_output(json.dumps(document, indent=1, allow_nan=False), args.json, quiet=args.quiet)
    report = verdict_tables.render_markdown(rows, header, describe_pairs(data, args.steps_scale))
    cli.write_output(report, args.output, quiet=args.quiet)


def main(argv: Sequence[str] | None = None) -> int:
    from tfparity.benchmarks.cli import UsageError
    from tfparity.compat import DataError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        rows, sources = read_rows(args.rows) if args.rows else (None, [])
        tf_logs.import_tensorflow()  # its start-up lines filtered, before verdict_pairs imports it
        pairs = (
            list(dict.fromkeys(row["pair"] for row in rows)) if rows is not None else list(dict.fromkeys(args.pairs))
        )
        check_variants(pairs, args.variants)
        data = load_data(pairs, args)
    except (UsageError, DataError, ValueError) as exc:  # bad input: one line, before any training
        print(f"verdict_accuracy: error: {exc}", file=sys.stderr)
        return 2
    if rows is None:
        rows = run_all(data, args.seeds, args.steps_scale, variants=args.variants, quiet=args.quiet)
    write_reports(rows, argv, data, args, sources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
