"""Two small tables of the TF tutorials: CS20's birth rate / life expectancy (linear regression) and
the Pima Indians diabetes CSV (logistic regression), parsed strictly; a malformed line raises
`DataFormatError` naming the file, the line and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np

from tfparity.compat.data.datasets import Datasets, Split
from tfparity.compat.data.errors import (
    DataAccessError,
    DataFormatError,
    DataNotFoundError,
    denied,
    path_kind,
    unreadable,
)

BIRTH_LIFE_FILE = "birth_life_2010.txt"
PIMA_FILE = "pima-indians-diabetes.csv"
TABLE_FILES = {"birth_life": BIRTH_LIFE_FILE, "pima": PIMA_FILE}
# The published files, byte for byte (their PROVENANCE.md), at the commits they were copied from.
BIRTH_LIFE_SHA256 = "d50632dd7c3b8aa02d67245d8f13db341cdff812461b6e35cfa95b7174f513e4"
PIMA_SHA256 = "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af"
BIRTH_LIFE_URL = (
    "https://raw.githubusercontent.com/chiphuyen/stanford-tensorflow-tutorials/"
    "51e53daaa2a32cfe7a1966f060b28dbbd081791c/examples/data/birth_life_2010.txt"
)
PIMA_URL = "https://raw.githubusercontent.com/jbrownlee/Datasets/d20fcb6402ae34e653d4513b00f39257bb37ed7f/" + PIMA_FILE
TABLE_SHA256 = {"birth_life": BIRTH_LIFE_SHA256, "pima": PIMA_SHA256}
TABLE_URLS = {"birth_life": BIRTH_LIFE_URL, "pima": PIMA_URL}

BIRTH_LIFE_HEADER = "Country\tBirth rate\tLife expectancy"
_BIRTH_LIFE_NUMBERS = ("birth rate", "life expectancy")
PIMA_FEATURES = ("pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi", "pedigree", "age")
PIMA_COLUMNS = (*PIMA_FEATURES, "class")  # the class, 0 or 1, is the label
PIMA_TEST_ROWS = 154  # the last 154 rows (20%) are the test split, the first 614 train

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_BIRTH_LIFE_FIX = "the file is CS20's tab-separated Country, Birth rate, Life expectancy"
_PIMA_FIX = "each row is 9 comma-separated numbers: the 8 features, then the 0/1 class"


def _lines(path: Path) -> list[str]:
    """The file's lines as text (UTF-8, a BOM and CRLF endings allowed), or DataFormatError for binary data."""
    try:
        raw = path.read_bytes()
    except OSError as exc:  # refused, missing, or a folder, say
        raise unreadable(path, exc) or DataFormatError(f"{path}: cannot be read ({exc.strerror})") from exc
    if raw[:2] == b"\x1f\x8b":
        raise DataFormatError(f"{path}:1: gzip-compressed data, not text (it starts with 1f8b); gunzip it first")
    bad, text = raw.find(b"\x00"), ""
    if bad < 0:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = exc.start
    if bad >= 0:
        line = raw.count(b"\n", 0, bad) + 1
        what, fix = (
            ("not a text file", "a binary file (an IDX file?) was given in place of the table")
            if raw[bad] == 0
            else ("not UTF-8 text", "save it as UTF-8")
        )
        raise DataFormatError(f"{path}:{line}: {what} (byte 0x{raw[bad]:02x} at offset {bad}); {fix}")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():  # blank lines at the end, the final newline's included
        lines.pop()
    return lines


