"""Shared by the data-layer tests (tests/test_data*.py, tests/test_cli_compare.py): small IDX files
and folders written on the fly, and a file or folder made unreadable for a block. Not a test module itself.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tfparity.compat.data import IDX_FILES, IMAGE_MAGIC, LABEL_MAGIC


def idx_images(n: int, rows: int = 28, cols: int = 28, magic: int = IMAGE_MAGIC, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=n * rows * cols, dtype=np.uint8)
    return struct.pack(">IIII", magic, n, rows, cols) + pixels.tobytes()


def idx_labels(n: int, magic: int = LABEL_MAGIC) -> bytes:
    return struct.pack(">II", magic, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


def write_folder(
    folder: Path, *, train_images: bytes | None = None, train_labels: bytes | None = None, raw: dict | None = None
) -> Path:
    """A small, valid IDX folder (5 train, 3 test), with any file replaced by `raw[name]` bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        IDX_FILES["train_images"]: train_images if train_images is not None else idx_images(5),
        IDX_FILES["train_labels"]: train_labels if train_labels is not None else idx_labels(5),
        IDX_FILES["test_images"]: idx_images(3, seed=1),
        IDX_FILES["test_labels"]: idx_labels(3),
    }
    for stem, payload in content.items():
        data = (raw or {}).get(stem, gzip.compress(payload))
        (folder / f"{stem}.gz").write_bytes(data)
    return folder


NOBODY = 65534


@contextlib.contextmanager
def public_folder():
    """A temporary folder any user may enter (tmp_path sits in a folder private to its owner)."""
    with tempfile.TemporaryDirectory(prefix="tfparity-perm-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@contextlib.contextmanager
def permission_taken(path: Path):
    """`path` at mode 000 for the block. Root reads through any mode, so as root the block runs
    with the effective uid of nobody (root's own uid stays saved, and comes back after)."""
    mode = path.stat().st_mode
    path.chmod(0)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(NOBODY)
        try:
            os.listdir(path) if path.is_dir() else open(path, "rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("mode 000 does not stop this user (it holds a capability such as CAP_DAC_OVERRIDE)")
        yield
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(mode)
