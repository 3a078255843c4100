"""Trainable variables under comparison: their names, specs and values, and every mismatch between two sides.

Names are the graph or Keras names without ':0', then each side's `name_map` (a dict or a
function) into the reference's names. Values travel as `Weights`, NumPy arrays by name.
Variables are listed in creation order (`recording_creations`, `in_creation_order`), so a
repeated name's '#2', '#3' always mean the same variable, build after build.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    """Variables by `name_map(variable_name(v))`, in the order given; a repeated name gets '#2', '#3'
    (a 'duplicate' mismatch)."""
    out: dict[str, Any] = {}
    for v in variables:
        base = apply_name_map(variable_name(v), name_map)
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}#{n}"
        out[name] = v
    return out


def duplicate_names(variables: Sequence[Any], name_map: NameMap = None) -> list[str]:
    """The names (after `name_map`) that more than one of `variables` has, sorted."""
    names = [apply_name_map(variable_name(v), name_map) for v in variables]
    return sorted({n for n in names if names.count(n) > 1})


@contextlib.contextmanager
def recording_creations() -> Iterator[list[Any]]:
    """Inside, every `tf.Variable` created (Keras 3 variables create one too) is appended to the list."""
    import tensorflow as tf

    created: list[Any] = []

    def record(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        variable = next_creator(**kwargs)
        created.append(variable)
        return variable

    with tf.variable_creator_scope(record):
        yield created


def in_creation_order(variables: Sequence[Any], created: Sequence[Any]) -> list[Any]:
    """`variables` sorted by their place in `created`; any not there follow, in the order given.

    Needed because `tf.Module.trainable_variables` sorts by attribute name. A Keras 3 variable
    is found through the `tf.Variable` it holds (`_value`: Keras has no public name for it).
    """
    place = {id(c): i for i, c in enumerate(created)}

    def where(v: Any) -> int | None:
        found = place.get(id(v))
        return place.get(id(getattr(v, "_value", None))) if found is None else found

    seen = sorted((i, k) for k, v in enumerate(variables) if (i := where(v)) is not None)
    unseen = [v for v in variables if where(v) is None]
    return [variables[k] for _, k in seen] + unseen


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
