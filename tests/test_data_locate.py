"""Where the data layer finds its data: the environment variables (a variable that is set is used,
or it is an error naming it), the Keras download and its cache, and what to do when nothing is found.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from data_support import idx_images, idx_labels, write_folder

from tfparity.compat import DataNotFoundError, load_dataset
from tfparity.compat.data import IDX_FILES

# --- the root layout, and no data anywhere ------------------------------------------------


def test_environment_variable_and_root_layout(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "root" / "mnist")
    monkeypatch.delenv("TFPARITY_MNIST_DIR", raising=False)
    monkeypatch.setenv("TFPARITY_DATA_DIR", str(tmp_path / "root"))
    assert load_dataset("mnist").source == str(folder)
    other = write_folder(tmp_path / "direct")
    monkeypatch.setenv("TFPARITY_MNIST_DIR", str(other))
    assert load_dataset("mnist").source == str(other)  # the specific variable wins


def test_offline_with_no_local_data_says_what_to_do(monkeypatch, tmp_path):
    for var in ("TFPARITY_MNIST_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # an empty cache: Keras must download

    import keras

    def offline(*args, **kwargs):
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- [Errno 101] Network is unreachable"
        )

    monkeypatch.setattr(keras.src.datasets.mnist, "get_file", offline)
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert "Network is unreachable" in message
    assert "--data-dir DIR" in message and "TFPARITY_MNIST_DIR" in message and "~/.keras/datasets/mnist.npz" in message
    assert "\n" not in message  # one line


# --- environment variables: a variable that is set is used, or it is an error naming it -------


@pytest.fixture
def offline(monkeypatch):
    """No variable set, nothing installed, and a Keras download that fails the test if reached:
    online, falling back to it would quietly train on another copy of the data."""

    def download(dataset: str = "mnist"):
        raise AssertionError(f"fell back to the Keras download of {dataset}")

    monkeypatch.setattr("tfparity.compat.data.keras_cache.download", download)
    monkeypatch.setattr("tfparity.compat.data.locate.SYSTEM_DIRS", {"mnist": (), "fashion_mnist": ()})
    for var in ("TFPARITY_MNIST_DIR", "TFPARITY_FASHION_MNIST_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "var, dataset",
    [
        ("TFPARITY_DATA_DIR", "mnist"),
        ("TFPARITY_DATA_DIR", "fashion_mnist"),
        ("TFPARITY_MNIST_DIR", "mnist"),
        ("TFPARITY_FASHION_MNIST_DIR", "fashion_mnist"),
    ],
)
def test_variable_set_to_a_missing_path_is_an_error_naming_it(offline, tmp_path, var, dataset):
    offline.setenv(var, str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match=rf"^{var}={tmp_path / 'nowhere'}: no such .*or unset it"):
        load_dataset(dataset)


def test_data_dir_may_be_the_dataset_folder_itself(offline, tmp_path):
    folder = write_folder(tmp_path / "mnist")
    offline.setenv("TFPARITY_DATA_DIR", str(folder))
    assert load_dataset("mnist").source == str(folder)
    # The same folder is MNIST by its name: Fashion-MNIST is not quietly read from it.
    with pytest.raises(
        DataNotFoundError,
        match=rf"^TFPARITY_DATA_DIR={folder} holds no fashion-mnist/ folder.*TFPARITY_FASHION_MNIST_DIR",
    ):
        load_dataset("fashion_mnist")


def test_data_dir_without_this_dataset_is_an_error_naming_it(offline, tmp_path):
    write_folder(tmp_path / "root" / "mnist")
    offline.setenv("TFPARITY_DATA_DIR", str(tmp_path / "root"))
    with pytest.raises(
        DataNotFoundError, match=r"^TFPARITY_DATA_DIR=.*root holds no fashion-mnist/ folder.*unset TFPARITY_DATA_DIR"
    ):
        load_dataset("fashion_mnist")


def test_dataset_variable_pointing_at_a_folder_without_the_files(offline, tmp_path):
    write_folder(tmp_path / "mnist")  # one level down: the variable names the wrong folder
    offline.setenv("TFPARITY_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=rf"^TFPARITY_MNIST_DIR={tmp_path} holds none of the four IDX files"):
        load_dataset("mnist")


def test_keras_download_chatter_goes_to_stderr(monkeypatch, tmp_path, capsys):
    for var in ("TFPARITY_MNIST_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    import keras

    def chatty_load_data():  # what Keras prints on a first, online run
        print("Downloading data from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
        x = np.zeros((2, 28, 28), np.uint8)
        return (x, np.array([1, 2], np.uint8)), (x[:1], np.array([3], np.uint8))

    monkeypatch.setattr(keras.datasets.mnist, "load_data", chatty_load_data)
    data = load_dataset("mnist")
    out, err = capsys.readouterr()
    assert out == "" and "Downloading data from" in err
    assert data.train.labels.tolist() == [1, 2] and "keras download cache" in data.source


# --- the download-and-cache path (no network here: the cache is seeded, or the fetch fails) ---


def _seed_fashion_cache(tmp_path, monkeypatch, files: dict[str, bytes]) -> Path:
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for stem, payload in files.items():
        (cache / f"{stem}.gz").write_bytes(payload)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for var in ("TFPARITY_FASHION_MNIST_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("tfparity.compat.data.locate.SYSTEM_DIRS", {"mnist": (), "fashion_mnist": ()})
    return cache


def _valid_files() -> dict[str, bytes]:
    return {
        IDX_FILES["train_images"]: gzip.compress(idx_images(5)),
        IDX_FILES["train_labels"]: gzip.compress(idx_labels(5)),
        IDX_FILES["test_images"]: gzip.compress(idx_images(3)),
        IDX_FILES["test_labels"]: gzip.compress(idx_labels(3)),
    }


def test_fashion_download_uses_a_cache_whose_checksums_match(tmp_path, monkeypatch):
    import hashlib

    files = _valid_files()
    cache = _seed_fashion_cache(tmp_path, monkeypatch, files)
    md5 = {part: hashlib.md5(files[stem]).hexdigest() for part, stem in IDX_FILES.items()}
    monkeypatch.setattr("tfparity.compat.data.keras_cache.FASHION_MNIST_GZ_MD5", md5)
    data = load_dataset("fashion_mnist")
    assert data.train.num_examples == 5 and str(cache) in data.source


def test_fashion_download_refuses_a_cache_with_wrong_checksums(tmp_path, monkeypatch):
    # Zalando's real md5s against our small files: Keras must try to re-download, which fails offline.
    _seed_fashion_cache(tmp_path, monkeypatch, _valid_files())
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno 101] Network is unreachable")

    monkeypatch.setattr(keras.src.utils.file_utils.urllib.request, "urlretrieve", offline)
    with pytest.raises(DataNotFoundError, match=r"(?s)fashion_mnist.*dataset-fashion-mnist"):
        load_dataset("fashion_mnist")
