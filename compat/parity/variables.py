"""Trainable variables under comparison: their names, specs and values, and every mismatch between two sides.

Names are the graph or Keras names without ':0', then each side's `name_map` (a dict or a
function) into the reference's names. Values travel as `Weights`, NumPy arrays by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Weights = dict[str, np.ndarray]
NameMap = Mapping[str, str] | Callable[[str], str] | None


@dataclass(frozen=True)
class VariableSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class Inspection:
    """What one fresh build of a side holds: its trainable variables and their initial values.

    `recreated` names variables that a second forward call created again (the guide's step 1:
    a model that makes new variables on every call trains nothing).
    """

    variables: list[VariableSpec]
    initial: Weights
    recreated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VariableMismatch:
    kind: Literal["count", "missing", "unexpected", "shape", "dtype", "duplicate", "recreated"]
    name: str
    reference: str = ""
    candidate: str = ""

    def describe(self) -> str:
        return {
            "count": f"{self.reference} trainable variables in the reference, {self.candidate} in the candidate",
            "missing": f"{self.name}: in the reference, not in the candidate (names after each side's name_map)",
            "unexpected": f"{self.name}: in the candidate ({self.candidate}), not in the reference",
            "shape": f"{self.name}: shape {self.reference} in the reference, {self.candidate} in the candidate",
            "dtype": f"{self.name}: dtype {self.reference} in the reference, {self.candidate} in the candidate",
            "duplicate": f"{self.name}: the candidate has several variables of this name",
            "recreated": f"{self.name}: the candidate creates this variable again on every forward call",
        }[self.kind]


def clean_name(name: str) -> str:
    """'dense/kernel:0' -> 'dense/kernel' (TF1 graph and tf.Variable names end in ':0')."""
    return re.sub(r":\d+$", "", name)


def apply_name_map(name: str, name_map: NameMap) -> str:
    """`name` through a dict or a function; unchanged without one (or without an entry in the dict)."""
    if name_map is None:
        return name
    if callable(name_map):
        return name_map(name)
    return name_map.get(name, name)


def variable_name(variable: Any) -> str:
    """A Keras 3 variable's path ('sequential/dense/kernel'), else a tf.Variable's name without ':0'."""
    return clean_name(getattr(variable, "path", None) or variable.name)


def named_variables(variables: Sequence[Any], name_map: NameMap = None) -> dict[str, Any]:
    """Variables by `name_map(variable_name(v))`; a repeated name gets '#2', '#3' (a 'duplicate' mismatch)."""
    out: dict[str, Any] = {}
    for v in variables:
        base = apply_name_map(variable_name(v), name_map)
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}#{n}"
        out[name] = v
    return out


def assign(variables: Mapping[str, Any], weights: Weights) -> None:
    """Set each TF2 variable to the array of its name."""
    for name, v in variables.items():
        v.assign(weights[name])


def read(variables: Mapping[str, Any]) -> Weights:
    """Each TF2 variable's value, copied into a NumPy array."""
    return {name: np.array(v.numpy()) for name, v in variables.items()}


def compare_variables(reference: Inspection, candidate: Inspection) -> list[VariableMismatch]:
    """Every mismatch between the two sides' trainable variables (names already mapped by each side)."""
    problems: list[VariableMismatch] = []
    if len(reference.variables) != len(candidate.variables):
        problems.append(VariableMismatch("count", "", str(len(reference.variables)), str(len(candidate.variables))))
    problems.extend(VariableMismatch("duplicate", name) for name in candidate.duplicates)
    ref = {v.name: v for v in reference.variables}
    mapped = {v.name: v for v in candidate.variables}
    for name, r in ref.items():
        c = mapped.get(name)
        if c is None:
            problems.append(VariableMismatch("missing", name, str(r.shape)))
            continue
        if tuple(r.shape) != tuple(c.shape):
            problems.append(VariableMismatch("shape", name, str(tuple(r.shape)), str(tuple(c.shape))))
        if r.dtype != c.dtype:
            problems.append(VariableMismatch("dtype", name, r.dtype, c.dtype))
    for name, c in mapped.items():
        if name not in ref:
            problems.append(VariableMismatch("unexpected", name, "", str(c.shape)))
    problems.extend(VariableMismatch("recreated", name) for name in candidate.recreated)
    return problems
