"""`ParityCase`: one reference/candidate pair with its batches and check options, as a factory returns it.

`tfparity parity PATH.py:FACTORY` calls the user's factory and reads its return value through
`as_case`, which accepts a `ParityCase`, `(reference, candidate)` or `(reference, candidate,
batches)` and refuses anything else with a TypeError that says what it got.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfparity.compat.batches import Batch
    from tfparity.compat.parity.sides import Side

ACCEPTED = "a ParityCase, (reference, candidate) or (reference, candidate, batches)"
SIDE_METHODS = ("inspect", "forward", "train")
# check_many's own arguments, or the caller's (progress): not options a case can set.
NOT_OPTIONS = frozenset({"reference", "candidates", "batches", "progress"})


@dataclass
class ParityCase:
    """A reference (the TF1 code) and a candidate (its TF2 migration) to check against each other.

    `batches` None: the caller supplies them (the CLI plans them from its data options).
    `options`: keyword options of `check_parity` (tolerance, eval_data, metrics, ...).
    `name`: the report's name; empty means the candidate's own name.
    """

    reference: Side
    candidate: Side
    batches: Sequence[Batch] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def label(self) -> str:
        """The name the report goes by: `name`, or the candidate side's name."""
        return self.name or self.candidate.name


def as_case(value: Any) -> ParityCase:
    """`value` as a ParityCase: a ParityCase, (reference, candidate) or (reference, candidate, batches).

    Raises TypeError naming what `value` is and what is accepted, for anything else (sides
    without the `Side` methods, batches that are no sequence, options `check_parity` lacks).
    """
    if isinstance(value, ParityCase):
        case = value
    elif isinstance(value, (tuple, list)) and len(value) in (2, 3):
        case = ParityCase(*value)
    else:
        raise TypeError(f"expected {ACCEPTED}; got {describe(value)}")
    _check_side(case.reference, "reference")
    _check_side(case.candidate, "candidate")
    _check_batches(case.batches)
    _check_options(case.options)
    if not isinstance(case.name, str):
        raise TypeError(f"a ParityCase's name is a str; got {describe(case.name)}")
    return case


def describe(value: Any) -> str:
    """'None', 'a tuple of 4 items', 'an int (42)': what a value is, for an error message."""
    if value is None:
        return "None"
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    if isinstance(value, (tuple, list)):
        return f"{article} {kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, (int, float, str)):
        return f"{article} {kind} ({value!r:.40})"
    return f"{article} {kind}"


def _check_side(side: Any, role: str) -> None:
    missing = [m for m in SIDE_METHODS if not callable(getattr(side, m, None))]
    if missing or not isinstance(getattr(side, "name", None), str):
        lacks = ", ".join([*missing, *([] if isinstance(getattr(side, "name", None), str) else ["name"])])
        raise TypeError(
            f"the {role} must be a compat.parity side (TF1GraphSide, TF2Side, or any Side); "
            f"got {describe(side)}, which lacks {lacks}"
        )


def _check_batches(batches: Any) -> None:
    if batches is None:
        return
    if not isinstance(batches, Sequence) or isinstance(batches, (str, bytes)):
        raise TypeError(
            f"batches must be a sequence of (inputs, labels) pairs, e.g. compat.parity.planned_batches(...); "
            f"got {describe(batches)}"
        )
    if len(batches) < 1:
        raise TypeError("batches is empty: parity needs at least one (inputs, labels) batch")


def option_names() -> list[str]:
    """The keyword options a case may set: `check_parity`'s."""
    from tfparity.compat.parity import check_many  # at call time: the package may come to export this module

    return [n for n in inspect.signature(check_many).parameters if n not in NOT_OPTIONS]


def _check_options(options: Any) -> None:
    if not isinstance(options, Mapping):
        raise TypeError(f"a ParityCase's options are a dict of check_parity options; got {describe(options)}")
    unknown = sorted(set(options) - set(option_names()))
    if unknown:
        raise TypeError(f"unknown check_parity option(s) {unknown}; choose from {option_names()}")
