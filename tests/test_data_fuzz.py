"""Fuzzing the two parsers of foreign files: the IDX reader and the npz loader.

Every input either loads exactly what it holds or raises `DataFormatError` naming the file;
nothing else escapes, nothing hangs, and no declared size is allocated before the file shows it
holds that much. Each test decides validity on its own (from the fields it drew), never by
asking the loader.
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfparity.compat.data import IMAGE_MAGIC, LABEL_MAGIC, NPZ_KEYS, DataFormatError, load_npz, read_idx

# Bounded: both tests together take a few seconds on two busy cores. A deadline of a second per
# example is what "nothing hangs" means here (each file is at most a few kilobytes).
FUZZ = settings(max_examples=250, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])
PEAK_BYTES = 16 << 20  # no example may allocate more than this: the files are a few kilobytes


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="tfparity-fuzz-") as folder:
        yield Path(folder)


def peak_allocation(load):
    """`load()`'s result or exception, and the most memory it held at once (tracemalloc)."""
    tracemalloc.start()
    try:
        try:
            return load(), tracemalloc.get_traced_memory()[1]
        except Exception as exc:  # handed back to the test, which accepts DataFormatError only
            return exc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- IDX -------------------------------------------------------------------------------------

U32 = st.integers(0, 2**32 - 1)
SIDES = st.one_of(st.just(28), st.sampled_from([0, 1, 27, 29, 2**16, 2**32 - 1]), U32)
CONTAINERS = (
    "plain",
    "plain named .gz",
    "gzip",
    "gzip without .gz",
    "gzip in two members",
    "gzip cut short",
    "gzip with a bad CRC",
    "gzip with trailing garbage",
)


@st.composite
def idx_cases(draw):
    """An IDX file drawn field by field: magic, count, rows, cols, a body of any length, cut at
    any offset (inside each header field or the body), in any container."""
    expect = draw(st.sampled_from([IMAGE_MAGIC, LABEL_MAGIC]))
    images = expect == IMAGE_MAGIC
    magic = draw(st.one_of(st.just(expect), st.sampled_from([IMAGE_MAGIC, LABEL_MAGIC, 0x00000802, 0x03080000]), U32))
    count = draw(st.one_of(st.integers(0, 3), U32))
    rows, cols = draw(st.one_of(st.just((28, 28)), st.tuples(SIDES, SIDES))) if images else (1, 1)
    header = struct.pack(">II", magic, count) + (struct.pack(">II", rows, cols) if images else b"")
    declared = count * rows * cols
    body_len = draw(st.one_of(st.just(min(declared, 3 * 784)), st.integers(0, min(declared, 3 * 784) + 8)))
    body = np.random.default_rng(draw(U32)).bytes(body_len)
    payload = header + body
    cut = draw(st.one_of(st.none(), st.integers(0, len(payload))))
    payload = payload if cut is None else payload[:cut]
    container = draw(st.sampled_from(CONTAINERS))
    split = draw(st.integers(0, len(payload)))
    return expect, payload, container, split, (count, rows, cols) if images else (count,)


def contain(payload: bytes, container: str, split: int) -> tuple[bytes, str]:
    """The file's bytes and name for `payload` in `container`."""
    packed = gzip.compress(payload, mtime=0)
    return {
        "plain": (payload, "f"),
        "plain named .gz": (payload, "f.gz"),
        "gzip": (packed, "f.gz"),
        "gzip without .gz": (packed, "f"),
        "gzip in two members": (
            gzip.compress(payload[:split], mtime=0) + gzip.compress(payload[split:], mtime=0),
            "f.gz",
        ),
        "gzip cut short": (packed[: max(0, len(packed) - 1 - split % len(packed))], "f.gz"),
        "gzip with a bad CRC": (packed[:-8] + bytes([packed[-8] ^ 0xFF]) + packed[-7:], "f.gz"),
        "gzip with trailing garbage": (packed + b"garbage", "f.gz"),
    }[container]


