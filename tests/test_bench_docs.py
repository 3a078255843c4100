"""docs/results/: the published benchmark results come from a full `tfparity bench` run.

docs/results/cpu.md holds `tfparity bench --devices cpu --format markdown` output between its
markers (tests/test_docs.py checks that the README's batch-100 table copies its rows).
"""

from __future__ import annotations

import re

from benchmark_support import REPO


def readme_section(name: str, doc: str = "docs/results/cpu.md") -> str:
    """The text between `<!-- name:begin -->` and `<!-- name:end -->` in `doc`, a file of this repository."""
    commands = {
        "bench-cpu": "TFPARITY_DATA_DIR=../shared/data tfparity bench --devices cpu --format markdown -o bench-cpu.md",
        "bench-gpu": "TFPARITY_DATA_DIR=../shared/data tfparity bench --format markdown -o bench-gpu.md, on a GPU",
    }
    text = (REPO / doc).read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    assert begin in text and end in text, (
        f"{doc} lacks the {begin} / {end} markers: paste the output of `{commands[name]}` between them"
    )
    return text[text.index(begin) + len(begin) : text.index(end)]


def test_readme_cpu_results_come_from_a_full_tfparity_bench_run():
    """docs/results/cpu.md (the run the README's batch-100 table copies) holds
    `tfparity bench --devices cpu --format markdown` output: every CPU case, all passed, full length."""
    from tfparity.benchmarks import idioms

    stale = (
        "docs/results/cpu.md is not a full run of the current suite with every CPU case passed: paste the output "
        "of `TFPARITY_DATA_DIR=../shared/data tfparity bench --devices cpu --format markdown -o bench-cpu.md` "
        "between its markers"
    )
    section = readme_section("bench-cpu")
    assert "| style" in section, stale
    for case in idioms.select(devices=["cpu"]):
        row = rf"^\| {case.idiom.style}\s+\| {case.idiom.name}\s+\| cpu\s+\| {case.batch_size}\s+\|.*\| passed\s+\|$"
        assert re.search(row, section, re.M), f"{case.id}: {stale}"
    assert f"run: full, {idioms.FULL.steps} steps" in section and "TensorFlow " in section, stale
    rows = [
        line.split("|") for line in section.splitlines() if line.startswith("| ") and not line.startswith("| style")
    ]
    main_rows = [cells for cells in rows if len(cells) > 10]
    assert all(cells[3].strip() == "cpu" for cells in main_rows), "the CPU table holds CPU rows only"
    assert "**Batch scaling" in section, stale
    for style, idiom in idioms.SCALING_IDIOMS:
        for batch in idioms.BATCH_SIZES:
            assert re.search(rf"^\| {style}\s+\| {idiom}\s+\| {batch:,}\s+\| [\d,]+\s+\|", section, re.M), (
                style,
                idiom,
                batch,
                stale,
            )
    readme_section("bench-gpu", "docs/results/gpu.md")
