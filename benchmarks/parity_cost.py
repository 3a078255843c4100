"""What the parity check's default costs: its time against training both sides once, pair by pair.

For each pair x seed (`verdict_pairs`, the correct port only): both sides built and trained once
(what a user's own run costs), then fresh sides checked by `parity.check_parity` with its
defaults (the twins, when the run leaves the tolerance). The ratio of the two is the check's
cost; docs/parity.md states it from this report.

    python -m tfparity.benchmarks.parity_cost [--pairs softmax mlp cnn] [--seeds N] [--steps-scale F]
        [-o FILE.md] [--quiet]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

from tfparity.benchmarks import verdict_accuracy  # noqa: E402  (after the line above, by design)

PROG = "python -m tfparity.benchmarks.parity_cost"


def build_parser() -> argparse.ArgumentParser:
    from tfparity.benchmarks import cli, report_args

    parser = report_args.OneLineParser(
        prog=PROG, description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    report_args.add_pair_arguments(parser, verdict_accuracy.PAIR_NAMES, seeds=5, what="time")
    parser.add_argument(
        "-o", "--output", default=None, metavar="FILE", type=cli.output_file, help="write the Markdown report here"
    )
    cli.add_quiet_argument(parser)
    return parser


def measure(pair: str, dataset: Any, seed: int, steps: int) -> dict[str, Any]:
    """One pair x seed: seconds to build and train both sides once, seconds of the default check on fresh
    sides, their ratio, and how many trainings the check ran."""
    from tfparity.benchmarks.verdict_pairs import build_experiment
    from tfparity.compat import parity

    def fresh() -> tuple[Any, Any]:
        experiment = build_experiment(pair, dataset, seed, steps=steps, variants=["correct"])
        return experiment, experiment.candidates["correct"]

    experiment, candidate = fresh()
    start = time.perf_counter()
    experiment.reference.train(experiment.initial_weights, experiment.batches)
    candidate.train(experiment.initial_weights, experiment.batches)
    plain = time.perf_counter() - start
    experiment, candidate = fresh()
    start = time.perf_counter()
    report = parity.check_parity(
        experiment.reference, candidate, experiment.batches, initial_weights=experiment.initial_weights
    )
    check = time.perf_counter() - start
    growth = report.growth
    trainings = 2 + (growth.twins + growth.candidate_twins if growth is not None else 0)
    return {
        "pair": pair,
        "seed": seed,
        "steps": steps,
        "plain_s": plain,
        "check_s": check,
        "ratio": check / plain,
        "trainings": trainings,
        "verdict": report.verdict,
    }


def render_markdown(rows: Sequence[dict[str, Any]], header: Sequence[str]) -> str:
    """The header, a table by pair (medians, and the largest ratio), and one by run."""
    from tabulate import tabulate

    by_pair: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_pair.setdefault(row["pair"], []).append(row)
    summary = [
        [
            pair,
            runs[0]["steps"],
            len(runs),
            f"{statistics.median(r['plain_s'] for r in runs):.2f}",
            f"{statistics.median(r['check_s'] for r in runs):.2f}",
            f"{statistics.median(r['ratio'] for r in runs):.2f}x",
            f"{max(r['ratio'] for r in runs):.2f}x",
            f"{statistics.median(r['trainings'] for r in runs):g}",
        ]
        for pair, runs in by_pair.items()
    ]
    columns = ["pair", "steps", "seeds", "train both, s", "default check, s", "median ratio", "largest", "trainings"]
    detail = [
        [
            r["pair"],
            r["seed"],
            f"{r['plain_s']:.2f}",
            f"{r['check_s']:.2f}",
            f"{r['ratio']:.2f}x",
            r["trainings"],
            r["verdict"],
        ]
        for r in rows
    ]
    return "\n".join(
        [
            "# What the default parity check costs",
            "",
            *header,
            "",
            "Time to build and train both sides once (the correct port and its TF1 reference, fresh), and",
            "the default `parity.check_parity` on fresh sides (medians over the seeds; trainings: both",
            "sides plus every twin the check ran). Wall-clock times on a shared machine vary by 20% or so.",
            "",
            "<!-- parity-cost:begin -->",
            tabulate(summary, columns, tablefmt="github"),
            "",
            "Each run:",
            "",
            tabulate(
                detail,
                ["pair", "seed", "train both, s", "check, s", "ratio", "trainings", "verdict"],
                tablefmt="github",
            ),
            "<!-- parity-cost:end -->",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    from tfparity.benchmarks import cli
    from tfparity.benchmarks.cli import UsageError
    from tfparity.compat import DataError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        tf_logs.import_tensorflow()
        pairs = list(dict.fromkeys(args.pairs))
        data = verdict_accuracy.load_data(pairs, args)
    except (UsageError, DataError, ValueError) as exc:  # bad input: one line, before any training
        print(f"parity_cost: error: {exc}", file=sys.stderr)
        return 2
    from tfparity.benchmarks.progress import Progress
    from tfparity.benchmarks.verdict_pairs import scaled_steps

    rows = []
    with Progress(len(pairs) * args.seeds, "parity cost", quiet=args.quiet) as progress:
        for pair in pairs:
            for seed in range(args.seeds):
                row = measure(pair, data[pair], seed, scaled_steps(pair, args.steps_scale))
                rows.append(row)
                progress.done(f"{pair} seed {seed}: check {row['ratio']:.2f}x the time of training both sides")
    report = render_markdown(rows, verdict_accuracy.header_lines(argv, PROG))
    cli.write_output(report, args.output, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