def idx_is_valid(expect: int, payload: bytes, container: str, shape: tuple[int, ...]) -> bool:
    header_len = 16 if expect == IMAGE_MAGIC else 8
    if len(payload) < header_len or struct.unpack(">I", payload[:4])[0] != expect:
        return False
    if expect == IMAGE_MAGIC and shape[1:] != (28, 28):
        return False
    readable = container in ("plain", "gzip", "gzip without .gz", "gzip in two members")
    return readable and len(payload) == header_len + int(np.prod(shape, dtype=object))


@FUZZ
@given(case=idx_cases())
def test_idx_reader_loads_exactly_or_names_the_file(workdir, case):
    expect, payload, container, split, shape = case
    raw, name = contain(payload, container, split)
    path = workdir / name
    path.write_bytes(raw)
    outcome, peak = peak_allocation(lambda: read_idx(path, expect))
    assert peak < PEAK_BYTES, f"{peak} bytes allocated for a {len(raw)}-byte file"
    if idx_is_valid(expect, payload, container, shape):
        assert isinstance(outcome, np.ndarray), f"a valid file was refused: {outcome!r}"
        header_len = 16 if expect == IMAGE_MAGIC else 8
        np.testing.assert_array_equal(outcome, np.frombuffer(payload[header_len:], np.uint8).reshape(shape))
    else:
        assert isinstance(outcome, DataFormatError), f"expected DataFormatError, got {outcome!r}"
        assert str(path) in str(outcome)


def test_idx_header_promising_terabytes_is_refused_before_reading(workdir):
    # 2^32 - 1 images of 28x28 is 3.4 TB: a 100-byte gzip file cannot hold it, whatever it decompresses to.
    path = workdir / "huge.gz"
    path.write_bytes(gzip.compress(struct.pack(">IIII", IMAGE_MAGIC, 2**32 - 1, 28, 28) + bytes(100)))
    outcome, peak = peak_allocation(lambda: read_idx(path, IMAGE_MAGIC))
    assert isinstance(outcome, DataFormatError) and "more than this" in str(outcome) and str(path) in str(outcome)
    assert peak < PEAK_BYTES


# --- npz -------------------------------------------------------------------------------------


