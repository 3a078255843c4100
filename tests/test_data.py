"""The data layer: real MNIST and Fashion-MNIST load exactly, from every format the loader reads;
the batch plan and TF1's reader.

Malformed and unreadable files are in test_data_errors.py, where data is found (environment
variables, the Keras download cache) in test_data_locate.py.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from data_support import idx_images, idx_labels

from tfparity.compat import DataFormatError, make_batch_plan, read_data_sets
from tfparity.compat.data import IDX_FILES, DataSet, load_idx_folder, load_npz

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
