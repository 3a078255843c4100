"""Which saved variable goes into which variable of the target model: found where it can be, given where not.

TF1 names a variable by its scope (`hidden/kernel`) or, unnamed, `Variable`, `Variable_1`, ... in
creation order; Keras 3 by its layer (`dense/kernel`, under the model's own name); a TF2
checkpoint by object path. `find_mapping` pairs the two sides in three passes:

1. the explicit pairs (`--map FILE`, a JSON or YAML object of source name -> target name);
2. by name, after normalising both schemes (model prefixes, `:0`, and `W`/`weights` -> `kernel`,
   `b`/`biases` -> `bias` in the last part);
3. by shape, where one source and one target are left with that shape, or where the sources of
   a shape are TF1's auto-numbered names, which give their creation order, and the target's
   variables are listed in theirs.

Anything left over, two sources on one target, or a shape that differs is a `MappingError` that
names both sides: a conversion never guesses between two candidates.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from tfparity.compat.checkpoints.read import CheckpointError

Shape = tuple[int, ...]
MODEL_PREFIX = re.compile(r"^(sequential|functional|model|module)(_\d+)?/")
KERNEL_NAMES = {"w", "weights", "kernel"}
BIAS_NAMES = {"b", "biases", "bias"}
NUMBER = re.compile(r"_(\d+)(?=/|$)")  # the _N that TF1 and Keras add to a repeated name


class MappingError(CheckpointError):
    """Source and target variables that cannot be paired one to one: both sides named."""


def normalise(name: str) -> str:
    """'sequential_3/dense/kernel:0' -> 'dense/kernel'; a last part W / weights -> kernel, b / biases -> bias."""
    name = name.split(":", 1)[0]
    while MODEL_PREFIX.match(name):
        name = MODEL_PREFIX.sub("", name, count=1)
    head, _, last = name.rpartition("/")
    if last.lower() in KERNEL_NAMES:
        last = "kernel"
    elif last.lower() in BIAS_NAMES:
        last = "bias"
    return f"{head}/{last}" if head else last


def read_map_file(path: str | Path) -> dict[str, str]:
    """A JSON (or, with PyYAML installed, YAML) object of source name -> target name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the map file ({exc.strerror or exc}); check the path") from exc
    try:
        pairs = json.loads(text)
    except json.JSONDecodeError as json_error:
        pairs = _yaml(text, path, json_error)
    if not isinstance(pairs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
        raise MappingError(f"{path}: a map file is one object of source name -> target name, both strings")
    return pairs


def _yaml(text: str, path: Path, json_error: json.JSONDecodeError):
    try:
        import yaml
    except ImportError:
        raise MappingError(
            f"{path}: not JSON (line {json_error.lineno}: {json_error.msg}); write it as JSON, or pip install pyyaml"
        ) from json_error
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: neither JSON nor YAML ({str(exc).splitlines()[0]})") from exc


def find_mapping(
    source: Mapping[str, Shape], target: Mapping[str, Shape], explicit: Mapping[str, str] | None = None
) -> dict[str, str]:
    """source name -> target name for every variable of both sides (each in its creation order)."""
    pairs: dict[str, str] = {}
    for src, tgt in (explicit or {}).items():
        pairs[resolve(src, source, "source", "in the checkpoint")] = resolve(
            tgt, target, "target", "in the target model"
        )
    _by_name(source, target, pairs)
    _by_shape(source, target, pairs)
    check_mapping(source, target, pairs)
    return pairs


def resolve(name: str, side: Mapping[str, Shape], which: str, where: str) -> str:
    """A map file's name on one side: exactly, else the one variable whose normalised name is its normalised name."""
    if name in side:
        return name
    alike = [n for n in side if normalise(n) == normalise(name)]
    if len(alike) != 1:
        raise MappingError(f"map: {which} {name!r} is not {where}; it holds {list(side)}")
    return alike[0]


def _by_name(source: Mapping[str, Shape], target: Mapping[str, Shape], pairs: dict[str, str]) -> None:
    taken = set(pairs.values())
    sources = _unique_by(lambda n: normalise(n), [s for s in source if s not in pairs])
    targets = _unique_by(lambda n: normalise(n), [t for t in target if t not in taken])
    for key, src in sources.items():
        if key in targets and source[src] == target[targets[key]]:
            pairs[src] = targets[key]


def _unique_by(key, names: Sequence[str]) -> dict[str, str]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[key(name)].append(name)
    return {k: v[0] for k, v in groups.items() if len(v) == 1}


def creation_order(names: Sequence[str]) -> list[str] | None:
    """Auto-numbered names that differ only in their numbers (TF1's `Variable`, `Variable_1`, ...; Keras'
    `dense/kernel`, `dense_1/kernel`, ...) in creation order, else None."""
    numbered = [(NUMBER.sub("", name), [int(n) for n in NUMBER.findall(name)]) for name in names]
    if len({stem for stem, _ in numbered}) != 1:
        return None
    width = max(len(numbers) for _, numbers in numbered)
    key = {name: numbers + [0] * (width - len(numbers)) for name, (_, numbers) in zip(names, numbered, strict=True)}
    if len({tuple(k) for k in key.values()}) != len(names):
        return None
    return sorted(names, key=lambda name: key[name])


def _by_shape(source: Mapping[str, Shape], target: Mapping[str, Shape], pairs: dict[str, str]) -> None:
    taken = set(pairs.values())
    left_sources: dict[Shape, list[str]] = defaultdict(list)
    left_targets: dict[Shape, list[str]] = defaultdict(list)
    for name, shape in source.items():
        if name not in pairs:
            left_sources[shape].append(name)
    for name, shape in target.items():
        if name not in taken:
            left_targets[shape].append(name)
    for shape, srcs in left_sources.items():
        tgts = left_targets.get(shape, [])
        if len(srcs) != len(tgts) or not srcs:
            continue  # check_mapping names what is left over
        ordered = srcs if len(srcs) == 1 else creation_order(srcs)
        if ordered is None:
            raise MappingError(
                f"ambiguous: source variables {srcs} and target variables {tgts} all have shape {list(shape)} and "
                "their names do not say which is which; pair them in a --map file"
            )
        pairs.update(zip(ordered, tgts, strict=True))


def check_mapping(source: Mapping[str, Shape], target: Mapping[str, Shape], pairs: Mapping[str, str]) -> None:
    """Every source and every target variable paired once, with equal shapes, or MappingError naming both sides."""
    seen: dict[str, str] = {}
    for src, tgt in pairs.items():
        if tgt in seen:
            raise MappingError(f"two source variables, {seen[tgt]!r} and {src!r}, map to one target {tgt!r}")
        seen[tgt] = src
        if tuple(source[src]) != tuple(target[tgt]):
            raise MappingError(
                f"shape mismatch: source {src!r} {list(source[src])} -> target {tgt!r} {list(target[tgt])}"
            )
    unmapped_sources = [s for s in source if s not in pairs]
    unmapped_targets = [t for t in target if t not in seen]
    if unmapped_sources or unmapped_targets:
        raise MappingError(
            f"unmapped: source {_shapes(source, unmapped_sources)} and target {_shapes(target, unmapped_targets)} "
            "found no partner by name or shape; pair them in a --map file (source name -> target name)"
        )


def _shapes(side: Mapping[str, Shape], names: list[str]) -> str:
    return "[" + ", ".join(f"{n} {list(side[n])}" for n in names) + "]" if names else "none"
