"""Arguments of the `python -m` report commands (verdict_accuracy, parity_cost, flops): one-line errors.

Like `tfparity`'s own commands, these print one line on a bad flag and exit 2, as their `main`
catches `cli.UsageError`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from tfparity.benchmarks.errors import OneLineParser, UsageError

__all__ = ["OneLineParser", "UsageError", "positive", "add_pair_arguments"]


def positive(convert: type, flag: str, what: str) -> Callable[[str], Any]:
    """argparse type: a finite number above 0, else one line naming the flag, the value and the fix."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or not math.isfinite(value):
            raise UsageError(f"{flag} {text}: give {what} above 0")
        return value

    return parse


def add_pair_arguments(parser: argparse.ArgumentParser, pairs: tuple[str, ...], seeds: int, what: str) -> None:
    """--pairs, --seeds, --steps-scale and the data folders of the verdict experiment's model pairs."""
    parser.add_argument("--pairs", nargs="+", choices=pairs, default=list(pairs), help=f"model pairs to {what}")
    parser.add_argument(
        "--seeds", type=positive(int, "--seeds", "a whole number"), default=seeds, help="seeds per pair: 0 .. N-1"
    )
    parser.add_argument(
        "--steps-scale",
        type=positive(float, "--steps-scale", "a factor"),
        default=1.0,
        metavar="F",
        help="multiply every pair's training steps by F (a quick look: 0.25)",
    )
    parser.add_argument(
        "--mnist-dir", default=None, metavar="PATH", help="MNIST folder or .npz (default: the usual lookup)"
    )
    parser.add_argument(
        "--fashion-mnist-dir",
        default=None,
        metavar="PATH",
        help="Fashion-MNIST folder for the softmax pair (default: the usual lookup; MNIST where none is found)",
    )
