"""The IDX reader: the four files of TF1's `input_data` layout, gzip-compressed or not, with strict checks.

Every header is checked against what the file can hold before anything is read, and a
full-size split against the official payload digest; a malformed file raises `DataFormatError`
naming the file and the fix.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tfparity.compat.data.datasets import IMAGE_SIDE, Datasets, check_pair, datasets_from_uint8
from tfparity.compat.data.errors import (
    DataAccessError,
    DataError,
    DataFormatError,
    DataNotFoundError,
    denied,
    path_kind,
    unreadable,
)

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_NAMES = ", ".join(f"{stem}.gz" for stem in IDX_FILES.values())  # for messages

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

# Deflate expands at most 1032:1 (zlib's technical notes), so a gzip file of n bytes holds at
# most 1032 n: a header that promises more is damaged, and nothing is decompressed for it.
GZIP_MAX_RATIO = 1032


@contextlib.contextmanager
def _open_payload(path: Path) -> Iterator[tuple[BinaryIO, int, bool]]:
    """The IDX bytes of `path` as a stream (decompressed when gzip, by content), the file's size, and
    whether it is gzip."""
    try:
        f = open(path, "rb")
    except OSError as exc:  # refused, missing, or a folder, say
        raise unreadable(path, exc) or DataFormatError(
            f"{path}: cannot be read as an IDX file ({exc.strerror})"
        ) from exc
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
            raise DataFormatError(
                f"{path}: {len(header)} bytes is shorter than an IDX {kind} header ({header_len}); "
                "the file is truncated, download it again"
            )
        shape = _idx_shape(path, header, expect_magic, kind)
        expected = header_len + math.prod(shape)
        if expected > (size * GZIP_MAX_RATIO if gz else size):
            holds = f"more than this {size}-byte gzip file can hold" if gz else f"the file holds {size}"
            raise DataFormatError(
                f"{path}: truncated: the header promises {shape[0]} {kind} ({expected} bytes), {holds}; "
                "download it again"
            )
        body = stream.read(expected - header_len + 1)  # one byte more: a longer file is damaged too
        held = header_len + len(body) + (_drain(stream) if len(body) > expected - header_len else 0)
    if held != expected:
        state = "truncated" if held < expected else "longer than its header says"
        raise DataFormatError(
            f"{path}: {state}: the header promises {shape[0]} {kind} ({expected} bytes), the file holds {held}; "
            "download it again"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def idx_file(folder: Path, stem: str) -> Path | None:
    """`stem.gz`, else `stem`, in `folder` when it is a file there, else None."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        try:
            if path_kind(candidate) == "file":
                return candidate
        except DataAccessError as exc:  # its parent, the folder, may not be searched
            raise denied(folder, "folder") from exc
    return None


def _find_idx_file(folder: Path, stem: str) -> Path:
    found = idx_file(folder, stem)
    if found is None:
        raise DataNotFoundError(
            f"{folder}: no {stem}.gz (nor {stem}) in this folder; it must hold the four IDX files {IDX_NAMES}"
        )
    return found


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
            f"{path}: content differs from the official {dataset} "
            f"({part} sha256 {digest[:12]}..., expected {expected[:12]}...); "
            "download it again, or pass verify=False (--no-verify) if you use a modified copy on purpose"
        )


def _idx_header(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)


def load_idx_folder(folder: str | os.PathLike, dataset: str = "mnist", *, verify: bool = True) -> Datasets:
    """Load the four IDX files of a folder (TF1 tutorial layout)."""
    folder = Path(folder)
    if path_kind(folder) != "folder":
        raise DataNotFoundError(f"{folder}: no such folder")
    paths = {part: _find_idx_file(folder, stem) for part, stem in IDX_FILES.items()}
    magics = {part: IMAGE_MAGIC if part.endswith("images") else LABEL_MAGIC for part in IDX_FILES}
    arrays = {part: read_idx(path, magics[part]) for part, path in paths.items()}
    for split in ("train", "test"):
        check_pair(
            arrays[f"{split}_images"], arrays[f"{split}_labels"], paths[f"{split}_images"], paths[f"{split}_labels"]
        )
    if verify:
        for part, array in arrays.items():
            _verify_payload(dataset, part, paths[part], array, _idx_header(array, magics[part]))
    return datasets_from_uint8(
        dataset,
        (arrays["train_images"], arrays["train_labels"]),
        (arrays["test_images"], arrays["test_labels"]),
        source=str(folder),
    )
