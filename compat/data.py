"""MNIST and Fashion-MNIST, loaded the way TF1 and Keras users expect.

Three sources, tried in this order by `load_dataset`:

1. a folder of the four IDX files (`train-images-idx3-ubyte.gz`, ...: the format of TF1's
   `input_data.read_data_sets`), gzip-compressed or not;
2. a Keras `mnist.npz` (keys `x_train`, `y_train`, `x_test`, `y_test`);
3. Keras' own download and cache (`~/.keras/datasets/`), checksum-verified.

The folder or file comes from the `path` argument, else from an environment variable
(`TFPARITY_MNIST_DIR`, `TFPARITY_FASHION_MNIST_DIR`, or `TFPARITY_DATA_DIR` holding
`mnist/` and `fashion-mnist/`, or the dataset's folder itself), else from the places a
system package installs it. A variable that is set is used, or it is an error naming it.
Every malformed file raises `DataFormatError` naming the file and the fix; a file or folder
this user may not read raises `DataAccessError`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import lzma
import math
import os
import stat
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from tfparity.compat.config import NUM_CLASSES, NUM_FEATURES

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


class DataAccessError(DataError, PermissionError):
    """A data file or folder exists but this user may not read it."""


def _denied(path: Path, what: str) -> DataAccessError:
    """The one-line error for a permission refused on `path` ("file", "folder" or "path")."""
    how = {"file": f"chmod a+r {path}", "folder": f"chmod a+rx {path}", "path": "chmod a+rx on each folder above it"}[what]
    return DataAccessError(f"{path}: permission denied: this user may not read this {what}; make it readable "
                           f"({how}) or pass a readable copy with --data-dir")


def _kind(path: Path) -> str | None:
    """'file', 'folder', or None when nothing is there (a parent that is a file included)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:  # a folder above it may not be searched
        raise _denied(path, "path") from exc
    return "folder" if stat.S_ISDIR(mode) else "file"


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
    flat = images_uint8.reshape(images_uint8.shape[0], math.prod(images_uint8.shape[1:]))  # -1 fails on 0 images
    return np.multiply(flat.astype(np.float32), np.float32(1.0 / 255.0))


# --- IDX files ----------------------------------------------------------------------------


# Deflate expands at most 1032:1 (zlib's technical notes), so a gzip file of n bytes holds at
# most 1032 n: a header that promises more is damaged, and nothing is decompressed for it.
GZIP_MAX_RATIO = 1032


@contextlib.contextmanager
def _open_payload(path: Path) -> Iterator[tuple[BinaryIO, int, bool]]:
    """The IDX bytes of `path` as a stream (decompressed when gzip, by content), the file's size, and
    whether it is gzip."""
    try:
        f = open(path, "rb")
    except PermissionError as exc:
        raise _denied(path, "file") from exc
    except FileNotFoundError as exc:
        raise DataNotFoundError(f"{path}: no such file") from exc
    except OSError as exc:  # a folder, say
        raise DataFormatError(f"{path}: cannot be read as an IDX file ({exc.strerror})") from exc
    with f:
        size = os.fstat(f.fileno()).st_size
        first = f.read(4)
        f.seek(0)
        if first[:2] != b"\x1f\x8b":
            if path.suffix == ".gz":
                raise DataFormatError(
                    f"{path}: not a gzip file (first bytes {first.hex()}, gzip starts with 1f8b); "
                    "re-download it, or gunzip-ed IDX files may be given without the .gz suffix"
                )
            yield f, size, False
            return
        try:
            with gzip.GzipFile(fileobj=f) as stream:
                yield stream, size, True
        except DataError:
            raise
        except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise DataFormatError(
                f"{path}: the gzip stream is damaged or cut short ({exc}); "
                "download the file again (or gunzip -t it to check)"
            ) from exc


