"""TF1's tutorial reader, `input_data.read_data_sets` and its `DataSet.next_batch`, over tfparity's loader."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfparity.compat.data.datasets import Datasets, one_hot
from tfparity.compat.data.idx import IDX_FILES, idx_file
from tfparity.compat.data.load import load_dataset


class DataSet:
    """TF1's `input_data.DataSet`: `next_batch` shuffles each epoch and wraps across epochs.

    Reproduces the tutorial reader's order of operations (shuffle the first epoch, take the
    remainder of an epoch plus the head of the next reshuffled one), with a seeded generator
    in place of NumPy's global state so that runs repeat.
    """

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, *, one_hot_labels: bool = False, seed: int | None = None
    ):
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"images.shape[0]={images.shape[0]} != labels.shape[0]={labels.shape[0]}")
        self._images = images
        self._labels = one_hot(labels) if one_hot_labels else labels
        self._num_examples = images.shape[0]
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._rng = np.random.default_rng(seed)

    images = property(lambda self: self._images)
    labels = property(lambda self: self._labels)
    num_examples = property(lambda self: self._num_examples)
    epochs_completed = property(lambda self: self._epochs_completed)

    def next_batch(self, batch_size: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            rest = self._num_examples - start
            images_rest, labels_rest = self._images[start:], self._labels[start:]
            if shuffle:
                self._shuffle()
            self._index_in_epoch = batch_size - rest
            end = self._index_in_epoch
            return (
                np.concatenate((images_rest, self._images[:end]), axis=0),
                np.concatenate((labels_rest, self._labels[:end]), axis=0),
            )
        self._index_in_epoch += batch_size
        end = self._index_in_epoch
        return self._images[start:end], self._labels[start:end]

    def _shuffle(self) -> None:
        perm = self._rng.permutation(self._num_examples)
        self._images = self._images[perm]
        self._labels = self._labels[perm]


@dataclass(frozen=True)
class TutorialDatasets:
    train: DataSet
    validation: DataSet
    test: DataSet


def read_data_sets(
    data: Datasets | str | os.PathLike, *, one_hot: bool = False, validation_size: int = 5000, seed: int | None = None
) -> TutorialDatasets:
    """TF1's `input_data.read_data_sets`: the first `validation_size` training images are held out.

    TF1 trained on 55,000 images; `keras.datasets.mnist` trains on all 60,000. `data` is loaded
    data, or TF1's own first argument, `train_dir` (`read_data_sets("MNIST_data/", one_hot=True)`:
    what `tfparity upgrade --apply-fixes` leaves in converted tutorial scripts).
    """
    if not isinstance(data, Datasets):
        data = _tutorial_data(Path(data))
    if not 0 <= validation_size <= data.train.num_examples:
        raise ValueError(f"validation_size must be in 0..{data.train.num_examples}, got {validation_size}")
    x, y = data.train.images, data.train.labels
    return TutorialDatasets(
        train=DataSet(x[validation_size:], y[validation_size:], one_hot_labels=one_hot, seed=seed),
        validation=DataSet(x[:validation_size], y[:validation_size], one_hot_labels=one_hot, seed=seed),
        test=DataSet(data.test.images, data.test.labels, one_hot_labels=one_hot, seed=seed),
    )


def _tutorial_data(train_dir: Path) -> Datasets:
    """MNIST from `train_dir` when it holds the four IDX files, else from where tfparity finds it
    (load_dataset's search). TF1's reader downloaded into `train_dir`; this one never writes there."""
    has_files = all(idx_file(train_dir, stem) for stem in IDX_FILES.values())
    return load_dataset("mnist", train_dir if has_files else None)
