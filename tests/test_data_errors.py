"""The data layer's errors: every malformed or unreadable file gets a clear error naming the path
and the fix.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from data_support import idx_images, idx_labels, permission_taken, public_folder, write_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfparity.compat import DataFormatError, DataNotFoundError, load_dataset
from tfparity.compat.data import (
    IDX_FILES,
    IMAGE_MAGIC,
    LABEL_MAGIC,
    DataAccessError,
    load_idx_folder,
    load_npz,
    read_idx,
)

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


@pytest.fixture
def public_tmp():
    with public_folder() as folder:
        yield folder


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