def _idx_shape(path: Path, header: bytes, expect_magic: int, kind: str) -> tuple[int, ...]:
    """The array shape an IDX header declares, after checking its magic number and image size."""
    (magic,) = struct.unpack(">I", header[:4])
    if magic != expect_magic:
        other = {IMAGE_MAGIC: "an images file", LABEL_MAGIC: "a labels file"}.get(magic, "not an IDX file")
        raise DataFormatError(
            f"{path}: wrong magic number 0x{magic:08x}, expected 0x{expect_magic:08x} for IDX {kind} ({other}?); "
            "check the file names: train-images-idx3-ubyte / train-labels-idx1-ubyte / t10k-..."
        )
    if expect_magic == LABEL_MAGIC:
        return struct.unpack(">I", header[4:8])
    count, rows, cols = struct.unpack(">III", header[4:16])
    if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFormatError(
            f"{path}: images are {rows}x{cols}, expected {IMAGE_SIDE}x{IMAGE_SIDE}; "
            "this is not MNIST-format data (resize it to 28x28 or point at the right folder)"
        )
    return count, rows, cols


def _drain(stream: BinaryIO, chunk: int = 1 << 20) -> int:
    """How many bytes are left in `stream`, read a chunk at a time (never held all at once)."""
    total = 0
    while block := stream.read(chunk):
        total += len(block)
    return total


def read_idx(path: str | os.PathLike, expect_magic: int) -> np.ndarray:
    """Parse one IDX file (images: (N, 28, 28) uint8, labels: (N,) uint8) with strict checks.

    The header is checked against what the file can hold before the body is read, so a damaged
    header that promises gigabytes costs nothing.
    """
    path = Path(path)
    kind = "images" if expect_magic == IMAGE_MAGIC else "labels"
    header_len = 16 if expect_magic == IMAGE_MAGIC else 8
    with _open_payload(path) as (stream, size, gz):
        header = stream.read(header_len)
        if len(header) < header_len:
            raise DataFormatError(f"{path}: {len(header)} bytes is shorter than an IDX {kind} header ({header_len}); "
                                  "the file is truncated, download it again")
        shape = _idx_shape(path, header, expect_magic, kind)
        expected = header_len + math.prod(shape)
        if expected > (size * GZIP_MAX_RATIO if gz else size):
            holds = f"more than this {size}-byte gzip file can hold" if gz else f"the file holds {size}"
            raise DataFormatError(f"{path}: truncated: the header promises {shape[0]} {kind} ({expected} bytes), {holds}; "
                                  "download it again")
        body = stream.read(expected - header_len + 1)  # one byte more: a longer file is damaged too
        held = header_len + len(body) + (_drain(stream) if len(body) > expected - header_len else 0)
    if held != expected:
        state = "truncated" if held < expected else "longer than its header says"
        raise DataFormatError(
            f"{path}: {state}: the header promises {shape[0]} {kind} ({expected} bytes), the file holds {held}; "
            "download it again"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def _find_idx_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        try:
            if _kind(candidate) == "file":
                return candidate
        except DataAccessError as exc:  # its parent, the folder, may not be searched
            raise _denied(folder, "folder") from exc
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
    if labels.size and (labels.max() >= NUM_CLASSES or labels.min() < 0):
        bad = int(labels.max()) if labels.max() >= NUM_CLASSES else int(labels.min())
        raise DataFormatError(f"{label_path}: label {bad} out of range 0..{NUM_CLASSES - 1}")


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
    if _kind(folder) != "folder":
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


NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# A foreign archive fails in zipfile's, zlib's, lzma's or numpy's own ways: each means a damaged file.
_ARCHIVE_ERRORS = (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError,
                   lzma.LZMAError, struct.error)


def load_npz(path: str | os.PathLike, dataset: str = "mnist") -> Datasets:
    """Load a Keras-style `mnist.npz` (x_train, y_train, x_test, y_test; uint8 images, integer labels)."""
    path = Path(path)
    arrays = _read_npz(path)
    for split in ("train", "test"):
        _check_npz_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    return Datasets(
        name=dataset,
        train=Split(images_to_float(arrays["x_train"]), arrays["y_train"].reshape(-1).astype(np.int64)),
        test=Split(images_to_float(arrays["x_test"]), arrays["y_test"].reshape(-1).astype(np.int64)),
        source=str(path),
    )


def _not_npz(path: Path, exc: BaseException) -> DataFormatError:
    return DataFormatError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {exc}); download it again")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except PermissionError as exc:
        raise _denied(path, "file") from exc
    except FileNotFoundError as exc:
        raise DataNotFoundError(f"{path}: no such file") from exc
    except _ARCHIVE_ERRORS as exc:
        raise _not_npz(path, exc) from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):  # np.load gives a .npy file's array itself
        raise DataFormatError(f"{path}: a single .npy array, not a .npz archive; "
                              "a Keras mnist.npz holds x_train, y_train, x_test, y_test")
    with archive:
        missing = set(NPZ_KEYS) - set(archive.files)
        if missing:
            raise DataFormatError(f"{path}: missing arrays {sorted(missing)}; "
                                  "a Keras mnist.npz holds x_train, y_train, x_test, y_test")
        try:
            return {key: _npz_array(archive, key, path) for key in NPZ_KEYS}
        except DataError:
            raise
        except _ARCHIVE_ERRORS as exc:
            raise _not_npz(path, exc) from exc