def pixels(shape: tuple[int, ...], dtype, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(dtype)


@st.composite
def npz_cases(draw):
    """Keras-style arrays, each possibly of the wrong dtype or shape, possibly a key short, saved
    stored or compressed, then possibly cut short or with one byte flipped."""
    arrays = {}
    for split in ("train", "test"):
        n = draw(st.integers(0, 3))
        x_shape = draw(st.sampled_from([(n, 28, 28)] * 4 + [(n, 784), (n, 28, 27), (n, 28, 28, 1), ()]))
        x_dtype = draw(st.sampled_from([np.uint8] * 4 + [np.float32, np.int64, np.int8]))
        arrays[f"x_{split}"] = pixels(x_shape, x_dtype, draw(U32))
        y_len = draw(st.sampled_from([n] * 4 + [n + 1, max(0, n - 1)]))
        y_shape = draw(st.sampled_from([(y_len,)] * 3 + [(y_len, 1), (y_len, 2), (1, y_len), ()]))
        y_dtype = draw(st.sampled_from([np.uint8, np.int64, np.int32, np.float32, np.bool_]))
        values = draw(
            st.lists(
                st.integers(0, 9) | st.integers(-3, 12), min_size=int(np.prod(y_shape)), max_size=int(np.prod(y_shape))
            )
        )
        arrays[f"y_{split}"] = np.array(values, dtype=np.int64).reshape(y_shape).astype(y_dtype)
    for key in draw(st.sets(st.sampled_from(NPZ_KEYS), max_size=1) | st.just(set())):
        del arrays[key]
    buffer = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    raw = buffer.getvalue()
    damage = draw(st.sampled_from([None, None, "cut", "flip"]))
    at = draw(st.integers(0, len(raw) - 1))
    if damage == "cut":
        raw = raw[:at]
    elif damage == "flip":
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    return arrays, raw, damage is not None


def npz_is_valid(arrays: dict[str, np.ndarray]) -> bool:
    if set(arrays) != set(NPZ_KEYS):
        return False
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            return False
        if y.dtype.kind not in "iu" or y.shape not in ((len(x),), (len(x), 1)):
            return False
        if y.size and not (0 <= y.min() and y.max() <= 9):
            return False
    return True


@FUZZ
@given(case=npz_cases())
def test_npz_loader_loads_exactly_or_names_the_file(workdir, case):
    arrays, raw, damaged = case
    path = workdir / "f.npz"
    path.write_bytes(raw)
    outcome, peak = peak_allocation(lambda: load_npz(path))
    assert peak < PEAK_BYTES, f"{peak} bytes allocated for a {len(raw)}-byte file"
    if isinstance(outcome, DataFormatError):
        assert str(path) in str(outcome)
        assert damaged or not npz_is_valid(arrays), f"a valid archive was refused: {outcome}"
        return
    assert not isinstance(outcome, BaseException), f"expected DataFormatError, got {outcome!r}"
    # Loaded: only a valid archive may load, and (every byte of a member being CRC-checked) it
    # loads what was saved even when a byte elsewhere, a timestamp say, was damaged.
    assert npz_is_valid(arrays), "an invalid archive loaded"
    for split, part in (("train", outcome.train), ("test", outcome.test)):
        x = arrays[f"x_{split}"]
        np.testing.assert_array_equal(part.images, x.reshape(len(x), 784).astype(np.float32) * np.float32(1 / 255))
        np.testing.assert_array_equal(part.labels, arrays[f"y_{split}"].reshape(-1))


def npy_member(array: np.ndarray, shape: tuple[int, ...] | None = None) -> bytes:
    """An .npy file of `array`, its header declaring `shape` instead when given."""
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + array.tobytes()


def keras_arrays() -> dict[str, np.ndarray]:
    return {
        "x_train": pixels((2, 28, 28), np.uint8, 0),
        "y_train": np.array([3, 4], np.uint8),
        "x_test": pixels((1, 28, 28), np.uint8, 1),
        "y_test": np.array([5], np.uint8),
    }


def archive(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def saved(**changes) -> bytes:
    out = io.BytesIO()
    np.savez(out, **(keras_arrays() | changes))
    return out.getvalue()


# What the fuzzing found (each escaped as something other than DataFormatError, or loaded).
FINDINGS = {
    "a .npy array named .npz": (lambda: npy_member(np.zeros(3)), "a single .npy array"),
    "an empty file": (lambda: b"", "not a readable .npz"),
    "a zip cut in the middle": (lambda: saved()[:500], "not a readable .npz"),
    "a byte flipped in x_train's data": (
        lambda: saved()[:300] + bytes([saved()[300] ^ 0xFF]) + saved()[301:],
        "not a readable .npz",
    ),
    "an npy header declaring 10^9 images": (
        lambda: archive(
            {f"{k}.npy": npy_member(v, (10**9, 28, 28) if k == "x_train" else None) for k, v in keras_arrays().items()}
        ),
        "x_train declares",
    ),
    "a member that is not .npy": (
        lambda: archive(
            {**{f"{k}.npy": npy_member(v) for k, v in keras_arrays().items()}, "y_test.npy": b"not an array"}
        ),
        "not a readable .npz",
    ),
    "a negative label": (lambda: saved(y_train=np.array([-1, 4])), "label -1 out of range"),
    "float labels": (lambda: saved(y_train=np.array([0.5, 1.7])), "y_train is float64"),
    "float pixels up to 300": (lambda: saved(x_train=np.full((2, 28, 28), 300.0)), "x_train is float64"),
}


@pytest.mark.parametrize("finding", list(FINDINGS))
def test_what_the_npz_fuzzing_found(workdir, finding):
    make, message = FINDINGS[finding]
    path = workdir / "finding.npz"
    path.write_bytes(make())
    outcome, peak = peak_allocation(lambda: load_npz(path))
    assert isinstance(outcome, DataFormatError), f"{finding}: {outcome!r}"
    assert str(path) in str(outcome) and message in str(outcome)
    assert peak < PEAK_BYTES
