"""tfparity's pytest plugin (entry point `tfparity` in the `pytest11` group).

Installing tfparity makes the `parity_check` fixture available in every test suite:

    def test_my_migration(parity_check):
        parity_check(TF1GraphSide(build_tf1), TF2Side(make_keras), batches)

It takes the arguments of `compat.parity.assert_parity` and fails the test with the whole
parity report as the message, once (no traceback into tfparity's own code); its first line,
what `pytest -ra` shows, is the verdict and where it was decided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def parity_check() -> Callable[..., Any]:
    """`parity_check(reference, candidate, batches, **options) -> ParityReport`; fails the test with the report."""
    from tfparity.compat.parity import assert_parity  # TensorFlow loads only in tests that use the fixture

    def check(reference: Any, candidate: Any, batches: Any, **options: Any) -> Any:
        try:
            return assert_parity(reference, candidate, batches, **options)
        except AssertionError as failure:
            message = str(failure)
        # Outside the except block: pytest.fail there would chain the AssertionError and show the report twice.
        pytest.fail(message, pytrace=False)

    return check
