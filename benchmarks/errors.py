"""The error every command raises for bad input, and the argparse that raises it."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """Bad input found before any work starts: one line on stderr, exit status 2.

    Not a ValueError: argparse would turn that, raised by a `type=` function, into its own
    message without ours.
    """


class OneLineParser(argparse.ArgumentParser):
    """argparse whose bad argument raises `UsageError` (one line, naming the command's --help) instead of
    printing its usage text first."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")
