"""The data layer: real MNIST loads exactly, every malformed file gets a clear error."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfparity.compat import DataFormatError, DataNotFoundError, load_dataset, make_batch_plan, read_data_sets
from tfparity.compat.data import (
    IDX_FILES,
    IMAGE_MAGIC,
    LABEL_MAGIC,
    DataAccessError,
    DataSet,
    load_idx_folder,
    load_npz,
    read_idx,
)


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


# --- the real data --------------------------------------------------------------------------


def test_real_mnist_shapes_scaling_and_canonical_labels(mnist):
    assert mnist.train.images.shape == (60000, 784) and mnist.test.images.shape == (10000, 784)
    assert mnist.train.images.dtype == np.float32
    assert 0.0 == mnist.train.images.min() and mnist.train.images.max() == 1.0
    # Known facts of the canonical files (PROVENANCE.md): first labels and the pixel mean.
    assert list(mnist.train.labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(mnist.test.labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert (
        abs(float(mnist.train.images.mean(dtype=np.float64)) - 0.1306604762738429) < 1e-7
    )  # float32 x (1/255), as TF1 scaled


def test_one_hot_view(mnist):
    oh = mnist.train.one_hot
    assert oh.shape == (60000, 10) and oh.dtype == np.float32
    assert (oh.argmax(1) == mnist.train.labels).all() and (oh.sum(1) == 1).all()


def test_fashion_mnist_loads_the_same_way(fashion_mnist):
    assert fashion_mnist.train.images.shape == (60000, 784) and fashion_mnist.test.labels.shape == (10000,)
    assert np.bincount(fashion_mnist.train.labels).tolist() == [6000] * 10


def test_environment_variable_and_root_layout(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "root" / "mnist")
    monkeypatch.delenv("TFPARITY_MNIST_DIR", raising=False)
    monkeypatch.setenv("TFPARITY_DATA_DIR", str(tmp_path / "root"))
    assert load_dataset("mnist").source == str(folder)
    other = write_folder(tmp_path / "direct")
    monkeypatch.setenv("TFPARITY_MNIST_DIR", str(other))
    assert load_dataset("mnist").source == str(other)  # the specific variable wins


def test_uncompressed_idx_files_load(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    for stem, payload in {
        IDX_FILES["train_images"]: idx_images(5),
        IDX_FILES["train_labels"]: idx_labels(5),
        IDX_FILES["test_images"]: idx_images(3),
        IDX_FILES["test_labels"]: idx_labels(3),
    }.items():
        (folder / stem).write_bytes(payload)
    data = load_idx_folder(folder)
    assert data.train.num_examples == 5 and data.test.num_examples == 3


def test_keras_npz_loads_and_matches_idx(mnist, tmp_path):
    path = tmp_path / "mnist.npz"
    to_u8 = lambda x: np.round(x * 255).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    np.savez(
        path,
        x_train=to_u8(mnist.train.images[:100]),
        y_train=mnist.train.labels[:100].astype(np.uint8),
        x_test=to_u8(mnist.test.images[:50]),
        y_test=mnist.test.labels[:50].astype(np.uint8),
    )
    data = load_npz(path)
    np.testing.assert_array_equal(data.train.images, mnist.train.images[:100])
    np.testing.assert_array_equal(data.test.labels, mnist.test.labels[:50])


def test_checksum_catches_a_modified_copy_of_mnist(mnist, tmp_path):
    # A structurally perfect MNIST with one label changed: only the checksum can tell.
    src = Path(mnist.source)
    folder = tmp_path / "modified"
    shutil.copytree(src, folder)
    labels = bytearray(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[8] = (labels[8] + 1) % 10
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(
        DataFormatError, match=r"t10k-labels-idx1-ubyte\.gz.*differs from the official mnist.*--no-verify"
    ):
        load_idx_folder(folder, "mnist")
    assert load_idx_folder(folder, "mnist", verify=False).test.labels[0] == (7 + 1) % 10


# --- every malformed input names the file and the fix ---------------------------------------


def test_wrong_magic_number(tmp_path):
    folder = write_folder(tmp_path, train_images=idx_images(5, magic=LABEL_MAGIC))
    with pytest.raises(
        DataFormatError,
        match=r"train-images-idx3-ubyte\.gz: wrong magic number 0x00000801, expected 0x00000803.*check the file names",
    ):
        load_idx_folder(folder)


def test_truncated_file(tmp_path):
    folder = write_folder(tmp_path, train_images=idx_images(5)[:-100])
    with pytest.raises(
        DataFormatError,
        match=r"train-images-idx3-ubyte\.gz: truncated: the header promises 5 images.*download it again",
    ):
        load_idx_folder(folder)


def test_truncated_gzip_stream(tmp_path):
    damaged = gzip.compress(idx_images(5))[:-30]
    folder = write_folder(tmp_path, raw={IDX_FILES["train_images"]: damaged})
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte\.gz: the gzip stream is damaged or cut short"):
        load_idx_folder(folder)


def test_image_and_label_counts_disagree(tmp_path):
    folder = write_folder(tmp_path, train_labels=idx_labels(4))
    with pytest.raises(
        DataFormatError,
        match=r"train-images-idx3-ubyte\.gz holds 5 images but .*train-labels-idx1-ubyte\.gz holds 4 labels",
    ):
        load_idx_folder(folder)


def test_wrong_image_size(tmp_path):
    folder = write_folder(tmp_path, train_images=idx_images(5, rows=32, cols=32))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte\.gz: images are 32x32, expected 28x28"):
        load_idx_folder(folder)


def test_not_gzip(tmp_path):
    folder = write_folder(tmp_path, raw={IDX_FILES["test_labels"]: b"<html>404 Not Found</html>"})
    with pytest.raises(DataFormatError, match=r"t10k-labels-idx1-ubyte\.gz: not a gzip file.*re-download"):
        load_idx_folder(folder)


def test_missing_file_names_the_folder_and_the_four_files(tmp_path):
    folder = write_folder(tmp_path)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match=r"no t10k-images-idx3-ubyte\.gz .*must hold the four IDX files"):
        load_idx_folder(folder)


def test_bad_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataFormatError, match=r"mnist\.npz: missing arrays \['x_test', 'y_test', 'y_train'\]"):
        load_npz(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match=r"mnist\.npz: not a readable \.npz"):
        load_npz(path)


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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=64), gz=st.booleans())
def test_fuzzed_files_raise_only_data_format_error(tmp_path, payload, gz):
    path = tmp_path / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(payload) if gz else payload)
    for magic in (IMAGE_MAGIC, LABEL_MAGIC):
        try:
            array = read_idx(path, magic)
        except DataFormatError as exc:
            assert str(path) in str(exc)
        else:  # whatever parses must be a consistent IDX array
            assert array.dtype == np.uint8 and array.shape[0] * (784 if magic == IMAGE_MAGIC else 1) == array.size


def test_a_split_with_no_images_loads_empty(tmp_path):
    folder = write_folder(tmp_path, train_images=idx_images(0), train_labels=idx_labels(0))
    data = load_idx_folder(folder)
    assert data.train.images.shape == (0, 784) and data.test.num_examples == 3


# --- unreadable files and folders: a permission error naming the path and the fix ------------

NOBODY = 65534


@contextlib.contextmanager
def public_folder():
    """A temporary folder any user may enter (tmp_path sits in a folder private to its owner)."""
    with tempfile.TemporaryDirectory(prefix="tfparity-perm-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@pytest.fixture
def public_tmp():
    with public_folder() as folder:
        yield folder


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


def test_unreadable_folder_is_a_permission_error_naming_it(public_tmp):
    folder = write_folder(public_tmp / "mnist")
    with (
        permission_taken(folder),
        pytest.raises(DataAccessError, match=rf"^{folder}: permission denied.*chmod a\+rx {folder}"),
    ):
        load_dataset("mnist", folder)


def test_unreadable_file_is_a_permission_error_naming_it(public_tmp):
    folder = write_folder(public_tmp / "mnist")
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    with (
        permission_taken(labels),
        pytest.raises(DataAccessError, match=rf"^{labels}: permission denied.*chmod a\+r {labels}"),
    ):
        load_dataset("mnist", folder)


def test_unreadable_npz_is_a_permission_error_not_a_damaged_file(public_tmp):
    path = public_tmp / "mnist.npz"
    x = np.zeros((2, 28, 28), np.uint8)
    np.savez(path, x_train=x, y_train=np.array([1, 2]), x_test=x, y_test=np.array([3, 4]))
    with permission_taken(path), pytest.raises(DataAccessError, match=rf"^{path}: permission denied"):
        load_dataset("mnist", path)


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


# --- the batch plan and TF1's reader ----------------------------------------------------------


def test_batch_plan_is_deterministic_and_covers_each_epoch():
    a, b = make_batch_plan(60000, 100, 1200, seed=3), make_batch_plan(60000, 100, 1200, seed=3)
    assert a.fingerprint == b.fingerprint and np.array_equal(a.indices, b.indices)
    assert a.fingerprint != make_batch_plan(60000, 100, 1200, seed=4).fingerprint
    epoch = a.indices[:600].ravel()
    assert np.array_equal(np.sort(epoch), np.arange(60000))  # one full permutation per epoch
    assert not np.array_equal(a.indices[:600], a.indices[600:1200])


def test_batch_plan_straddles_epochs_like_next_batch():
    plan = make_batch_plan(10, 4, 5, seed=0)  # 20 indices = two epochs of 10, batch 3 straddles
    flat = plan.indices.ravel()
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))


def test_batch_plan_rejects_batches_larger_than_the_data():
    with pytest.raises(ValueError, match="batch_size 101 is larger than the 100 examples"):
        make_batch_plan(100, 101, 1, seed=0)


def test_tf1_next_batch_wraps_and_reshuffles():
    images = np.arange(10, dtype=np.float32).reshape(10, 1).repeat(784, 1)
    ds = DataSet(images, np.arange(10), seed=0)
    seen = [ds.next_batch(4)[1] for _ in range(5)]  # 20 examples: two epochs
    first_epoch = np.concatenate(seen)[:10]
    assert sorted(first_epoch) == list(range(10)) and ds.epochs_completed == 1
    assert sorted(np.concatenate(seen)[10:20]) == list(range(10))
    assert (ds.next_batch(4)[0][:, 0] == ds.labels[(ds._index_in_epoch - 4) : ds._index_in_epoch]).all()


def test_read_data_sets_holds_out_5000_for_validation(mnist):
    tutorial = read_data_sets(mnist, one_hot=True, seed=0)
    assert tutorial.train.num_examples == 55000 and tutorial.validation.num_examples == 5000
    assert tutorial.test.num_examples == 10000 and tutorial.train.labels.shape == (55000, 10)
    np.testing.assert_array_equal(tutorial.validation.images, mnist.train.images[:5000])
    xs, ys = tutorial.train.next_batch(100)
    assert xs.shape == (100, 784) and ys.shape == (100, 10)


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
