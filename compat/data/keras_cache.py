"""Keras' download and cache (`~/.keras/datasets/`), checksum-verified: where data comes from when none is local."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from tfparity.compat import tf_logs
from tfparity.compat.data.datasets import Datasets, datasets_from_uint8
from tfparity.compat.data.errors import DataError, DataNotFoundError
from tfparity.compat.data.idx import IDX_FILES, load_idx_folder
from tfparity.compat.data.locate import not_found_message

# Zalando's published md5s of the original .gz files (github.com/zalandoresearch/fashion-mnist).
# Keras' `fashion_mnist.load_data()` downloads without any checksum, so tfparity fetches the
# files itself, through Keras' `get_file` cache, with these.
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_GZ_MD5 = {
    "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
    "test_images": "bef4ecab320f06d8554ea6380940ec79",
    "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
}


def keras_cache_dir() -> Path:
    """Keras' dataset cache: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def download(dataset: str = "mnist") -> Datasets:
    """Download once and cache under `~/.keras/datasets/`, checksum-verified.

    MNIST: Keras' own `mnist.load_data()` (sha256-checked by Keras). Fashion-MNIST: the four
    IDX files through `keras.utils.get_file` with Zalando's md5s.
    """
    try:
        tf_logs.import_tensorflow()  # Keras starts TensorFlow: its start-up lines filtered, as every command's are
        import keras

        # Keras prints "Downloading data from ..." and a progress bar on stdout, where the report goes.
        with contextlib.redirect_stdout(sys.stderr):
            return _download(keras, dataset)
    except DataError:
        raise
    except Exception as exc:  # keras raises bare Exception on URL failures and hash mismatches
        raise DataNotFoundError(not_found_message(dataset, cause=f"{type(exc).__name__}: {exc}")) from exc


def _download(keras: Any, dataset: str) -> Datasets:
    """MNIST through Keras' own loader; Fashion-MNIST's four files through its checksummed cache."""
    if dataset == "mnist":
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return datasets_from_uint8(
            dataset, (x_train, y_train), (x_test, y_test), source=f"keras download cache ({keras_cache_dir()})"
        )
    folder = None
    for part, stem in IDX_FILES.items():
        path = keras.utils.get_file(
            f"{stem}.gz",
            origin=f"{FASHION_MNIST_URL}{stem}.gz",
            file_hash=FASHION_MNIST_GZ_MD5[part],
            cache_subdir=os.path.join("datasets", "fashion-mnist"),
            cache_dir=str(keras_cache_dir().parent),
        )
        folder = Path(path).parent
    data = load_idx_folder(folder, dataset)
    return Datasets(dataset, data.train, data.test, source=f"keras download cache ({folder})")