def _number(path: Path, line: int, name: str, text: str, fix: str) -> float:
    """`text` as a finite number that float32 holds, or DataFormatError naming the line."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        what = "not finite" if text.lower().lstrip("+-") in ("nan", "inf", "infinity") else "not a number"
        raise DataFormatError(f"{path}:{line}: {name} {text!r} is {what}; {fix}")
    value = float(text)
    if not abs(value) <= _FLOAT32_MAX:
        raise DataFormatError(f"{path}:{line}: {name} {text!r} is not finite in float32; {fix}")
    return value


def _rows(path: Path, lines: list[str], sep: str, width: int, fix: str, first: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each line from line `first` on: no blank line before the last, `width` fields each."""
    rows = []
    for number, line in enumerate(lines[first - 1 :], start=first):
        if not line.strip():
            raise DataFormatError(f"{path}:{number}: blank line inside the data; delete it ({fix})")
        fields = line.split(sep)
        if len(fields) != width:
            separated = {"\t": "tab", ",": "comma"}[sep]
            raise DataFormatError(
                f"{path}:{number}: {len(fields)} {separated}-separated fields, expected {width}; {fix}"
            )
        rows.append((number, fields))
    if not rows:
        raise DataFormatError(f"{path}:{max(len(lines), first - 1) + 1}: no data rows; {fix}")
    return rows


