"""Pairing the candidate's variables with the reference's, by name or, where names are missing, by order and shape.

TF2 `tf.Variable`s made without `name=` are all called 'Variable' (a TF1 graph calls them
'Variable', 'Variable_1', ...), so names cannot pair them. Both sides list their variables in
creation order, so `match_variables` pairs them in that order within each (shape, dtype)
group, when the two sides hold the same shapes and dtypes. `RenamedSide` then presents the
candidate under the reference's names, so the rest of the check runs unchanged.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tfparity.compat.batches import Batch
from tfparity.compat.parity.sensitivity import rounds_every_step, trains_concurrently
from tfparity.compat.parity.sides import Side
from tfparity.compat.parity.trajectories import Trajectory
from tfparity.compat.parity.variables import Inspection, VariableMismatch, VariableSpec, Weights, compare_variables

_DEFAULT_NAME = re.compile(r"^(Variable|variable)(_\d+)?$")  # what TF (and Keras) call a variable given no name
_FIX = "give each tf.Variable a name= (or pass name_map) to match by name"
_RECREATED = "create each variable once (in __init__ or build()), not on every call"


@dataclass
class VariableMatch:
    """How the candidate's variables pair with the reference's.

    `mapping`: candidate name -> reference name (empty when they could not be paired).
    `mismatches`: what still differs (empty when matched). `hint`: what to do ("" when matched by name).
    """

    mapping: dict[str, str]
    how: Literal["names", "order and shape"]
    mismatches: list[VariableMismatch]
    hint: str
    reference: list[VariableSpec] = field(default_factory=list, repr=False)

    @property
    def matched(self) -> bool:
        return not self.mismatches

    def describe_mapping(self) -> list[str]:
        """One line per pair, in the reference's order: 'Variable#2 -> hidden/kernel (784, 256)'."""
        to_candidate = {r: c for c, r in self.mapping.items()}
        return [f"{to_candidate[s.name]} -> {s.name} {s.shape}" for s in self.reference if s.name in to_candidate]


def base_name(name: str) -> str:
    """'Variable#3' -> 'Variable': the name before the '#n' a repeated name is given."""
    return re.sub(r"#\d+$", "", name)


def unnamed(name: str) -> bool:
    """Whether `name` is TF's or Keras' name for a variable given none ('Variable', 'dense/variable_2', ...)."""
    return bool(_DEFAULT_NAME.match(base_name(name).rsplit("/", 1)[-1]))


def _count(n: int, label: str) -> str:
    """'1 candidate variable has', '4 candidate variables have'."""
    return f"{n} {label} variable has" if n == 1 else f"{n} {label} variables have"


def _naming_problems(inspection: Inspection, label: str) -> list[str]:
    """What keeps this side's names from pairing: default names, and names several variables share."""
    names = [v.name for v in inspection.variables]
    repeated = {base_name(n) for n in names if base_name(n) != n} | set(inspection.duplicates)
    problems = []
    default = [base_name(n) for n in names if unnamed(n)]
    if default:
        counts = Counter(default)
        shown = [f"{k} called '{b}'" if k > 1 else f"'{b}'" for b, k in list(counts.items())[:4]]
        more = ", ..." if len(counts) > 4 else ""
        problems.append(f"{_count(len(default), label)} no name of their own ({', '.join(shown)}{more})")
    shared = sorted(b for b in repeated if not unnamed(b))
    if shared:
        n = sum(base_name(x) in shared for x in names)
        problems.append(f"{n} {label} variables share names ({', '.join(repr(b) for b in shared)})")
    return problems


def _spec(v: VariableSpec) -> tuple[tuple[int, ...], str]:
    return tuple(v.shape), v.dtype


def _groups(inspection: Inspection) -> dict[tuple[tuple[int, ...], str], list[str]]:
    """Names by (shape, dtype), each group in creation order."""
    out: dict[tuple[tuple[int, ...], str], list[str]] = defaultdict(list)
    for v in inspection.variables:
        out[_spec(v)].append(v.name)
    return out


def _by_order_and_shape(reference: Inspection, candidate: Inspection) -> dict[str, str] | None:
    """Candidate name -> reference name: names both sides give one variable of the same shape and dtype
    pair by name; the rest pair the k-th of each (shape, dtype) group. None if the groups differ."""
    ref_specs = {v.name: _spec(v) for v in reference.variables}
    cand_specs = {v.name: _spec(v) for v in candidate.variables}
    named = {
        n: n
        for n in cand_specs
        if n in ref_specs and cand_specs[n] == ref_specs[n] and not unnamed(n) and base_name(n) == n
    }
    rest_ref = Inspection([v for v in reference.variables if v.name not in named.values()], {})
    rest_cand = Inspection([v for v in candidate.variables if v.name not in named], {})
    ref, cand = _groups(rest_ref), _groups(rest_cand)
    if {k: len(v) for k, v in ref.items()} != {k: len(v) for k, v in cand.items()}:
        return None
    pairs = named | {c: r for key, names in cand.items() for c, r in zip(names, ref[key], strict=True)}
    return {v.name: pairs[v.name] for v in candidate.variables}  # in the candidate's creation order


def _in_step(reference: Inspection, candidate: Inspection) -> dict[str, str] | None:
    """Candidate name -> reference name when the i-th variables agree in shape and dtype, and no shared name
    would be paired with another; None otherwise."""
    ref, cand = reference.variables, candidate.variables
    if len(ref) != len(cand) or any(_spec(r) != _spec(c) for r, c in zip(ref, cand, strict=True)):
        return None
    pairs = {c.name: r.name for r, c in zip(ref, cand, strict=True)}
    ref_names = {r.name for r in ref}
    return None if any(c in ref_names and r != c for c, r in pairs.items()) else pairs


