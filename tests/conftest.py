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
    if where is None and dataset == "mnist" and (SHARED_DATA / "mnist").is_dir():
        where = SHARED_DATA / "mnist"
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
def measured(request):
    """`measured(id)` runs pitfall `id` once per session on the session's data fixtures."""
    from tfparity.benchmarks.pitfalls import PITFALLS, Measurement

    cache: dict[str, Measurement] = {}

    def get(pitfall_id: str) -> Measurement:
        if pitfall_id not in cache:
            cache[pitfall_id] = PITFALLS[pitfall_id].measure(request.getfixturevalue)
        return cache[pitfall_id]

    return get
