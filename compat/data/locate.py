"""Where data is found: the path given, environment variables, system folders; and what to say when it is not.

The folder or file comes from the `path` argument, else from an environment variable
(`TFPARITY_MNIST_DIR`, `TFPARITY_FASHION_MNIST_DIR`, `TFPARITY_BIRTH_LIFE_DIR`, `TFPARITY_PIMA_DIR`,
or `TFPARITY_DATA_DIR` holding `mnist/`, `fashion-mnist/`, `birth_life/` and `pima/`, or the
dataset's folder itself), else from the places a system package installs it. A variable that is
set is used, or it is an error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tfparity.compat.data.errors import DataNotFoundError, path_kind
from tfparity.compat.data.idx import IDX_FILES, IDX_NAMES, idx_file
from tfparity.compat.data.tables import TABLE_FILES

DATASETS = ("mnist", "fashion_mnist", "birth_life", "pima")
ENV_VARS = {
    "mnist": "TFPARITY_MNIST_DIR",
    "fashion_mnist": "TFPARITY_FASHION_MNIST_DIR",
    "birth_life": "TFPARITY_BIRTH_LIFE_DIR",
    "pima": "TFPARITY_PIMA_DIR",
}
ROOT_ENV_VAR = "TFPARITY_DATA_DIR"
ROOT_SUBDIRS = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
    "birth_life": ("birth_life",),
    "pima": ("pima",),
}
# Where system packages put the IDX files (Debian: `apt install dataset-fashion-mnist`).
SYSTEM_DIRS = {"mnist": (), "fashion_mnist": ("/usr/share/datasets/fashion-mnist",), "birth_life": (), "pima": ()}


def _files(dataset: str) -> str:
    """What the dataset's folder holds, for messages: 'the four IDX files', or the table's file name."""
    return TABLE_FILES.get(dataset, "the four IDX files")


def not_found_message(dataset: str, cause: str = "") -> str:
    """One line: no local data and no download, and the ways to point tfparity at a copy."""
    env, table = ENV_VARS[dataset], TABLE_FILES.get(dataset)
    if table:
        folder, where = f"the folder holding {table}", f"copy the official {table} to ~/.keras/datasets/"
    else:
        folder = "the folder of the four IDX files"
        where = (
            "copy a Keras mnist.npz to ~/.keras/datasets/mnist.npz"
            if dataset == "mnist"
            else "apt-get install dataset-fashion-mnist"
        )
    return (
        f"no local {dataset} data was found and the Keras download failed"
        + (f" ({cause})" if cause else "")
        + f"; pass --data-dir DIR ({folder}), set {env}=DIR or "
        f"{ROOT_ENV_VAR}=ROOT (with ROOT/{ROOT_SUBDIRS[dataset][0]}/), or {where}"
    )


def resolve_data_path(dataset: str = "mnist", path: str | os.PathLike | None = None) -> Path | None:
    """Where local data for `dataset` lives: the argument, the environment, system folders, or None.

    An environment variable that is set must lead to the data, or DataNotFoundError names it:
    falling back to a download would quietly train on another copy.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    if path is not None:
        return Path(path)
    found = _from_dataset_variable(dataset) or _from_root_variable(dataset)
    if found is not None:
        return found
    for folder in SYSTEM_DIRS[dataset]:
        if path_kind(Path(folder)) == "folder":
            return Path(folder)
    if os.environ.get(ROOT_ENV_VAR):  # a root without this data set, and nothing installed
        sub = ROOT_SUBDIRS[dataset][0]
        raise DataNotFoundError(
            f"{ROOT_ENV_VAR}={os.environ[ROOT_ENV_VAR]} holds no {sub}/ folder (nor {_files(dataset)}); "
            f"add it, set {ENV_VARS[dataset]}=DIR, or unset {ROOT_ENV_VAR} to let Keras download {dataset}"
        )
    return None


def _holds_data(dataset: str, folder: Path) -> bool:
    """True when `folder` holds the table's file, or any of the four IDX files, gzip-compressed or not."""
    if dataset in TABLE_FILES:
        return path_kind(folder / TABLE_FILES[dataset]) == "file"
    return any(idx_file(folder, stem) for stem in IDX_FILES.values())


def _from_dataset_variable(dataset: str) -> Path | None:
    """$TFPARITY_MNIST_DIR (or ..._FASHION_MNIST_DIR, ...): the dataset's folder or file, when set."""
    var, value = ENV_VARS[dataset], os.environ.get(ENV_VARS[dataset])
    if not value:
        return None
    where, kind = Path(value), path_kind(Path(value))
    table = TABLE_FILES.get(dataset)
    if kind is None:
        raise DataNotFoundError(
            f"{var}={value}: no such file or folder; point it at the folder holding "
            + (f"{table} (or the file itself)" if table else "the four IDX files (or a Keras .npz)")
            + ", or unset it"
        )
    if kind == "folder" and not _holds_data(dataset, where):
        raise DataNotFoundError(
            f"{var}={value} holds no {table}; point it at the folder that holds it, or unset it"
            if table
            else f"{var}={value} holds none of the four IDX files ({IDX_NAMES}); "
            "point it at the folder that holds them, or unset it"
        )
    return where


def _from_root_variable(dataset: str) -> Path | None:
    """$TFPARITY_DATA_DIR/mnist/ (or fashion-mnist/, ...), or the folder itself when it holds the data."""
    value = os.environ.get(ROOT_ENV_VAR)
    if not value:
        return None
    root, sub = Path(value), ROOT_SUBDIRS[dataset][0]
    if path_kind(root) != "folder":
        raise DataNotFoundError(
            f"{ROOT_ENV_VAR}={value}: no such folder; point it at the folder holding {sub}/ "
            f"(or at {sub}/ itself), or unset it"
        )
    for name in ROOT_SUBDIRS[dataset]:
        if path_kind(root / name) == "folder":
            return root / name
    # The data set's own folder (its files, no subfolder) is used unless it is named as another data set's.
    others = {name for other, names in ROOT_SUBDIRS.items() if other != dataset for name in names}
    return root if root.name not in others and _holds_data(dataset, root) else None
