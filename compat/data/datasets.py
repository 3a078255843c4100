"""The data in memory: a `Split` of features and labels, the `Datasets` pair, and the conversions into them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfparity.compat.data.errors import DataFormatError
from tfparity.compat.models import NUM_CLASSES, NUM_FEATURES

IMAGE_SIDE = 28


@dataclass(frozen=True)
class Split:
    """One split: float features `images` (N, k) and `labels` with N rows.

    MNIST: images float32 in [0, 1] of shape (N, 784), labels int64 class ids of shape (N,).
    The tables (`tables.py`): feature columns (N, k), labels float32 targets of shape (N, 1).
    """

    images: np.ndarray
    labels: np.ndarray
    # The uint8 pixels `images` were scaled from, where the source stored them so (MNIST, Fashion-MNIST):
    # kept, not recomputed, for idioms that store batches as pixels (`uint8_pixels`).
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.images.ndim != 2 or not np.issubdtype(self.images.dtype, np.floating):
            raise ValueError(
                f"images must be float features of shape (N, k), got {self.images.dtype} {self.images.shape}"
            )
        if self.labels.ndim == 0 or self.labels.shape[0] != self.images.shape[0]:
            raise ValueError(f"labels must have {self.images.shape[0]} rows, like the images, got {self.labels.shape}")

    def uint8_pixels(self) -> np.ndarray:
        """The images as uint8 pixels (N, k): the source's own, else recovered (`images_to_uint8`, ValueError)."""
        return self.pixels if self.pixels is not None else images_to_uint8(self.images)

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def one_hot(self) -> np.ndarray:
        """Labels as float32 one-hot rows of shape (N, 10), as TF1's `one_hot=True` gave (integer labels only)."""
        if self.labels.ndim != 1 or not np.issubdtype(self.labels.dtype, np.integer):
            raise ValueError(
                f"one_hot needs integer class labels of shape (N,), these are {self.labels.dtype} {self.labels.shape}"
            )
        return one_hot(self.labels)


@dataclass(frozen=True)
class Datasets:
    """The train/test pair every style consumes, where it came from, and the feature columns' names (tables)."""

    name: str
    train: Split
    test: Split
    source: str
    feature_names: tuple[str, ...] = ()


PIXEL_SCALE = np.float32(1.0 / 255.0)  # uint8 pixel -> [0, 1]: one float32 multiply, as TF1's reader did


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Integer labels (N,) as float32 one-hot rows (N, num_classes)."""
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def images_to_float(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) or (N, 784) to float32 (N, 784) in [0, 1], exactly as TF1's reader scaled."""
    flat = images_uint8.reshape(images_uint8.shape[0], math.prod(images_uint8.shape[1:]))  # -1 fails on 0 images
    return np.multiply(flat.astype(np.float32), PIXEL_SCALE)


def images_to_uint8(images: np.ndarray) -> np.ndarray:
    """float32 images (N, k) back to the uint8 pixels `images_to_float` scaled them from, bit for bit.

    ValueError when they did not come from uint8 pixels that way (other data, other scaling, NaN):
    the uint8 copy would then train on different numbers.
    """
    if images.ndim != 2 or images.dtype != np.float32:
        raise ValueError(f"images must be float32 of shape (N, k), got {images.dtype} {images.shape}")
    # NaN (as -1) and inf are clipped to 0 and 1 before the cast, so that the check below refuses them quietly.
    pixels = np.rint(np.clip(np.nan_to_num(images, nan=-1.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    if not np.array_equal(images_to_float(pixels), images):
        raise ValueError("these images are not uint8 pixels scaled by 1/255 (images_to_float)")
    return pixels


def datasets_from_uint8(
    name: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], source: str
) -> Datasets:
    """`Datasets` from each split's uint8 images and integer labels ((N,) or (N, 1)), as every source stores them."""

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        floats = images_to_float(images)
        if floats.shape[1] != NUM_FEATURES:  # Split takes any width: MNIST's is checked here
            raise ValueError(f"images must have shape (N, {NUM_FEATURES}), got {floats.shape}")
        pixels = images.reshape(floats.shape) if images.dtype == np.uint8 else None  # a view: no copy
        return Split(floats, labels.reshape(-1).astype(np.int64), pixels)

    return Datasets(name=name, train=split(*train), test=split(*test), source=source)


def check_pair(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path) -> None:
    """As many labels as images, each label in 0..9, or DataFormatError naming the files."""
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{image_path} holds {images.shape[0]} images but {label_path} holds {labels.shape[0]} labels; "
            "the two files come from different data sets or one is damaged"
        )
    if labels.size and (labels.max() >= NUM_CLASSES or labels.min() < 0):
        bad = int(labels.max()) if labels.max() >= NUM_CLASSES else int(labels.min())
        raise DataFormatError(f"{label_path}: label {bad} out of range 0..{NUM_CLASSES - 1}")