def _spec_difference(reference: Inspection, candidate: Inspection) -> str:
    """Which (shape, dtype)s one side has more of than the other."""
    ref = Counter(_spec(v) for v in reference.variables)
    cand = Counter(_spec(v) for v in candidate.variables)

    def listed(counts: Counter) -> str:
        return ", ".join(f"{k}x {shape} {dtype}" for (shape, dtype), k in counts.items()) or "nothing"

    return f"the reference has {listed(ref - cand)} more, the candidate {listed(cand - ref)} more"


def _mismatch_hint(reference: Inspection, candidate: Inspection, problems: list[str]) -> str:
    """What to do when the variables could not be paired (plus, when one is made on every call, that)."""
    kinds = {m.kind for m in compare_variables(reference, candidate)}
    also = f"; {_RECREATED}" if "recreated" in kinds else ""
    if problems:
        return (
            f"{'; '.join(problems)}, and the two sides' shapes and dtypes differ "
            f"({_spec_difference(reference, candidate)}), so they cannot be paired by creation order: "
            f"fix the candidate's variables, then {_FIX}{also}"
        )
    pairs = _in_step(reference, candidate)
    if pairs is not None and kinds & {"missing", "unexpected"}:
        renames = {c: r for c, r in pairs.items() if c != r}
        return (
            "the names differ, but the variables line up in creation order, shape and dtype: pass "
            f"name_map={renames!r} to the candidate's side (check the pairs: they follow creation order only){also}"
        )
    if not kinds & {"count", "missing", "unexpected"}:
        return (
            f"the names match, shapes or dtypes differ (name_map cannot fix that): fix the candidate's variables{also}"
        )
    return (
        "the variables differ in count, shape or dtype, not only in name: fix the candidate's variables; "
        f"name_map (a dict or function on the candidate's side) renames them once they line up{also}"
    )


def match_variables(reference: Inspection, candidate: Inspection) -> VariableMatch:
    """Pair the candidate's variables with the reference's: by name when `compare_variables` finds nothing;
    else, where names are missing or repeated on either side, by creation order within each (shape, dtype)
    group when both sides hold the same ones. A variable made again on every call stays a mismatch."""
    mismatches = compare_variables(reference, candidate)
    recreated = [m for m in mismatches if m.kind == "recreated"]
    if len(recreated) == len(mismatches):
        identity = {v.name: v.name for v in candidate.variables}
        hint = _RECREATED if recreated else ""
        return VariableMatch(identity, "names", recreated, hint, reference.variables)
    problems = _naming_problems(candidate, "candidate") + _naming_problems(reference, "reference")
    mapping = _by_order_and_shape(reference, candidate) if problems else None
    if mapping is not None:
        hint = f"{'; '.join(problems)}: matched by creation order and shape; {_FIX}"
        if recreated:
            hint += f"; {_RECREATED}"
        return VariableMatch(mapping, "order and shape", recreated, hint, reference.variables)
    return VariableMatch({}, "names", mismatches, _mismatch_hint(reference, candidate, problems), reference.variables)


def _renamed(weights: Weights, names: dict[str, str]) -> Weights:
    return {names.get(n, n): w for n, w in weights.items()}


class RenamedSide:
    """`side` under the reference's names (`mapping`: candidate name -> reference name): weights go in
    and come out keyed by reference names, so the check downstream needs no change."""

    def __init__(self, side: Side, mapping: dict[str, str]):
        self.side, self.mapping = side, dict(mapping)
        self.back = {r: c for c, r in self.mapping.items()}

    @property
    def name(self) -> str:
        return self.side.name

    @property
    def seeding(self) -> str:
        """How `side` seeds a build (for `initial.reproducible_start`'s note)."""
        return getattr(self.side, "seeding", "inspect(seed=...)")

    def inspect(self, sample_inputs: np.ndarray, seed: int | None = None) -> Inspection:
        """`side.inspect` (with `seed` when given), its names translated; repeats the mapping resolved are gone."""
        found = self.side.inspect(sample_inputs) if seed is None else self.side.inspect(sample_inputs, seed=seed)
        specs = [VariableSpec(self.mapping.get(v.name, v.name), v.shape, v.dtype) for v in found.variables]
        left = {base_name(v.name) for v in found.variables if v.name not in self.mapping}
        duplicates = [d for d in found.duplicates if d in left]
        return Inspection(specs, _renamed(found.initial, self.mapping), list(found.recreated), duplicates)

    def forward(self, weights: Weights, inputs: np.ndarray) -> np.ndarray:
        return self.side.forward(_renamed(weights, self.back), inputs)

    @property
    def rounds_every_step(self) -> bool:
        """Whether the wrapped side's `train` takes `rounding_seed`."""
        return rounds_every_step(self.side)

    @property
    def trains_concurrently(self) -> bool:
        """Whether the wrapped side's `train` may run in several threads at once."""
        return trains_concurrently(self.side)

    def train(
        self, weights: Weights, batches: Sequence[Batch], record_every: int = 1, rounding_seed: int | None = None
    ) -> Trajectory:
        """`side.train`, names translated; `rounding_seed` passed on when the side takes it."""
        rounding = {"rounding_seed": rounding_seed} if rounding_seed is not None and self.rounds_every_step else {}
        run = self.side.train(_renamed(weights, self.back), batches, record_every, **rounding)
        return Trajectory(run.losses, {k: _renamed(w, self.mapping) for k, w in run.weights.items()})
