"""Shared fixtures: the real MNIST (and Fashion-MNIST) loaded once per test session.

Data is found the way users find it (compat.data.resolve_data_path): $TFPARITY_MNIST_DIR,
$TFPARITY_DATA_DIR/mnist, ... `.ci/run` sets TFPARITY_DATA_DIR=../shared/data. As a
convenience for a checkout with ../shared beside it, that folder is the fallback here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _data_path(dataset: str):
    from tfparity.compat.data import resolve_data_path

    where = resolve_data_path(dataset)
    folder = SHARED_DATA / dataset  # mnist/, birth_life/, pima/
    if where is None and dataset != "fashion_mnist" and folder.is_dir():
        where = folder
    return where


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, 60k + 10k. Fails (does not skip) when absent: every parity claim rests on it."""
    from tfparity.compat import load_dataset

    return load_dataset("mnist", _data_path("mnist"))


@pytest.fixture(scope="session")
def fashion_mnist():
    """Fashion-MNIST from Debian's dataset-fashion-mnist (installed by .ci/system-deps)."""
    from tfparity.compat import load_dataset

    return load_dataset("fashion_mnist", _data_path("fashion_mnist"))


@pytest.fixture(scope="session")
def birth_life():
    """Stanford CS20's birth_life_2010.txt: 190 countries' birth rate and life expectancy."""
    from tfparity.compat import load_dataset

    return load_dataset("birth_life", _data_path("birth_life"))


@pytest.fixture(scope="session")
def pima():
    """The Pima Indians diabetes CSV: 614 training rows and 154 test rows, min-max scaled."""
    from tfparity.compat import load_dataset

    return load_dataset("pima", _data_path("pima"))


@pytest.fixture(scope="session")
def measured(request):
    """`measured(id)` runs pitfall `id` once per session on the session's data fixtures."""
    from tfparity.benchmarks.pitfalls import PITFALLS, Measurement

    cache: dict[str, Measurement] = {}

    def get(pitfall_id: str) -> Measurement:
        if pitfall_id not in cache:
            cache[pitfall_id] = PITFALLS[pitfall_id].measure(request.getfixturevalue)
        return cache[pitfall_id]

    return get
