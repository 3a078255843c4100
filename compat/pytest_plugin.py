"""tfparity's pytest plugin (entry point `tfparity` in the `pytest11` group).

Installing tfparity makes the `parity_check` fixture available in every test suite:

    def test_my_migration(parity_check):
        parity_check(TF1GraphSide(build_tf1), TF2Side(make_keras), batches)

It takes the arguments of `compat.parity.assert_parity` and fails the test with the whole
parity report as the message, once (no traceback into tfparity's own code); its first line,
what `pytest -ra` shows, is the verdict and where it was decided (on CI, with CI set, pytest's
-ra prints the whole message instead, so the report shows twice there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def parity_check() -> Callable[..., Any]:
    """`parity_check(reference, candidate, batches, **options) -> ParityReport`; fails the test with the report."""
    from tfparity.compat.parity import check_parity  # TensorFlow loads only in tests that use the fixture

    def check(reference: Any, candidate: Any, batches: Any, *, allow_sensitive: bool = False, **options: Any) -> Any:
        # check_parity, not assert_parity: an `assert` in the user's own build or train_step must fail with
        # its own traceback, not be mistaken for a verdict.
        report = check_parity(reference, candidate, batches, **options)
        if not report.passes(allow_sensitive):
            pytest.fail(str(report), pytrace=False)
        return report

    return check
