"""`tfparity pitfalls [ID...]`: run the pitfall catalogue and print what each experiment measured."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import traceback
from typing import Any

import numpy as np
from tabulate import tabulate

from tfparity.benchmarks import cli
from tfparity.benchmarks.pitfalls import CATALOGUE, DataLoader, Measurement, Pitfall, select
from tfparity.benchmarks.progress import Progress

Outcome = Measurement | BaseException


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="pitfalls to run (default: all; --list shows the ids)")
    parser.add_argument("--list", action="store_true", help="list the ids and titles, run nothing")
    parser.add_argument(
        "--mnist-dir",
        "--data-dir",  # the other commands' name for the same folder
        dest="mnist_dir",
        default=None,
        metavar="PATH",
        help="MNIST folder or .npz, as --data-dir is for the other commands (default: the usual lookup, see --help "
        "of compare)",
    )
    parser.add_argument(
        "--fashion-mnist-dir", default=None, metavar="PATH", help="Fashion-MNIST folder (default: the usual lookup)"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the checksum of known data sets")
    cli.add_output_arguments(parser)


def make_loader(paths: dict[str, str | None], verify: bool = True) -> DataLoader:
    """Loads each data set once, from its path or the usual lookup (compat.load_dataset)."""
    from tfparity.compat import load_dataset

    @functools.cache
    def load(name: str):
        return load_dataset(name, paths.get(name), verify=verify)

    return load


def measure_all(
    pitfalls: list[Pitfall], data: DataLoader, *, quiet: bool = False
) -> list[tuple[Pitfall, Outcome, float]]:
    """Run each experiment; one that raises is kept as its exception (reported, never swallowed)."""
    outcomes = []
    with Progress(len(pitfalls), "pitfalls", quiet=quiet) as progress:
        for pitfall in pitfalls:
            progress.step(pitfall.id)
            t0 = time.perf_counter()
            try:
                outcome: Outcome = pitfall.measure(data)
            except Exception as exc:
                exc.__traceback_text__ = traceback.format_exc()
                outcome = exc
            outcomes.append((pitfall, outcome, time.perf_counter() - t0))
    return outcomes


def verdict(outcome: Outcome) -> str:
    if isinstance(outcome, BaseException):
        return f"ERROR: {type(outcome).__name__}: {outcome}".splitlines()[0]
    text = "yes" if outcome.holds else "NO: " + "; ".join(outcome.failed_checks())
    if outcome.not_measured:
        text += (
            " (not measured here: " + "; ".join(f"{part}: {why}" for part, why in outcome.not_measured.items()) + ")"
        )
    return text


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def code_cell(text: str) -> str:
    return f"`{markdown_cell(text)}`"


SUMMARY_HEADERS = ["id", "pitfall", "measured here", "claim", "holds", "fix"]
DETAIL_HEADERS = ["id", "TF1", "TF2 that looks equivalent", "what differs"]


def summary_rows(outcomes: list[tuple[Pitfall, Outcome, float]], cell=str) -> list[list[str]]:
    rows = []
    for pitfall, outcome, _ in outcomes:
        measured = "" if isinstance(outcome, BaseException) else outcome.effect
        expected = "" if isinstance(outcome, BaseException) else outcome.expected
        rows.append(
            [
                cell(pitfall.id),
                cell(pitfall.title),
                cell(measured),
                cell(expected),
                cell(verdict(outcome)),
                cell(pitfall.fix),
            ]
        )
    return rows


def detail_rows(pitfalls: list[Pitfall]) -> list[list[str]]:
    return [[markdown_cell(p.id), code_cell(p.tf1), code_cell(p.tf2), markdown_cell(p.differs)] for p in pitfalls]


def to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def render(outcomes: list[tuple[Pitfall, Outcome, float]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {
                    "id": p.id,
                    "title": p.title,
                    "tf1": p.tf1,
                    "tf2": p.tf2,
                    "differs": p.differs,
                    "fix": p.fix,
                    "seconds": seconds,
                    **(
                        {"error": verdict(o)}
                        if isinstance(o, BaseException)
                        else {
                            "effect": o.effect,
                            "checks": o.checks,
                            "holds": o.holds,
                            "not_measured": o.not_measured,
                            "numbers": o.numbers,
                        }
                    ),
                }
                for p, o, seconds in outcomes
            ],
            indent=2,
            default=to_json,
        )
    if fmt == "markdown":
        summary = tabulate(
            summary_rows(outcomes, markdown_cell), headers=SUMMARY_HEADERS, tablefmt="github", disable_numparse=True
        )
        details = tabulate(
            detail_rows([p for p, _, _ in outcomes]), headers=DETAIL_HEADERS, tablefmt="github", disable_numparse=True
        )
        note = (
            "_Generated by `tfparity pitfalls --format markdown`; each claim is kept true by tests/test_pitfalls.py. "
            "Timings are the generating machine's: compare the ratios, not the milliseconds._"
        )
        return f"{summary}\n\n{details}\n\n{note}"
    widths = [18, 24, 38, 38, 14, 30]
    return tabulate(
        summary_rows(outcomes),
        headers=SUMMARY_HEADERS,
        tablefmt="grid",
        disable_numparse=True,
        maxcolwidths=widths,
        break_long_words=False,  # wrap between words: `tf.keras.optimizers.Adam(learning_rate=...)` stays whole
    )


def render_list() -> str:
    return tabulate(
        [[p.id, p.title] for p in CATALOGUE], headers=["id", "pitfall"], tablefmt="simple", disable_numparse=True
    )


def run(args: argparse.Namespace) -> int:
    if args.list:
        cli.write_output(render_list(), args.output, quiet=args.quiet)
        return 0
    pitfalls = select(args.ids)
    paths = {"mnist": args.mnist_dir, "fashion_mnist": args.fashion_mnist_dir}
    data = make_loader(paths, verify=not args.no_verify)
    for name in (name for name, path in paths.items() if path):
        data(name)  # a bad path given is an error now (exit 2), not an ERROR row minutes later
    outcomes = measure_all(pitfalls, data, quiet=args.quiet)
    cli.write_output(render(outcomes, args.format), args.output, quiet=args.quiet)
    failed = [(p, o) for p, o, _ in outcomes if isinstance(o, BaseException) or not o.holds]
    for pitfall, outcome in failed:
        detail = getattr(outcome, "__traceback_text__", None) or verdict(outcome)
        print(f"tfparity pitfalls: {pitfall.id}: {detail}", file=sys.stderr)
    return 1 if failed else 0
