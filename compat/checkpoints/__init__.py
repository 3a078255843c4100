"""Checkpoints across the migration: read either era's (and Keras' weights files), pair names, convert, verify.

Modules, one job each: `read` (a checkpoint's entries and values, and what is wrong with a bad
one), `mapping` (which variable goes where), `optimizer_state` (what an optimizer's state means on
the other side), `holders` (a model of either era that a checkpoint is written from or read into),
`convert` (map, assign, write atomically, verify). `tfparity checkpoint` is the command.
"""

from tfparity.compat.checkpoints.convert import (
    Conversion,
    Verification,
    convert,
    load_into,
    read_optimizer_state,
    verify,
    write_atomically,
)
from tfparity.compat.checkpoints.holders import KerasHolder, ModuleHolder, TF1Holder
from tfparity.compat.checkpoints.mapping import MappingError, find_mapping, normalise, read_map_file
from tfparity.compat.checkpoints.read import Checkpoint, CheckpointError, Entry, open_checkpoint

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Conversion",
    "Entry",
    "KerasHolder",
    "MappingError",
    "ModuleHolder",
    "TF1Holder",
    "Verification",
    "convert",
    "find_mapping",
    "load_into",
    "normalise",
    "open_checkpoint",
    "read_map_file",
    "read_optimizer_state",
    "verify",
    "write_atomically",
]
