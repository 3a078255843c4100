"""Reading a checkpoint of either era, or a Keras weights file, into named entries: what is in it, and its values.

Three formats: a TF1 `Saver` checkpoint (keys are variable names, `W/Adam` slots beside them), a
TF2 `tf.train.Checkpoint` (keys are object paths ending in `/.ATTRIBUTES/VARIABLE_VALUE`), and a
Keras 3 `.weights.h5` (HDF5 groups `layers/<layer>/vars/<i>`, `optimizer/vars/<i>`). A checkpoint
is given as its prefix (`model.ckpt-1000`), any of its files, or its folder (the newest one that
the folder's `checkpoint` file names). Every value is read when it is opened, so that a missing
shard, a data file cut short or a damaged index is a `CheckpointError` naming the file, before
anything is converted or written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
# TF1 optimizer slots: the suffix tf.compat.v1.train gives a slot variable -> what the slot holds
TF1_SLOTS = {
    "Adam": "adam_m",
    "Adam_1": "adam_v",
    "RMSProp": "rmsprop_ms",
    "RMSProp_1": "rmsprop_momentum",
    "Momentum": "momentum",
    "Adagrad": "adagrad",
}
TF1_OPTIMIZER_SCALARS = re.compile(r"^beta[12]_power(_\d+)?$")  # AdamOptimizer's beta^t accumulators
STEP_NAMES = ("global_step",)
KERAS_SLOT_SUFFIXES = {"_momentum": "adam_m", "_velocity": "adam_v"}  # Keras 3 Adam's names for them


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class Entry:
    """One saved tensor: its key in the file, the variable name it stands for, and what it is."""

    key: str
    name: str  # TF1 name, or the TF2 object path / Keras layer path without its file decoration
    shape: tuple[int, ...]
    dtype: str
    role: str  # "variable", "slot" (an optimizer's per-variable state), "optimizer", "step", "internal"
    slot_of: str = ""  # a slot's variable
    slot: str = ""  # a slot's kind: adam_m, adam_v, rmsprop_ms, ...


@dataclass
class Checkpoint:
    """A checkpoint's entries, in the file's order, and their values (read in full when opened)."""

    path: Path  # the prefix (TF1, TF2) or the .weights.h5 file
    format: str  # "tf1", "tf2" or "keras"
    entries: list[Entry]
    values: dict[str, np.ndarray] = field(repr=False)
    optimizer_state: object = None  # a Keras or TF2 source's optimizer state, once read (convert.read_optimizer_state)

    def variables(self) -> list[Entry]:
        return [e for e in self.entries if e.role == "variable"]

    def value(self, entry: Entry) -> np.ndarray:
        return self.values[entry.key]


def open_checkpoint(path: str | Path) -> Checkpoint:
    """The checkpoint at `path` (prefix, file or folder), every value read; CheckpointError when it cannot be."""
    given = Path(path)
    if given.suffix == ".h5" or given.name.endswith(".weights.h5"):
        return _open_keras(given)
    prefix = checkpoint_prefix(given)
    shards = _check_files(prefix)
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
        values = {key: np.asarray(reader.get_tensor(key)) for key in sorted(shapes)}
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError, OSError) as exc:  # IndexError: data cut short
        where = ", ".join(str(s) for s in [prefix.with_name(prefix.name + ".index"), *shards])
        raise CheckpointError(f"{where}: not a readable checkpoint ({_first_line(exc)}); is it complete?") from exc
    tf2 = OBJECT_GRAPH in shapes
    if not tf2:
        return Checkpoint(prefix, "tf1", _tf1_entries(shapes, dtypes), values)
    entries = [
        _tf2_entry(key, tuple(shapes[key]), dtypes[key].name)
        if tf2
        else _tf1_entry(key, tuple(shapes[key]), dtypes[key].name)
        for key in sorted(shapes)
    ]
    return Checkpoint(prefix, "tf2" if tf2 else "tf1", entries, values)


def checkpoint_prefix(path: Path) -> Path:
    """`model.ckpt-10` from the prefix itself, any of its files, or a folder holding a `checkpoint` state file."""
    if path.is_dir():
        return _newest_in(path)
    for suffix in (".index", ".meta"):
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    match = re.match(r"^(.*)\.data-\d{5}-of-\d{5}$", path.name)
    if match:
        return path.with_name(match.group(1))
    return path


def _newest_in(folder: Path) -> Path:
    import tensorflow as tf

    newest = tf.train.latest_checkpoint(str(folder))
    if newest is not None:
        return Path(newest)
    indexes = sorted(folder.glob("*.index"))
    if len(indexes) == 1:
        return indexes[0].with_name(indexes[0].name[: -len(".index")])
    what = "no checkpoint (no 'checkpoint' file, no .index)" if not indexes else f"{len(indexes)} checkpoints"
    raise CheckpointError(f"{folder}: {what}; give the checkpoint's prefix, e.g. {folder}/model.ckpt-1000")


def _check_files(prefix: Path) -> list[Path]:
    """The data shards of `prefix`, after checking that its index and every shard are there."""
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        if not prefix.parent.is_dir():
            raise CheckpointError(f"{prefix}: no such folder {prefix.parent}; check the path")
        raise CheckpointError(f"{index}: no such file: {prefix} is not a checkpoint prefix (give PREFIX, not PREFIX.*)")
    shards = sorted(prefix.parent.glob(f"{prefix.name}.data-*-of-*"))
    if not shards:
        raise CheckpointError(f"{index}: its data file ({prefix.name}.data-00000-of-NNNNN) is missing; copy it beside")
    total = int(shards[0].name.rsplit("-of-", 1)[1])
    expected = [prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{total:05d}") for i in range(total)]
    missing = [p for p in expected if not p.is_file()]
    if missing:
        raise CheckpointError(f"{missing[0]}: shard missing ({len(missing)} of {total}); copy every data shard beside")
    for shard in [index, *expected]:
        try:
            with open(shard, "rb"):
                pass
        except PermissionError as exc:
            raise CheckpointError(f"{shard}: permission denied; make it readable (chmod a+r)") from exc
    return expected


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _tf1_entries(shapes: dict, dtypes: dict) -> list[Entry]:
    """A TF1 checkpoint's entries; a key `V/NAME` of V's shape where V is saved too and NAME is not a known
    slot is an optimizer slot of a renamed optimizer (`AdamOptimizer(name="opt")` saves `W/opt`, `W/opt_1`)."""
    entries = []
    for key in sorted(shapes):
        entry = _tf1_entry(key, tuple(shapes[key]), dtypes[key].name)
        head, _, tail = key.rpartition("/")
        if entry.role == "variable" and head in shapes and list(shapes[head]) == list(shapes[key]):
            entry = Entry(key, key, entry.shape, entry.dtype, "slot", slot_of=head, slot=f"unknown ({tail})")
        entries.append(entry)
    return entries


def _tf1_entry(key: str, shape: tuple[int, ...], dtype: str) -> Entry:
    head, _, tail = key.rpartition("/")
    if head and tail in TF1_SLOTS:
        return Entry(key, key, shape, dtype, "slot", slot_of=head, slot=TF1_SLOTS[tail])
    if key in STEP_NAMES:
        return Entry(key, key, shape, dtype, "step")
    if TF1_OPTIMIZER_SCALARS.match(key):
        return Entry(key, key, shape, dtype, "optimizer")
    return Entry(key, key, shape, dtype, "variable")


def _tf2_entry(key: str, shape: tuple[int, ...], dtype: str) -> Entry:
    if key == OBJECT_GRAPH or not key.endswith(VALUE_SUFFIX):
        return Entry(key, key, shape, dtype, "internal")
    name = key[: -len(VALUE_SUFFIX)].replace(".S", "/")
    if name.startswith("optimizer/"):
        role = "step" if name.endswith("/_iterations") or name.endswith("/iteration") else "optimizer"
        return Entry(key, name, shape, dtype, role)
    if name.startswith("step") or name.endswith("/step"):
        return Entry(key, name, shape, dtype, "step")
    return Entry(key, name, shape, dtype, "variable")


def _open_keras(path: Path) -> Checkpoint:
    """A Keras 3 `.weights.h5`: each layer's `vars/<i>` (kernel, bias, ...) and the optimizer's `vars/<i>`."""
    import h5py

    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; check the path")
    entries: list[Entry] = []
    values: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:

            def visit(key: str, obj) -> None:
                if isinstance(obj, h5py.Dataset):
                    values[key] = np.asarray(obj[()])
                    entries.append(_keras_entry(key, values[key]))

            f.visititems(visit)
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: not a readable Keras weights file ({_first_line(exc)}); is it complete?"
        ) from exc
    if not entries:
        raise CheckpointError(f"{path}: holds no weights; is it a Keras .weights.h5 of a built model?")
    return Checkpoint(path, "keras", entries, values)


KERAS_VAR_NAMES = ("kernel", "bias")  # a Dense or Conv2D layer's vars/0 and vars/1


def _keras_entry(key: str, value: np.ndarray) -> Entry:
    parts = key.split("/")
    shape, dtype = tuple(value.shape), str(value.dtype)
    if parts[0] == "optimizer":
        role = "step" if parts[-1] == "0" else "optimizer"  # Keras 3 optimizers save `iteration` first
        return Entry(key, key, shape, dtype, role)
    if len(parts) >= 4 and parts[0] == "layers" and parts[-2] == "vars":
        index = int(parts[-1])
        var = KERAS_VAR_NAMES[index] if index < len(KERAS_VAR_NAMES) else f"var_{index}"
        return Entry(key, f"{'/'.join(parts[1:-2])}/{var}", shape, dtype, "variable")
    return Entry(key, key, shape, dtype, "internal")
