"""MNIST and Fashion-MNIST, loaded the way TF1 and Keras users expect.

Three sources, tried in this order by `load_dataset`:

1. a folder of the four IDX files (`train-images-idx3-ubyte.gz`, ...: the format of TF1's
   `input_data.read_data_sets`), gzip-compressed or not;
2. a Keras `mnist.npz` (keys `x_train`, `y_train`, `x_test`, `y_test`);
3. Keras' own download and cache (`~/.keras/datasets/`), checksum-verified.

The folder or file comes from the `path` argument, else from an environment variable
(`TFPARITY_MNIST_DIR`, `TFPARITY_FASHION_MNIST_DIR`, or `TFPARITY_DATA_DIR` holding
`mnist/` and `fashion-mnist/`), else from the places a system package installs it.
Every malformed file raises `DataFormatError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compat.config import NUM_CLASSES, NUM_FEATURES

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
IMAGE_SIDE = 28

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# sha256 of the decompressed IDX payloads of the official data sets. The .gz bytes vary with
# whoever compressed them (Debian's Fashion-MNIST, our shared MNIST), the payload does not.
PAYLOAD_SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}

DATASETS = ("mnist", "fashion_mnist")
ENV_VARS = {"mnist": "TFPARITY_MNIST_DIR", "fashion_mnist": "TFPARITY_FASHION_MNIST_DIR"}
ROOT_ENV_VAR = "TFPARITY_DATA_DIR"
ROOT_SUBDIRS = {"mnist": ("mnist",), "fashion_mnist": ("fashion-mnist", "fashion_mnist")}
# Where system packages put the IDX files (Debian: `apt install dataset-fashion-mnist`).
SYSTEM_DIRS = {"mnist": (), "fashion_mnist": ("/usr/share/datasets/fashion-mnist",)}


class DataError(Exception):
    """Base class for every data-loading failure."""


class DataFormatError(DataError, ValueError):
    """A data file exists but is not what it claims to be."""


class DataNotFoundError(DataError, FileNotFoundError):
    """No data could be found or downloaded; the message says what to do."""


@dataclass(frozen=True)
class Split:
    """One split: images float32 in [0, 1] of shape (N, 784), labels int64 of shape (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 2 or self.images.shape[1] != NUM_FEATURES:
            raise ValueError(f"images must have shape (N, {NUM_FEATURES}), got {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must have shape ({self.images.shape[0]},), got {self.labels.shape}")

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def one_hot(self) -> np.ndarray:
        """Labels as float32 one-hot rows of shape (N, 10), as TF1's `one_hot=True` gave."""
        return one_hot(self.labels)


@dataclass(frozen=True)
class Datasets:
    """The train/test pair every style consumes, plus where it came from."""

    name: str
    train: Split
    test: Split
    source: str


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def images_to_float(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) or (N, 784) to float32 (N, 784) in [0, 1], exactly as TF1's reader scaled."""
    flat = images_uint8.reshape(images_uint8.shape[0], -1)
    return np.multiply(flat.astype(np.float32), np.float32(1.0 / 255.0))


# --- IDX files ----------------------------------------------------------------------------


def _read_payload(path: Path) -> bytes:
    """Bytes of an IDX file, decompressing when it is gzip (by name or by content)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataFormatError(
                f"{path}: the gzip stream is damaged or cut short ({exc}); "
                "download the file again (or gunzip -t it to check)"
            ) from exc
    if path.suffix == ".gz":
        raise DataFormatError(
            f"{path}: not a gzip file (first bytes {raw[:4].hex()}, gzip starts with 1f8b); "
            "re-download it, or gunzip-ed IDX files may be given without the .gz suffix"
        )
    return raw


def read_idx(path: str | os.PathLike, expect_magic: int) -> np.ndarray:
    """Parse one IDX file (images: (N, 28, 28) uint8, labels: (N,) uint8) with strict checks."""
    path = Path(path)
    payload = _read_payload(path)
    kind = "images" if expect_magic == IMAGE_MAGIC else "labels"
    header_len = 16 if expect_magic == IMAGE_MAGIC else 8
    if len(payload) < header_len:
        raise DataFormatError(f"{path}: {len(payload)} bytes is shorter than an IDX {kind} header ({header_len}); the file is truncated, download it again")
    (magic,) = struct.unpack(">I", payload[:4])
    if magic != expect_magic:
        other = {IMAGE_MAGIC: "an images file", LABEL_MAGIC: "a labels file"}.get(magic, "not an IDX file")
        raise DataFormatError(
            f"{path}: wrong magic number 0x{magic:08x}, expected 0x{expect_magic:08x} for IDX {kind} ({other}?); "
            "check the file names: train-images-idx3-ubyte / train-labels-idx1-ubyte / t10k-..."
        )
    if expect_magic == IMAGE_MAGIC:
        count, rows, cols = struct.unpack(">III", payload[4:16])
        if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataFormatError(
                f"{path}: images are {rows}x{cols}, expected {IMAGE_SIDE}x{IMAGE_SIDE}; "
                "this is not MNIST-format data (resize it to 28x28 or point at the right folder)"
            )
        shape: tuple[int, ...] = (count, rows, cols)
    else:
        (count,) = struct.unpack(">I", payload[4:8])
        shape = (count,)
    expected = header_len + int(np.prod(shape))
    if len(payload) != expected:
        state = "truncated" if len(payload) < expected else "longer than its header says"
        raise DataFormatError(
            f"{path}: {state}: the header promises {count} {kind} ({expected} bytes), the file holds {len(payload)}; "
            "download it again"
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header_len).reshape(shape)


def _find_idx_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(
        f"{folder}: no {stem}.gz (nor {stem}) in this folder; it must hold the four IDX files "
        f"{', '.join(s + '.gz' for s in IDX_FILES.values())}"
    )


def _check_pair(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path) -> None:
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{image_path} holds {images.shape[0]} images but {label_path} holds {labels.shape[0]} labels; "
            "the two files come from different data sets or one is damaged"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataFormatError(f"{label_path}: label {int(labels.max())} out of range 0..{NUM_CLASSES - 1}")


OFFICIAL_COUNTS = {"train": 60000, "test": 10000}


def _verify_payload(dataset: str, part: str, path: Path, array: np.ndarray, header: bytes) -> None:
    """Check a full-size split against the official payload digest.

    Only a file of the official size claims to be the official data; smaller IDX files
    (subsets, test fixtures) are structurally checked but not digested.
    """
    expected = PAYLOAD_SHA256.get(dataset, {}).get(part)
    if expected is None or array.shape[0] != OFFICIAL_COUNTS[part.split("_")[0]]:
        return
    digest = hashlib.sha256(header + array.tobytes()).hexdigest()
    if digest != expected:
        raise DataFormatError(
            f"{path}: content differs from the official {dataset} ({part} sha256 {digest[:12]}..., expected {expected[:12]}...); "
            "download it again, or pass verify=False (--no-verify) if you use a modified copy on purpose"
        )


def _idx_header(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)


def load_idx_folder(folder: str | os.PathLike, dataset: str = "mnist", *, verify: bool = True) -> Datasets:
    """Load the four IDX files of a folder (TF1 tutorial layout)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: no such folder")
    arrays = {}
    paths = {part: _find_idx_file(folder, stem) for part, stem in IDX_FILES.items()}
    for part, path in paths.items():
        magic = IMAGE_MAGIC if part.endswith("images") else LABEL_MAGIC
        arrays[part] = read_idx(path, magic)
    for split in ("train", "test"):
        _check_pair(arrays[f"{split}_images"], arrays[f"{split}_labels"], paths[f"{split}_images"], paths[f"{split}_labels"])
    if verify:
        for part, array in arrays.items():
            magic = IMAGE_MAGIC if part.endswith("images") else LABEL_MAGIC
            _verify_payload(dataset, part, paths[part], array, _idx_header(array, magic))
    return Datasets(
        name=dataset,
        train=Split(images_to_float(arrays["train_images"]), arrays["train_labels"].astype(np.int64)),
        test=Split(images_to_float(arrays["test_images"]), arrays["test_labels"].astype(np.int64)),
        source=str(folder),
    )


# --- Keras npz and download ---------------------------------------------------------------


def load_npz(path: str | os.PathLike, dataset: str = "mnist") -> Datasets:
    """Load a Keras-style `mnist.npz` (x_train, y_train, x_test, y_test; uint8 images)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise DataFormatError(f"{path}: missing arrays {sorted(missing)}; a Keras mnist.npz holds x_train, y_train, x_test, y_test")
            x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError, zlib.error) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"{path}: not a readable .npz archive ({exc}); download it again") from exc
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataFormatError(f"{path}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        _check_pair(x, y.reshape(-1), path, path)
    return Datasets(
        name=dataset,
        train=Split(images_to_float(x_train), y_train.reshape(-1).astype(np.int64)),
        test=Split(images_to_float(x_test), y_test.reshape(-1).astype(np.int64)),
        source=str(path),
    )


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
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def download(dataset: str = "mnist") -> Datasets:
    """Download once and cache under `~/.keras/datasets/`, checksum-verified.

    MNIST: Keras' own `mnist.load_data()` (sha256-checked by Keras). Fashion-MNIST: the four
    IDX files through `keras.utils.get_file` with Zalando's md5s.
    """
    try:
        import keras

        if dataset == "mnist":
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        else:
            folder = None
            for part, stem in IDX_FILES.items():
                path = keras.utils.get_file(
                    f"{stem}.gz", origin=f"{FASHION_MNIST_URL}{stem}.gz", file_hash=FASHION_MNIST_GZ_MD5[part],
                    cache_subdir=os.path.join("datasets", "fashion-mnist"), cache_dir=str(keras_cache_dir().parent),
                )
                folder = Path(path).parent
            data = load_idx_folder(folder, dataset)
            return Datasets(dataset, data.train, data.test, source=f"keras download cache ({folder})")
    except DataError:
        raise
    except Exception as exc:  # keras raises bare Exception on URL failures and hash mismatches
        raise DataNotFoundError(not_found_message(dataset, cause=f"{type(exc).__name__}: {exc}")) from exc
    return Datasets(
        name=dataset,
        train=Split(images_to_float(x_train), y_train.astype(np.int64)),
        test=Split(images_to_float(x_test), y_test.astype(np.int64)),
        source=f"keras download cache ({keras_cache_dir()})",
    )


def not_found_message(dataset: str, cause: str = "", headline: str | None = None) -> str:
    env = ENV_VARS[dataset]
    stems = ", ".join(s + ".gz" for s in IDX_FILES.values())
    lines = [
        headline or f"no local {dataset} data was found and the Keras download failed" + (f" ({cause})" if cause else "") + ".",
        "Do one of these:",
        f"  - pass the folder holding {stems}: --data-dir DIR (or path=DIR in Python);",
        f"  - set {env}=DIR, or {ROOT_ENV_VAR}=ROOT with ROOT/{ROOT_SUBDIRS[dataset][0]}/ inside;",
    ]
    if dataset == "mnist":
        lines.append("  - copy a Keras mnist.npz to ~/.keras/datasets/mnist.npz, or pass it as --data-dir FILE.npz;")
    else:
        lines.append("  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist);")
    lines.append("  - or run once with internet access so Keras can download and cache it.")
    return "\n".join(lines)


def resolve_data_path(dataset: str = "mnist", path: str | os.PathLike | None = None) -> Path | None:
    """Where local data for `dataset` lives: the argument, the environment, system folders, or None."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    if path is not None:
        return Path(path)
    if os.environ.get(ENV_VARS[dataset]):
        return Path(os.environ[ENV_VARS[dataset]])
    root = os.environ.get(ROOT_ENV_VAR)
    if root:
        for sub in ROOT_SUBDIRS[dataset]:
            if (Path(root) / sub).is_dir():
                return Path(root) / sub
    for folder in SYSTEM_DIRS[dataset]:
        if Path(folder).is_dir():
            return Path(folder)
    return None


_CACHE: dict[tuple[str, str, bool], Datasets] = {}


def load_dataset(dataset: str = "mnist", path: str | os.PathLike | None = None, *, verify: bool = True) -> Datasets:
    """Load `dataset` ('mnist' or 'fashion_mnist') from `path`, the environment, or Keras' cache.

    Results are cached per process (the arrays are never mutated by the styles), so tests and
    benchmarks that load the same data many times decode it once.
    """
    where = resolve_data_path(dataset, path)
    key = (dataset, str(where) if where is not None else f"keras-cache:{keras_cache_dir()}", verify)
    if key in _CACHE:
        return _CACHE[key]
    if where is None:
        data = download(dataset)
    elif where.suffix == ".npz" or where.is_file():
        data = load_npz(where, dataset)
    elif where.is_dir():
        data = load_idx_folder(where, dataset, verify=verify)
    else:
        raise DataNotFoundError(not_found_message(dataset, headline=f"{where}: no such file or folder."))
    _CACHE[key] = data
    return data


# --- TF1's tutorial reader ----------------------------------------------------------------


class DataSet:
    """TF1's `input_data.DataSet`: `next_batch` shuffles each epoch and wraps across epochs.

    Reproduces the tutorial reader's order of operations (shuffle the first epoch, take the
    remainder of an epoch plus the head of the next reshuffled one), with a seeded generator
    in place of NumPy's global state so that runs repeat.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, one_hot_labels: bool = False, seed: int | None = None):
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
    data: Datasets, *, one_hot: bool = False, validation_size: int = 5000, seed: int | None = None
) -> TutorialDatasets:
    """TF1's `input_data.read_data_sets`: the first `validation_size` training images are held out.

    TF1 trained on 55,000 images; `keras.datasets.mnist` trains on all 60,000.
    """
    if not 0 <= validation_size <= data.train.num_examples:
        raise ValueError(f"validation_size must be in 0..{data.train.num_examples}, got {validation_size}")
    x, y = data.train.images, data.train.labels
    return TutorialDatasets(
        train=DataSet(x[validation_size:], y[validation_size:], one_hot_labels=one_hot, seed=seed),
        validation=DataSet(x[:validation_size], y[:validation_size], one_hot_labels=one_hot, seed=seed),
        test=DataSet(data.test.images, data.test.labels, one_hot_labels=one_hot, seed=seed),
    )