def _npz_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """One array of an npz. numpy allocates what the zip directory and the .npy header declare
    before it reads: both are checked against what the archive can hold first."""
    info = archive.zip.getinfo(f"{key}.npy" if f"{key}.npy" in archive.zip.namelist() else key)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataFormatError(f"{path}: {key} uses zip compression method {info.compress_type}; numpy.savez writes "
                              "stored or deflated members, save it again with numpy.savez")
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else GZIP_MAX_RATIO
    most = min(info.compress_size, os.path.getsize(path)) * ratio
    with archive.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
    declared = math.prod(shape) * dtype.itemsize
    if info.file_size > most or declared > info.file_size:
        raise DataFormatError(f"{path}: {key} declares {max(declared, info.file_size)} bytes (shape {shape}), more than "
                              f"the archive holds; it is damaged, download it again")
    return archive[key]


def _check_npz_split(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """uint8 images (N, 28, 28) and N integer labels 0..9, shaped (N,) or (N, 1), as Keras saves them."""
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFormatError(f"{path}: x_{split} is {x.dtype} of shape {x.shape}, expected uint8 pixels of shape "
                              "(N, 28, 28) as in Keras' mnist.npz")
    if not np.issubdtype(y.dtype, np.integer) or y.ndim not in (1, 2) or y.shape[1:] not in ((), (1,)):
        raise DataFormatError(f"{path}: y_{split} is {y.dtype} of shape {y.shape}, expected integer labels 0..9 "
                              "of shape (N,) as in Keras' mnist.npz")
    _check_pair(x, y.reshape(-1), path, path)


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

        # Keras prints "Downloading data from ..." and a progress bar on stdout, where the report goes.
        with contextlib.redirect_stdout(sys.stderr):
            return _download(keras, dataset)
    except DataError:
        raise
    except Exception as exc:  # keras raises bare Exception on URL failures and hash mismatches
        raise DataNotFoundError(not_found_message(dataset, cause=f"{type(exc).__name__}: {exc}")) from exc


def _download(keras, dataset: str) -> Datasets:
    """MNIST through Keras' own loader; Fashion-MNIST's four files through its checksummed cache."""
    if dataset == "mnist":
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return Datasets(
            name=dataset,
            train=Split(images_to_float(x_train), y_train.astype(np.int64)),
            test=Split(images_to_float(x_test), y_test.astype(np.int64)),
            source=f"keras download cache ({keras_cache_dir()})",
        )
    folder = None
    for part, stem in IDX_FILES.items():
        path = keras.utils.get_file(
            f"{stem}.gz", origin=f"{FASHION_MNIST_URL}{stem}.gz", file_hash=FASHION_MNIST_GZ_MD5[part],
            cache_subdir=os.path.join("datasets", "fashion-mnist"), cache_dir=str(keras_cache_dir().parent),
        )
        folder = Path(path).parent
    data = load_idx_folder(folder, dataset)
    return Datasets(dataset, data.train, data.test, source=f"keras download cache ({folder})")


def not_found_message(dataset: str, cause: str = "") -> str:
    """One line: no local data and no download, and the ways to point tfparity at a copy."""
    env = ENV_VARS[dataset]
    where = ("copy a Keras mnist.npz to ~/.keras/datasets/mnist.npz" if dataset == "mnist"
             else "apt-get install dataset-fashion-mnist")
    return (f"no local {dataset} data was found and the Keras download failed" + (f" ({cause})" if cause else "")
            + f"; pass --data-dir DIR (the folder of the four IDX files), set {env}=DIR or "
            f"{ROOT_ENV_VAR}=ROOT (with ROOT/{ROOT_SUBDIRS[dataset][0]}/), or {where}")


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
        if _kind(Path(folder)) == "folder":
            return Path(folder)
    if os.environ.get(ROOT_ENV_VAR):  # a root without this data set, and nothing installed
        sub = ROOT_SUBDIRS[dataset][0]
        raise DataNotFoundError(
            f"{ROOT_ENV_VAR}={os.environ[ROOT_ENV_VAR]} holds no {sub}/ folder (nor the four IDX files); "
            f"add it, set {ENV_VARS[dataset]}=DIR, or unset {ROOT_ENV_VAR} to let Keras download {dataset}"
        )
    return None


def _holds_idx(folder: Path) -> bool:
    """True when `folder` holds any of the four IDX files, gzip-compressed or not."""
    try:
        return any(_kind(folder / name) == "file" for stem in IDX_FILES.values() for name in (f"{stem}.gz", stem))
    except DataAccessError as exc:
        raise _denied(folder, "folder") from exc


def _from_dataset_variable(dataset: str) -> Path | None:
    """$TFPARITY_MNIST_DIR (or ..._FASHION_MNIST_DIR): a folder of IDX files or an npz, when set."""
    var, value = ENV_VARS[dataset], os.environ.get(ENV_VARS[dataset])
    if not value:
        return None
    where, kind = Path(value), _kind(Path(value))
    if kind is None:
        raise DataNotFoundError(f"{var}={value}: no such file or folder; point it at the folder holding the four "
                                f"IDX files (or a Keras .npz), or unset it")
    if kind == "folder" and not _holds_idx(where):
        stems = ", ".join(s + ".gz" for s in IDX_FILES.values())
        raise DataNotFoundError(f"{var}={value} holds none of the four IDX files ({stems}); "
                                "point it at the folder that holds them, or unset it")
    return where


def _from_root_variable(dataset: str) -> Path | None:
    """$TFPARITY_DATA_DIR/mnist/ (or fashion-mnist/), or the folder itself when it holds the IDX files."""
    value = os.environ.get(ROOT_ENV_VAR)
    if not value:
        return None
    root, sub = Path(value), ROOT_SUBDIRS[dataset][0]
    if _kind(root) != "folder":
        raise DataNotFoundError(f"{ROOT_ENV_VAR}={value}: no such folder; point it at the folder holding {sub}/ "
                                f"(or at {sub}/ itself), or unset it")
    for name in ROOT_SUBDIRS[dataset]:
        if _kind(root / name) == "folder":
            return root / name
    # The data set's own folder (the four files, no subfolder) is used unless it is named as another data set's.
    others = {name for other, names in ROOT_SUBDIRS.items() if other != dataset for name in names}
    return root if root.name not in others and _holds_idx(root) else None


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
    kind = None if where is None else _kind(where)
    if where is None:
        data = download(dataset)
    elif kind == "file":
        data = load_npz(where, dataset)
    elif kind == "folder":
        data = load_idx_folder(where, dataset, verify=verify)
    else:
        stems = ", ".join(s + ".gz" for s in IDX_FILES.values())
        raise DataNotFoundError(f"{where}: no such file or folder; give the folder holding {stems} (or a Keras .npz)")
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
    has_files = all((train_dir / f"{stem}.gz").is_file() or (train_dir / stem).is_file() for stem in IDX_FILES.values())
    return load_dataset("mnist", train_dir if has_files else None)
