"""The README's "Assert parity of your own migration in CI" example runs as written.

The code is the fenced block between `<!-- parity-example:begin -->` and
`<!-- parity-example:end -->` in README.md; until the README section is merged, the same block
in the section's draft (../readme_parts/parity.md beside the checkout) is used.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import pytest

from tfparity.compat import parity

ROOT = Path(__file__).resolve().parents[1]
DRAFT = ROOT.parent / "readme_parts" / "parity.md"
BLOCK = re.compile(r"<!-- parity-example:begin -->\s*```python\n(.*?)```\s*<!-- parity-example:end -->", re.S)


def example_source() -> tuple[str, str]:
    for path in (ROOT / "README.md", DRAFT):
        if path.is_file():
            found = BLOCK.search(path.read_text(encoding="utf-8"))
            if found:
                return found.group(1), str(path)
    pytest.fail(f"no python block between <!-- parity-example:begin --> and <!-- parity-example:end --> in {ROOT / 'README.md'}")


@pytest.fixture(scope="module")
def example() -> dict:
    code, where = example_source()
    namespace = {"__name__": "readme_parity_example"}
    exec(compile(code, where, "exec"), namespace)  # a fresh namespace: the block must import all it uses
    return namespace


def test_readme_example_passes(example, parity_check):
    example["test_two_layer_migration"](parity_check)


def test_readme_example_catches_keras_default_adam_epsilon(example):
    """The report shown under "Reading the report": the same model with Adam's epsilon left at 1e-7."""

    def keras_default_epsilon() -> keras.Model:
        model = example["make_keras"]()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        return model

    reference = parity.TF1GraphSide(example["build_tf1"], name="tf1")
    candidate = parity.TF2Side(keras_default_epsilon, name="keras", name_map=lambda name: name.split("/", 1)[1])
    report = parity.check_parity(reference, candidate, example["make_batches"]())
    first = report.trajectory.first_divergence
    assert report.verdict == parity.BUG and report.forward.ok and report.initial_values is not None
    assert first.step <= 3 and first.where in {"hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"}
