"""docs/parity.md's "A complete example" runs as written.

The code is the fenced block between `<!-- parity-example:begin -->` and
`<!-- parity-example:end -->` in docs/parity.md, executed in a fresh namespace.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import pytest

from tfparity.compat import parity

DOC = Path(__file__).resolve().parents[1] / "docs" / "parity.md"
BLOCK = re.compile(r"<!-- parity-example:begin -->\s*```python\n(.*?)```\s*<!-- parity-example:end -->", re.S)


def example_source() -> tuple[str, str]:
    found = BLOCK.search(DOC.read_text(encoding="utf-8"))
    if not found:
        pytest.fail(f"no python block between <!-- parity-example:begin --> and <!-- parity-example:end --> in {DOC}")
    return found.group(1), str(DOC)


@pytest.fixture(scope="module")
def example() -> dict:
    code, where = example_source()
    namespace = {"__name__": "readme_parity_example"}
    exec(compile(code, where, "exec"), namespace)  # a fresh namespace: the block must import all it uses
    return namespace


def test_readme_example_passes(example, parity_check):
    example["test_two_layer_migration"](parity_check)


def test_readme_example_catches_keras_default_adam_epsilon(example):
    """docs/parity.md's "Reading the report": the same model with Adam's epsilon left at Keras' 1e-7."""

    def keras_default_epsilon() -> keras.Model:
        model = example["make_keras"]()
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True)
        )
        return model

    reference = parity.TF1GraphSide(example["build_tf1"], name="tf1")
    candidate = parity.TF2Side(keras_default_epsilon, name="keras", name_map=lambda name: name.split("/", 1)[1])
    report = parity.check_parity(reference, candidate, example["make_batches"]())
    first = report.trajectory.first_divergence
    assert report.verdict == parity.BUG and report.forward.ok and report.initial_values is not None
    assert first.step <= 3 and first.where in {"hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"}
    # The abridged report in docs/parity.md: its verdict line and the first divergence it names.
    doc = (
        DOC.read_text(encoding="utf-8").split("## Reading the report", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    )
    text = str(report)
    stale = "docs/parity.md's abridged report is stale: paste str(report) of this test's check_parity call, abridged"
    # Its numbers are one machine's: a CPU whose kernels round differently crosses the envelope a step
    # earlier or later, by another margin. What it says, and where, must hold everywhere.
    assert numbers_masked(doc.splitlines()[0]) == numbers_masked(text.splitlines()[0]), stale
    assert re.search(
        rf"first divergence beyond tolerance: step \d+: {re.escape(f'{first.where}{list(first.index)}')}", doc
    ), stale


def numbers_masked(line: str) -> str:
    """`line` with its measured numbers (margins, steps) as `#`; names and indices kept."""
    return re.sub(r"(?<![\[\w])\d+(\.\d+)?(?=x| )|(?<=step )\d+", "#", line)
