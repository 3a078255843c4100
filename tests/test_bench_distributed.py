"""`tfparity bench --distributed`: the data-parallel suite (benchmarks/bench_distributed.py) run as a command.

A plain `pytest` of the project skips the suite's quick cases (they would run twice); this runs
them through the command, as a user would, and reads its JSON report: ms per global step, and
each variant's overhead against the single-device style it is written in, measured in the same run.
"""

from __future__ import annotations

import json

import pytest
from benchmark_support import data_path, run_child, tfparity_cache  # noqa: F401  (tfparity_cache: autouse)

from tfparity.benchmarks import bench_distributed, cli
from tfparity.benchmarks.benchdistributed import render_distributed


@pytest.fixture(scope="module")
def distributed_report(mnist, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench-distributed")
    args = ["-m", "tfparity", "bench", "--distributed", "--models", "softmax", "--quick", "--rounds", "1"]
    proc = run_child([*args, "--data-dir", data_path(mnist), "--format", "json", "-o", str(tmp / "r.json")], cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp / "r.json").read_text())


def test_the_quick_run_times_one_case_of_each_kind_and_holds_them_to_tf1(distributed_report):
    ran = [r for r in distributed_report["cases"] if r["status"] != "skipped"]
    assert [r["variant"] for r in ran] == list(bench_distributed.QUICK_CASES["softmax"])
    assert {r["status"] for r in ran} == {"passed"}
    assert {r["kind"] for r in ran} == {"one device", "2 logical CPUs", "2 processes"}
    for row in ran:
        assert row["max_abs_dw"] <= 1e-5 and row["test_accuracy"] == row["reference_test_accuracy"]
        assert row["examples_per_s"] == pytest.approx(row["batch_size"] * 1e3 / row["ms_per_step_median"])


def test_each_variant_is_set_against_its_single_device_style_from_the_same_run(distributed_report):
    rows = {r["variant"]: r for r in distributed_report["cases"]}
    for variant in ("towers", "multi_worker"):
        base = rows[bench_distributed.BASELINE[variant]]
        assert rows[variant]["overhead"] == pytest.approx(
            rows[variant]["ms_per_step_median"] / base["ms_per_step_median"]
        )
    assert "overhead" not in rows["tf1_graph"]
    text = render_distributed(distributed_report, "markdown")
    assert "never a speed-up" in text and "(tf1_graph)" in text and "(function)" in text
    assert "case(s) skipped, not shown" in text and "| mirrored_keras |" not in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--distributed", "--models", "cnn"], "the data-parallel suite covers"),
        (["--distributed", "--styles", "eager"], "--styles: the softmax suite's options"),
        (["--models", "softmax"], "--models softmax: the softmax suite is what"),
    ],
)
def test_options_the_suite_cannot_honour_are_refused(capsys, argv, message):
    assert cli.main(["bench", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_the_docs_table_is_the_kept_json_rendered():
    """docs/distributed.md's bench table is `render_distributed` of the JSON kept beside it, not a hand edit."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    report = json.loads((repo / "docs/results/distributed-bench.json").read_text())
    doc = (repo / "docs/distributed.md").read_text()
    block = doc.split("<!-- bench-distributed:begin -->\n")[1].split("<!-- bench-distributed:end -->")[0]
    assert block.strip() == render_distributed(report, "markdown").strip()
    assert {r["status"] for r in report["cases"]} == {"passed"} and len(report["cases"]) == 2 * len(
        bench_distributed.CASES
    )
