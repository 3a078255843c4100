"""The npz loader: a Keras-style `mnist.npz`, checked before numpy allocates what it declares."""

from __future__ import annotations

import lzma
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from tfparity.compat.data.datasets import IMAGE_SIDE, Datasets, check_pair, datasets_from_uint8
from tfparity.compat.data.errors import DataError, DataFormatError, unreadable
from tfparity.compat.data.idx import GZIP_MAX_RATIO

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
KERAS_NPZ = "a Keras mnist.npz holds x_train, y_train, x_test, y_test"  # for messages
# A foreign archive fails in zipfile's, zlib's, lzma's or numpy's own ways: each means a damaged file.
_ARCHIVE_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    lzma.LZMAError,
    struct.error,
)


def load_npz(path: str | os.PathLike, dataset: str = "mnist") -> Datasets:
    """Load a Keras-style `mnist.npz` (x_train, y_train, x_test, y_test; uint8 images, integer labels)."""
    path = Path(path)
    arrays = _read_npz(path)
    for split in ("train", "test"):
        _check_npz_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    return datasets_from_uint8(
        dataset, (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]), source=str(path)
    )


def _not_npz(path: Path, exc: BaseException) -> DataFormatError:
    return DataFormatError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {exc}); download it again")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (PermissionError, FileNotFoundError) as exc:
        raise unreadable(path, exc) from exc
    except _ARCHIVE_ERRORS as exc:
        raise _not_npz(path, exc) from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):  # np.load gives a .npy file's array itself
        raise DataFormatError(f"{path}: a single .npy array, not a .npz archive; {KERAS_NPZ}")
    with archive:
        missing = set(NPZ_KEYS) - set(archive.files)
        if missing:
            raise DataFormatError(f"{path}: missing arrays {sorted(missing)}; {KERAS_NPZ}")
        try:
            return {key: _npz_array(archive, key, path) for key in NPZ_KEYS}
        except DataError:
            raise
        except _ARCHIVE_ERRORS as exc:
            raise _not_npz(path, exc) from exc


def _npz_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """One array of an npz. numpy allocates what the zip directory and the .npy header declare
    before it reads: both are checked against what the archive can hold first."""
    info = archive.zip.getinfo(f"{key}.npy" if f"{key}.npy" in archive.zip.namelist() else key)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataFormatError(
            f"{path}: {key} uses zip compression method {info.compress_type}; numpy.savez writes "
            "stored or deflated members, save it again with numpy.savez"
        )
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else GZIP_MAX_RATIO
    most = min(info.compress_size, os.path.getsize(path)) * ratio
    with archive.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
    declared = math.prod(shape) * dtype.itemsize
    if info.file_size > most or declared > info.file_size:
        raise DataFormatError(
            f"{path}: {key} declares {max(declared, info.file_size)} bytes (shape {shape}), more than "
            f"the archive holds; it is damaged, download it again"
        )
    return archive[key]


def _check_npz_split(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """uint8 images (N, 28, 28) and N integer labels 0..9, shaped (N,) or (N, 1), as Keras saves them."""
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFormatError(
            f"{path}: x_{split} is {x.dtype} of shape {x.shape}, expected uint8 pixels of shape "
            "(N, 28, 28) as in Keras' mnist.npz"
        )
    if not np.issubdtype(y.dtype, np.integer) or y.ndim not in (1, 2) or y.shape[1:] not in ((), (1,)):
        raise DataFormatError(
            f"{path}: y_{split} is {y.dtype} of shape {y.shape}, expected integer labels 0..9 "
            "of shape (N,) as in Keras' mnist.npz"
        )
    check_pair(x, y.reshape(-1), path, path)