def read_birth_life(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """CS20's birth_life_2010.txt: birth rates (N, 1) float32, life expectancies (N, 1) float32, countries."""
    path = Path(path)
    lines = _lines(path)
    if not lines or lines[0] != BIRTH_LIFE_HEADER:
        found = f"the header is {lines[0][:60]!r}" if lines else "the file is empty"
        raise DataFormatError(
            f"{path}:1: {found}, expected the header {BIRTH_LIFE_HEADER!r}; {_BIRTH_LIFE_FIX}, header line first"
        )
    countries, values = [], []
    for number, (country, *numbers) in _rows(path, lines, "\t", 3, _BIRTH_LIFE_FIX, first=2):
        if not country.strip():
            raise DataFormatError(f"{path}:{number}: the country name is empty; {_BIRTH_LIFE_FIX}")
        countries.append(country.strip())
        values.append([_number(path, number, n, t, _BIRTH_LIFE_FIX) for n, t in zip(_BIRTH_LIFE_NUMBERS, numbers)])
    table = np.array(values, dtype=np.float32)
    return table[:, :1], table[:, 1:], tuple(countries)


def read_pima(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The Pima Indians diabetes CSV: features (N, 8) float32 and class (N, 1) float32 (0 or 1).

    A first row of 9 column names (the Kaggle copy's `Pregnancies,...,Outcome`) is skipped.
    """
    path = Path(path)
    lines = _lines(path)
    header = lines[0].split(",") if lines else []
    named = len(header) == len(PIMA_COLUMNS) and all(f.strip() and not _NUMBER.fullmatch(f.strip()) for f in header)
    rows = []
    for number, fields in _rows(path, lines, ",", len(PIMA_COLUMNS), _PIMA_FIX, first=2 if named else 1):
        row = [_number(path, number, name, text, _PIMA_FIX) for name, text in zip(PIMA_COLUMNS, fields)]
        if row[-1] not in (0.0, 1.0):
            raise DataFormatError(f"{path}:{number}: class {fields[-1].strip()!r} is not 0 or 1; {_PIMA_FIX}")
        rows.append(row)
    table = np.array(rows, dtype=np.float32)
    return table[:, :-1], table[:, -1:]


def min_max_scaled(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each column scaled to [0, 1] by the TRAINING rows' min and max, applied to `train` and `others` (float32)."""
    train64 = np.asarray(train, dtype=np.float64)
    if train64.ndim != 2 or train64.shape[0] == 0:
        raise ValueError(f"train must be rows of shape (N, k) with N >= 1, got shape {train64.shape}")
    low, high = train64.min(axis=0), train64.max(axis=0)
    constant = np.flatnonzero(high == low)
    if constant.size:
        column = int(constant[0])
        raise ValueError(
            f"column {column} is constant ({low[column]:g}) in the training rows: min-max scaling would divide by "
            "zero; drop that column or train on rows where it varies"
        )
    out = []
    for array in (train, *others):
        array = np.asarray(array, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != train64.shape[1]:
            raise ValueError(f"every array must have {train64.shape[1]} columns like train, got shape {array.shape}")
        out.append(((array - low) / (high - low)).astype(np.float32))
    return tuple(out)


def download_table(dataset: str) -> Path:
    """The official file through Keras' cache (`~/.keras/datasets/`), sha256-checked; DataNotFoundError on failure."""
    # Imported here: `locate` imports this module's file names, and `keras_cache` imports `locate`.
    from tfparity.compat.data.keras_cache import keras_cache_dir
    from tfparity.compat.data.locate import not_found_message

    try:
        import keras

        with contextlib.redirect_stdout(sys.stderr):  # Keras' "Downloading data from ..." is not the report
            path = Path(
                keras.utils.get_file(
                    TABLE_FILES[dataset],
                    origin=TABLE_URLS[dataset],
                    file_hash=TABLE_SHA256[dataset],
                    cache_subdir="datasets",
                    cache_dir=str(keras_cache_dir().parent),
                )
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except Exception as exc:  # keras raises bare Exception on URL failures and hash mismatches
        raise DataNotFoundError(not_found_message(dataset, cause=f"{type(exc).__name__}: {exc}")) from exc
    if digest != TABLE_SHA256[dataset]:
        raise DataFormatError(
            f"{path}: sha256 {digest[:12]}... differs from the official {TABLE_FILES[dataset]} "
            f"({TABLE_SHA256[dataset][:12]}...); delete it so that Keras downloads it again"
        )
    return path


def table_file(dataset: str, path: str | os.PathLike) -> Path:
    """The table's file: `path` itself, or the dataset's file in the folder `path`."""
    path, name = Path(path), TABLE_FILES[dataset]
    kind = path_kind(path)
    if kind == "file":
        return path
    if kind is None:
        raise DataNotFoundError(f"{path}: no such file or folder; give {name} or the folder holding it")
    try:
        if path_kind(path / name) == "file":
            return path / name
    except DataAccessError as exc:  # the folder may not be searched
        raise denied(path, "folder") from exc
    raise DataNotFoundError(f"{path}: no {name} in this folder; give {name} or the folder holding it")


def load_table(dataset: str, path: str | os.PathLike | None = None) -> Datasets:
    """'birth_life' or 'pima' from `path` (the file, or its folder), else downloaded: local files are parsed
    strictly but not checksummed (an edited copy is allowed), downloaded ones are sha256-checked.

    birth_life: train and test are both all 190 rows (the CS20 tutorial fits and plots all of them);
    features the birth rate (N, 1), labels the life expectancy (N, 1). pima: the first 614 rows train,
    the last `PIMA_TEST_ROWS` test; features min-max scaled by the training rows, labels the class (N, 1).
    """
    if dataset not in TABLE_FILES:
        raise ValueError(f"unknown table {dataset!r}; choose one of {tuple(TABLE_FILES)}")
    file = download_table(dataset) if path is None else table_file(dataset, path)
    source = f"keras download cache ({file})" if path is None else str(file)
    if dataset == "birth_life":
        births, lives, _ = read_birth_life(file)
        everything = Split(births, lives)
        return Datasets(dataset, everything, everything, source, feature_names=_BIRTH_LIFE_NUMBERS[:1])
    features, classes = read_pima(file)
    cut = features.shape[0] - PIMA_TEST_ROWS
    if cut < 2:
        raise DataFormatError(
            f"{file}: {features.shape[0]} rows, too few: the last {PIMA_TEST_ROWS} are the test split and "
            "min-max scaling needs 2 training rows or more; give the full file (768 rows)"
        )
    try:
        train, test = min_max_scaled(features[:cut], features[cut:])
    except ValueError as exc:
        raise DataFormatError(f"{file}: {exc}") from exc
    split_train, split_test = Split(train, classes[:cut]), Split(test, classes[cut:])
    return Datasets(dataset, split_train, split_test, source, feature_names=PIMA_FEATURES)
