"""The tutorials' two tables (compat/data/tables.py): the real files load to their documented shapes and
values (PROVENANCE.md beside them); every malformed file is a one-line error naming its line and the fix;
where the tables are found; the download, with Keras' `get_file` replaced (no network here).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from data_support import idx_images, permission_taken, public_folder
from hypothesis import given, settings
from hypothesis import strategies as st

from tfparity.compat.data import (
    BIRTH_LIFE_FILE,
    PIMA_FILE,
    PIMA_TEST_ROWS,
    DataAccessError,
    DataError,
    DataFormatError,
    DataNotFoundError,
    Split,
    datasets_from_uint8,
    load_dataset,
    load_table,
    min_max_scaled,
    not_found_message,
    read_birth_life,
    read_pima,
    resolve_data_path,
    tables,
)

HEADER = tables.BIRTH_LIFE_HEADER + "\n"
KAGGLE = "Pregnancies,Glucose,BloodPressure,SkinThickness,Insulin,BMI,DiabetesPedigreeFunction,Age,Outcome\n"
ROW = "6,148,72,35,0,33.6,0.627,50,1\n"
TWO_COUNTRIES = HEADER + "Vietnam\t1.822\t74.828243902\nAngola\t5.443\t50.653658537\n"


def pima_rows(n: int) -> str:
    """`n` valid Pima rows, no column constant over any 2 consecutive rows."""
    i = np.arange(n)
    table = np.column_stack(
        [i % 17, 80 + i % 120, 40 + i % 60, i % 50, 7 * i % 300, 18 + i % 40 / 2, i % 90 / 100, 21 + i, i % 2]
    )
    return "".join(",".join(f"{v:g}" for v in row) + "\n" for row in table)


# --- the real files, found the way users find them ------------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, Path]:
    """The real files through $TFPARITY_DATA_DIR (CI: ../shared/data). Like the MNIST fixture, fails when absent."""
    found = {}
    for dataset in ("birth_life", "pima"):
        where = resolve_data_path(dataset)
        if where is None:
            pytest.fail(f"no local {dataset}: set TFPARITY_DATA_DIR to the folder holding birth_life/ and pima/")
        found[dataset] = tables.table_file(dataset, where)
    return found


def test_real_birth_life_values(real):
    births, lives, countries = read_birth_life(real["birth_life"])
    assert births.shape == lives.shape == (190, 1) and births.dtype == lives.dtype == np.float32
    assert len(countries) == 190 and (countries[0], countries[-1]) == ("Vietnam", "Angola")
    assert (births[0, 0], lives[0, 0]) == (np.float32(1.822), np.float32(74.828243902))
    assert (births[-1, 0], lives[-1, 0]) == (np.float32(5.443), np.float32(50.653658537))
    assert (births.min(), births.max(), lives.min(), lives.max()) == tuple(
        np.float32([1.092, 7.063, 47.36507317, 82.93268293])
    )
    assert abs(births.mean(dtype=np.float64) - 2.8146) < 1e-4 and abs(lives.mean(dtype=np.float64) - 69.617) < 1e-3


def test_real_birth_life_trains_and_tests_on_all_rows(real):
    data = load_dataset("birth_life", real["birth_life"].parent)  # the folder holding the file
    births, lives, _ = read_birth_life(real["birth_life"])
    assert data.source == str(real["birth_life"]) and data.feature_names == ("birth rate",)
    for split in (data.train, data.test):
        np.testing.assert_array_equal(split.images, births)
        np.testing.assert_array_equal(split.labels, lives)
    with pytest.raises(ValueError, match=r"one_hot needs integer class labels of shape \(N,\), these are float32"):
        _ = data.train.one_hot


def test_real_pima_values(real):
    features, classes = read_pima(real["pima"])
    assert features.shape == (768, 8) and classes.shape == (768, 1) and features.dtype == classes.dtype == np.float32
    means = [3.845, 120.895, 69.105, 20.536, 79.799, 31.993, 0.4719, 33.241, 0.349]
    np.testing.assert_allclose(np.hstack([features, classes]).mean(0, dtype=np.float64), means, atol=5e-4)
    np.testing.assert_array_equal(features[0], np.float32([6, 148, 72, 35, 0, 33.6, 0.627, 50]))
    assert classes[0, 0] == 1 and np.bincount(classes[:, 0].astype(int)).tolist() == [500, 268]


def test_real_pima_split_is_scaled_by_its_training_rows(real):
    data = load_dataset("pima", real["pima"])
    features, classes = read_pima(real["pima"])
    assert (data.train.num_examples, data.test.num_examples) == (614, PIMA_TEST_ROWS) == (614, 154)
    assert data.train.images.dtype == np.float32 and data.feature_names == tables.PIMA_FEATURES
    assert (data.train.images.min(0) == 0).all() and (data.train.images.max(0) == 1).all()  # exactly
    low, high = features[:614].astype(np.float64).min(0), features[:614].astype(np.float64).max(0)
    np.testing.assert_allclose(data.test.images, (features[614:] - low) / (high - low), rtol=1e-6)
    np.testing.assert_array_equal(data.train.labels, classes[:614])
    np.testing.assert_array_equal(data.test.labels, classes[614:])


def test_pinned_checksums_and_urls_are_the_real_files(real):
    assert hashlib.sha256(real["birth_life"].read_bytes()).hexdigest() == tables.BIRTH_LIFE_SHA256
    assert hashlib.sha256(real["pima"].read_bytes()).hexdigest() == tables.PIMA_SHA256
    assert tables.BIRTH_LIFE_URL.endswith("/51e53daaa2a32cfe7a1966f060b28dbbd081791c/examples/data/" + BIRTH_LIFE_FILE)
    assert tables.PIMA_URL.endswith("/d20fcb6402ae34e653d4513b00f39257bb37ed7f/" + PIMA_FILE)


# --- malformed files: one line naming the file, the line and the fix ---------------------------

BIRTH_LIFE_BAD = {
    "two fields": (HEADER + "Vietnam\t1.822\n", 2, "2 tab-separated fields, expected 3"),
    "four fields": (TWO_COUNTRIES + "Tonga\t3.9\t72.1\t9\n", 4, "4 tab-separated fields, expected 3"),
    "a bad number": (TWO_COUNTRIES + "Tonga\tabc\t72.1\n", 4, "birth rate 'abc' is not a number"),
    "NaN": (HEADER + "Vietnam\t1.822\tNaN\n", 2, "life expectancy 'NaN' is not finite"),
    "float32 overflow": (HEADER + "Vietnam\t1e39\t74.8\n", 2, "'1e39' is not finite in float32"),
    "no header": ("Vietnam\t1.822\t74.8\n", 1, r"the header is 'Vietnam\t1.822\t74.8', expected the header"),
    "a comma header": ("Country,Birth rate,Life expectancy\n", 1, "expected the header 'Country\\tBirth rate"),
    "an empty file": ("", 1, "the file is empty, expected the header"),
    "a header only": (HEADER + "\n\n", 2, "no data rows"),
    "a blank line inside": (HEADER + "Vietnam\t1.8\t74.8\n\nAngola\t5.4\t50.6\n", 3, "blank line inside the data"),
    "no country": (HEADER + " \t1.8\t74.8\n", 2, "the country name is empty"),
}
PIMA_BAD = {
    "eight columns": ("6,148,72,35,0,33.6,0.627,50\n", 1, "8 comma-separated fields, expected 9"),
    "semicolons": (ROW.replace(",", ";"), 1, "1 comma-separated fields, expected 9"),
    "not a number": (ROW + "1,85,66,x,0,26.6,0.351,31,0\n", 2, "skin_thickness 'x' is not a number"),
    "NaN": (ROW + "1,85,66,29,nan,26.6,0.351,31,0", 2, "insulin 'nan' is not finite"),
    "infinity": (ROW + "1,85,66,29,0,-inf,0.351,31,0", 2, "bmi '-inf' is not finite"),
    "class 2": (ROW + ROW + "1,85,66,29,0,26.6,0.351,31,2\n", 3, "class '2' is not 0 or 1"),
    "class 0.5": (ROW + "1,85,66,29,0,26.6,0.351,31,0.5\n", 2, "class '0.5' is not 0 or 1"),
    "an empty file": ("", 1, "no data rows"),
    "a header only": (KAGGLE, 2, "no data rows"),
    "a header of 8 names": (KAGGLE.replace(",Outcome", "") + ROW, 1, "8 comma-separated fields, expected 9"),
    "a header twice": (KAGGLE + ROW + KAGGLE, 3, "pregnancies 'Pregnancies' is not a number"),
    "a blank line inside": (ROW + " \n" + ROW, 2, "blank line inside the data"),
}
BINARY = {
    "gzip": (lambda text: gzip.compress(text.encode()), 1, "gzip-compressed data, not text (it starts with 1f8b)"),
    "IDX": (lambda text: idx_images(2), 1, "not a text file (byte 0x00 at offset 0); a binary file (an IDX file?)"),
    "Latin-1": (lambda text: (text + "C\xf4te\t4.7\t55.4\n").encode("latin-1"), 4, "not UTF-8 text (byte 0xf4"),
}


def _raises_at(read, path: Path, content: str | bytes, line: int, what: str) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataFormatError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ") and what in message and "\n" not in message, message


@pytest.mark.parametrize("case", list(BIRTH_LIFE_BAD))
def test_malformed_birth_life(tmp_path, case):
    _raises_at(read_birth_life, tmp_path / BIRTH_LIFE_FILE, *BIRTH_LIFE_BAD[case])


@pytest.mark.parametrize("case", list(PIMA_BAD))
def test_malformed_pima(tmp_path, case):
    _raises_at(read_pima, tmp_path / PIMA_FILE, *PIMA_BAD[case])


@pytest.mark.parametrize("case", list(BINARY))
@pytest.mark.parametrize("read", [read_birth_life, read_pima], ids=["birth_life", "pima"])
def test_binary_file_is_a_clear_error(tmp_path, read, case):
    make, line, what = BINARY[case]
    _raises_at(read, tmp_path / "table", make(TWO_COUNTRIES), line, what)


def test_tolerated_variants_read_the_same(tmp_path):
    path = tmp_path / "t"
    # No final newline, trailing blank lines, CRLF, a byte-order mark; Pima's header, spaces and a class '1.0'.
    crlf = TWO_COUNTRIES.replace("\n", "\r\n")
    for text in (TWO_COUNTRIES.rstrip("\n"), TWO_COUNTRIES + "\n \n", crlf, "\ufeff" + TWO_COUNTRIES):
        path.write_text(text, encoding="utf-8")
        births, lives, countries = read_birth_life(path)
        assert countries == ("Vietnam", "Angola") and births[:, 0].tolist() == list(np.float32([1.822, 5.443]))
    expected = np.float32([[6, 148, 72, 35, 0, 33.6, 0.627, 50]] * 2)
    spaced = " 6, 148,72,35,0,33.6,0.627,50,1.0"
    for text in (ROW + ROW.rstrip("\n"), KAGGLE + ROW + ROW + "\n\n", (ROW + ROW).replace("\n", "\r\n"), ROW + spaced):
        path.write_text(text)
        features, classes = read_pima(path)
        np.testing.assert_array_equal(features, expected)
        assert classes.tolist() == [[1.0], [1.0]]


@pytest.mark.parametrize("dataset", ["birth_life", "pima"])
def test_unreadable_file_and_folder_are_permission_errors_naming_them(dataset):
    with public_folder() as public:
        folder, name = public / dataset, tables.TABLE_FILES[dataset]
        folder.mkdir(mode=0o755)
        (folder / name).write_text(TWO_COUNTRIES if dataset == "birth_life" else pima_rows(160))
        with permission_taken(folder / name), pytest.raises(DataAccessError, match=rf"^{folder / name}: permission"):
            load_table(dataset, folder / name)
        with permission_taken(folder), pytest.raises(DataAccessError, match=rf"^{folder}: permission denied.*a\+rx"):
            load_table(dataset, folder)


def test_pima_with_too_few_rows_or_a_constant_training_column(tmp_path):
    path = tmp_path / PIMA_FILE
    path.write_text(pima_rows(PIMA_TEST_ROWS + 1))
    with pytest.raises(DataFormatError, match=rf"^{path}: 155 rows, too few: the last 154 are the test split"):
        load_table("pima", path)
    path.write_text("".join("0" + row[row.index(",") :] for row in pima_rows(PIMA_TEST_ROWS + 10).splitlines(True)))
    with pytest.raises(DataFormatError, match=rf"^{path}: column 0 is constant \(0\) in the training rows"):
        load_table("pima", path)


# --- min-max scaling and the Split ------------------------------------------------------------


def test_min_max_scaling_uses_the_training_rows_and_refuses_a_constant_column():
    train, test = min_max_scaled(np.array([[0, 10], [2, 20], [4, 30]]), np.array([[6.0, 0.0]]))
    assert train.dtype == test.dtype == np.float32
    np.testing.assert_array_equal(train, [[0, 0], [0.5, 0.5], [1, 1]])
    np.testing.assert_array_equal(test, [[1.5, -0.5]])  # outside [0, 1]: scaled by the training rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a division by zero would warn before anything raised
        with pytest.raises(ValueError, match=r"column 1 is constant \(5\) in the training rows.*divide by zero"):
            min_max_scaled(np.array([[0.0, 5.0], [1.0, 5.0]]))
    with pytest.raises(ValueError, match=r"every array must have 2 columns like train, got shape \(1, 3\)"):
        min_max_scaled(np.array([[0.0, 1.0], [1.0, 2.0]]), np.zeros((1, 3)))


def test_split_holds_any_width_and_mnist_keeps_784():
    assert Split(np.zeros((3, 8), np.float32), np.zeros((3, 1), np.float32)).num_examples == 3
    with pytest.raises(ValueError, match=r"labels must have 3 rows, like the images, got \(2, 1\)"):
        Split(np.zeros((3, 8), np.float32), np.zeros((2, 1), np.float32))
    with pytest.raises(ValueError, match=r"images must be float features of shape \(N, k\), got float32 \(3,\)"):
        Split(np.zeros(3, np.float32), np.zeros(3, np.int64))
    # MNIST's width is guaranteed where MNIST is built (every reader goes through datasets_from_uint8).
    small = (np.zeros((2, 27, 27), np.uint8), np.array([1, 2]))
    with pytest.raises(ValueError, match=r"images must have shape \(N, 784\), got \(2, 729\)"):
        datasets_from_uint8("mnist", small, small, source="test")


# --- where the tables are found --------------------------------------------------------------


@pytest.fixture
def unset(monkeypatch):
    """None of the variables that lead to the tables is set."""
    for var in ("TFPARITY_BIRTH_LIFE_DIR", "TFPARITY_PIMA_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def offline(unset):
    """No variable set, and a download that fails the test if reached."""

    def download(dataset: str):
        raise AssertionError(f"fell back to the download of {dataset}")

    unset.setattr("tfparity.compat.data.tables.download_table", download)
    return unset


def _pima_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / PIMA_FILE).write_text(pima_rows(170))
    return folder


def test_explicit_file_or_folder(offline, tmp_path):
    folder = _pima_folder(tmp_path / "mine")
    assert load_dataset("pima", folder / PIMA_FILE).source == str(folder / PIMA_FILE)
    data = load_dataset("pima", folder)
    assert data.source == str(folder / PIMA_FILE) and data is load_dataset("pima", folder)  # cached
    with pytest.raises(DataNotFoundError, match=rf"^{tmp_path}: no pima-indians-diabetes\.csv in this folder"):
        load_dataset("pima", tmp_path)
    with pytest.raises(DataNotFoundError, match=rf"^{tmp_path / 'nowhere'}: no such file or folder"):
        load_dataset("pima", tmp_path / "nowhere")


def test_dataset_variable(offline, tmp_path):
    folder = _pima_folder(tmp_path / "mine")
    offline.setenv("TFPARITY_PIMA_DIR", str(folder))
    assert load_dataset("pima").source == str(folder / PIMA_FILE)
    offline.setenv("TFPARITY_PIMA_DIR", str(folder / PIMA_FILE))
    assert resolve_data_path("pima") == folder / PIMA_FILE
    offline.setenv("TFPARITY_PIMA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=rf"^TFPARITY_PIMA_DIR={tmp_path} holds no pima-indians-diabetes\.csv"):
        load_dataset("pima")
    offline.setenv("TFPARITY_PIMA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match=r"no such file or folder; .*holding pima-indians-diabetes\.csv \(or"):
        load_dataset("pima")


def test_root_variable(offline, tmp_path):
    (tmp_path / "root" / "birth_life").mkdir(parents=True)
    (tmp_path / "root" / "birth_life" / BIRTH_LIFE_FILE).write_text(TWO_COUNTRIES)
    offline.setenv("TFPARITY_DATA_DIR", str(tmp_path / "root"))
    assert load_dataset("birth_life").source == str(tmp_path / "root" / "birth_life" / BIRTH_LIFE_FILE)
    no_pima = r"^TFPARITY_DATA_DIR=\S+root holds no pima/ folder \(nor pima-indians-diabetes\.csv\).*TFPARITY_PIMA_DIR"
    with pytest.raises(DataNotFoundError, match=no_pima):
        load_dataset("pima")
    folder = _pima_folder(tmp_path / "pima")  # the root may be the data set's own folder
    offline.setenv("TFPARITY_DATA_DIR", str(folder))
    assert resolve_data_path("pima") == folder
    offline.setenv("TFPARITY_PIMA_DIR", str(folder / PIMA_FILE))  # the data set's own variable wins
    offline.setenv("TFPARITY_DATA_DIR", str(tmp_path / "root"))
    assert resolve_data_path("pima") == folder / PIMA_FILE
    offline.delenv("TFPARITY_PIMA_DIR")
    offline.delenv("TFPARITY_DATA_DIR")  # nothing set: None, for the download
    assert resolve_data_path("birth_life") is None and resolve_data_path("pima") is None


# --- the download (Keras' get_file replaced: no network here) ----------------------------------


@pytest.fixture
def keras_home(unset, tmp_path):
    """An empty Keras cache in tmp_path, and Keras itself (its `get_file` to replace)."""
    unset.setenv("KERAS_HOME", str(tmp_path / "keras"))
    import keras

    return keras


def test_failed_download_says_how_to_point_at_a_local_copy(keras_home, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno 101] Network is unreachable")

    monkeypatch.setattr(keras_home.utils, "get_file", offline)
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("pima")
    message = str(info.value)
    assert "Network is unreachable" in message and "\n" not in message
    assert "--data-dir DIR (the folder holding pima-indians-diabetes.csv)" in message and "IDX" not in message
    assert "TFPARITY_PIMA_DIR=DIR" in message and "TFPARITY_DATA_DIR=ROOT (with ROOT/pima/)" in message
    assert "(the folder of the four IDX files)" in not_found_message("mnist")  # MNIST's message is unchanged


@pytest.mark.parametrize("modified", [False, True], ids=["official", "modified"])
def test_download_through_keras_cache_is_checksummed(keras_home, monkeypatch, tmp_path, real, capsys, modified):
    copy = tmp_path / "keras" / "datasets" / BIRTH_LIFE_FILE
    copy.parent.mkdir(parents=True)
    shutil.copy(real["birth_life"], copy)
    if modified:
        copy.write_text(copy.read_text().replace("74.828243902", "74.828243903"))
    calls = []

    def get_file(fname, **kwargs):
        calls.append((fname, kwargs))
        print(f"Downloading data from {kwargs['origin']}")
        return str(copy)

    monkeypatch.setattr(keras_home.utils, "get_file", get_file)
    if modified:
        with pytest.raises(DataFormatError, match=rf"^{copy}: sha256 .* differs from the official birth_life_2010"):
            load_dataset("birth_life")
    else:
        data = load_dataset("birth_life")
        assert data.train.num_examples == 190 and data.source == f"keras download cache ({copy})"
    out, err = capsys.readouterr()
    assert out == "" and "Downloading data from" in err
    pinned = {"origin": tables.BIRTH_LIFE_URL, "file_hash": tables.BIRTH_LIFE_SHA256, "cache_subdir": "datasets"}
    assert calls == [(BIRTH_LIFE_FILE, {**pinned, "cache_dir": str(tmp_path / "keras")})]


# --- fuzzing: whatever the bytes, a table or a DataError naming the file ------------------------


TABLE_TEXT = st.text(alphabet="0123456789.,-+eE\t\n\r naifV", max_size=300).map(str.encode)
PREFIX = st.sampled_from([b"", HEADER.encode(), KAGGLE.encode(), ROW.encode()])


@settings(max_examples=50, deadline=timedelta(seconds=1))
@given(payload=st.tuples(PREFIX, st.binary(max_size=300) | TABLE_TEXT).map(b"".join))
def test_fuzzed_tables_load_or_raise_a_data_error_naming_the_file(tmp_path_factory, payload):
    path = tmp_path_factory.getbasetemp() / "tables-fuzzed"
    path.write_bytes(payload)
    for read in (read_birth_life, read_pima):
        try:
            arrays = read(path)
        except DataError as exc:
            assert isinstance(exc, DataFormatError) and re.match(rf"{re.escape(str(path))}:\d+: ", str(exc))
            assert "\n" not in str(exc)
            continue
        rows = arrays[0].shape[0]
        assert rows >= 1 and all(a.shape[0] == rows for a in arrays[:2]) and np.isfinite(arrays[0]).all()
        if read is read_pima:
            assert arrays[0].shape[1] == 8 and set(np.unique(arrays[1])) <= {0.0, 1.0}
