"""`load_dataset`: the data found by `locate` (IDX folder, npz, table), else Keras' download; cached per process."""

from __future__ import annotations

import os

from tfparity.compat.data import keras_cache
from tfparity.compat.data.datasets import Datasets
from tfparity.compat.data.errors import DataNotFoundError, path_kind
from tfparity.compat.data.idx import IDX_NAMES, load_idx_folder
from tfparity.compat.data.locate import resolve_data_path
from tfparity.compat.data.npz import load_npz
from tfparity.compat.data.tables import TABLE_FILES, load_table

_CACHE: dict[tuple[str, str, bool], Datasets] = {}


def load_dataset(dataset: str = "mnist", path: str | os.PathLike | None = None, *, verify: bool = True) -> Datasets:
    """Load `dataset` ('mnist', 'fashion_mnist', 'birth_life' or 'pima') from `path`, the environment, or Keras' cache.

    The two tables go to `tables.load_table` (`verify` concerns MNIST's IDX files only). Results are
    cached per process (the arrays are never mutated by the styles), so tests and benchmarks that
    load the same data many times decode it once.
    """
    where = resolve_data_path(dataset, path)
    key = (dataset, str(where) if where is not None else f"keras-cache:{keras_cache.keras_cache_dir()}", verify)
    if key in _CACHE:
        return _CACHE[key]
    kind = None if where is None else path_kind(where)
    if dataset in TABLE_FILES:
        data = load_table(dataset, where)
    elif where is None:
        data = keras_cache.download(dataset)
    elif kind == "file":
        data = load_npz(where, dataset)
    elif kind == "folder":
        data = load_idx_folder(where, dataset, verify=verify)
    else:
        raise DataNotFoundError(
            f"{where}: no such file or folder; give the folder holding {IDX_NAMES} (or a Keras .npz)"
        )
    _CACHE[key] = data
    return data
