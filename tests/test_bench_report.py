"""`tfparity bench`'s report, from one real run of the suite (`bench_run`): the JSON report, the
paired ratios and their intervals, batch scaling, the tables, the plots, pytest-benchmark's JSON,
and gating the real suite against the baseline that run saved.

Every test that reads `bench_run` lives here, so that the benchmark runs once.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import textwrap

import numpy as np
import pytest
from benchmark_support import (
    REPO,
    data_path,
    run_child,
    tfparity_bench,
    tfparity_cache,  # noqa: F401  (autouse: a scratch cache for the children)
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ISSUE_COLUMNS = [
    "style",
    "idiom",
    "device",
    "ms/step median",
    "IQR",
    "examples/s",
    "first step ms",
    "time to 0.91 s",
    "x TF1 feed_dict",
    "x NumPy floor",
    "test acc",
    "rounds",
]


@pytest.fixture(scope="module")
def bench_run(mnist, tmp_path_factory):
    """One `tfparity bench` run: TF1 feed_dict and the NumPy floor at batch 100 and 1000, GPUs hidden.

    With a JSON report, plots and a baseline saved to its own storage.
    """
    tmp = tmp_path_factory.mktemp("bench")
    store = tmp / "storage"
    proc = tfparity_bench(
        "--idioms",
        "feed_dict",
        "floor",
        "--batch-sizes",
        "100",
        "1000",
        "--format",
        "json",
        "-o",
        str(tmp / "report.json"),
        "--plot",
        str(tmp / "plots"),
        "--benchmark-json",
        str(tmp / "pytest-benchmark.json"),
        "--",
        f"--benchmark-storage=file://{store}",
        "--benchmark-save=baseline",
        cwd=tmp,
        data_dir=data_path(mnist),
        extra_env={"CUDA_VISIBLE_DEVICES": "-1"},  # force the no-GPU path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {
        "tmp": tmp,
        "store": store,
        "proc": proc,
        "report": json.loads((tmp / "report.json").read_text()),
        "benchmark_json": json.loads((tmp / "pytest-benchmark.json").read_text()),
    }


def test_json_report_has_one_object_per_case_with_the_issue_keys(bench_run):
    cases = {(c["style"], c["idiom"], c["device"], c["batch_size"]): c for c in bench_run["report"]["cases"]}
    assert set(cases) == {
        (style, idiom, device, batch)
        for batch in (100, 1000)
        for style, idiom, device in (
            ("tf1_graph", "feed_dict", "cpu"),
            ("tf1_graph", "feed_dict", "gpu"),
            ("numpy", "floor", "cpu"),
        )
    }
    baseline, floor = cases["tf1_graph", "feed_dict", "cpu", 100], cases["numpy", "floor", "cpu", 100]
    for case in (baseline, floor, cases["tf1_graph", "feed_dict", "cpu", 1000], cases["numpy", "floor", "cpu", 1000]):
        assert case["status"] == "passed"
        timed_to_target = ("time_to_target_s",) if case["batch_size"] == 100 else ()  # found at batch 100 only
        for key in (
            "ms_per_step_median",
            "ratio_vs_tf1_feed_dict",
            "ratio_vs_numpy_floor",
            "test_accuracy",
            "examples_per_s",
            "first_step_ms",
            "ms_per_step_iqr",
            *timed_to_target,
        ):
            assert isinstance(case[key], float) and case[key] >= 0, (key, case[key])
        assert case["rounds"] == 2 and case["steps"] * case["batch_size"] == 120 * 100
        assert abs(case["test_accuracy"] - case["reference_test_accuracy"]) <= 0.001
    assert baseline["ratio_vs_tf1_feed_dict"] == 1.0 and floor["ratio_vs_numpy_floor"] == 1.0
    assert baseline["examples_per_s"] == pytest.approx(100 * 1e3 / baseline["ms_per_step_median"])


def test_ratios_are_paired_with_anchor_runs_around_every_round(bench_run):
    from tfparity.benchmarks.bench_styles import paired_ratios

    report = {
        (c["style"], c["idiom"]): c
        for c in bench_run["report"]["cases"]
        if c["device"] == "cpu" and c["batch_size"] == 100
    }
    infos = {
        (b["extra_info"]["style"], b["extra_info"]["idiom"]): b["extra_info"]
        for b in bench_run["benchmark_json"]["benchmarks"]
        if b["extra_info"]["batch_size"] == 100
    }
    measured = {}
    for case, ratio in (
        (("tf1_graph", "feed_dict"), "ratio_vs_numpy_floor"),
        (("numpy", "floor"), "ratio_vs_tf1_feed_dict"),
    ):
        info = infos[case]
        anchors = info["anchor_ms_per_step"][ratio]
        assert len(anchors) == info["rounds"] + 1  # anchor, round, anchor, round, anchor
        measured[case] = paired_ratios(info["ms_per_step_rounds"], anchors)
        assert info[f"{ratio}_rounds"] == pytest.approx(measured[case], rel=1e-4)
    # TF1 over the floor, measured in both cases: the report reads it from all four rounds, the floor's inverted.
    pooled = float(np.median([*measured["tf1_graph", "feed_dict"], *(1 / v for v in measured["numpy", "floor"])]))
    assert report["tf1_graph", "feed_dict"]["ratio_vs_numpy_floor"] == pytest.approx(pooled, rel=1e-4)
    assert report["numpy", "floor"]["ratio_vs_tf1_feed_dict"] == pytest.approx(1 / pooled, rel=1e-4)
    assert bench_run["report"]["pooled_anchor_ratio"] == [100, 1000]


def test_batch_scaling_reports_examples_per_second_at_every_batch(bench_run):
    scaling = {(s["style"], s["idiom"], s["batch_size"]): s for s in bench_run["report"]["batch_scaling"]}
    assert set(scaling) == {
        (style, idiom, batch)
        for style, idiom in (("tf1_graph", "feed_dict"), ("numpy", "floor"))
        for batch in (100, 1000)
    }
    cases = {(c["style"], c["idiom"], c["device"], c["batch_size"]): c for c in bench_run["report"]["cases"]}
    for (style, idiom, batch), entry in scaling.items():
        assert entry["cpu_examples_per_s"] == cases[style, idiom, "cpu", batch]["examples_per_s"] > 0
        assert entry["gpu_examples_per_s"] is None and entry["gpu_over_cpu"] is None  # GPUs hidden
    markdown = render_from_kept_json(bench_run, "markdown", batch_sizes=[100, 1000])
    assert "**Batch scaling: examples/s" in markdown
    assert re.search(r"^\| numpy\s+\| floor\s+\| 1,000\s+\| [\d,]+\s+\|\s+\|\s+\|$", markdown, re.M), markdown


def test_gpu_cases_skip_with_the_reason_when_gpus_are_hidden(bench_run):
    gpu = [c for c in bench_run["report"]["cases"] if c["device"] == "gpu"]
    assert len(gpu) == 2
    for case in gpu:
        assert (
            case["status"] == "skipped" and "no GPU visible" in case["message"] and case["ms_per_step_median"] is None
        )


def test_report_carries_its_context(bench_run):
    import keras
    import numpy as np
    import tensorflow as tf

    ctx = bench_run["report"]["context"]
    assert (ctx["tensorflow"], ctx["keras"], ctx["numpy"]) == (tf.__version__, keras.__version__, np.__version__)
    assert ctx["python"] == sys.version.split()[0] and ctx["cpu"] and ctx["cpu_count"] == os.cpu_count()
    assert ctx["peak_rss_mib"] > 0 and ctx["settings"] == {
        "mode": "quick",
        "steps": 120,
        "rounds": 2,
        "warmup_rounds": 1,
        "max_rounds": 2,
        "seconds_per_case": 0.0,
    }
    assert ctx["gpus"] == [] or all({"name", "driver"} <= set(g) for g in ctx["gpus"])
    # The suite's process pinned glibc malloc's thresholds before any case, and the report says so.
    assert ("malloc pinned: mmap threshold 32 MiB, trim threshold 1 GiB" in ctx["malloc"]) == (
        platform.libc_ver()[0] == "glibc"
    ), ctx["malloc"]
    # The floor's settings and the process-wide runtime settings the child inherited (XLA_FLAGS and the like).
    from tfparity.benchmarks import numpy_floor
    from tfparity.compat.devices import RUNTIME_VARIABLES

    assert ctx["floor"] == numpy_floor.settings() and "no per-step allocation" in ctx["floor"]
    assert ctx["runtime"] == {name: os.environ[name] for name in RUNTIME_VARIABLES if name in os.environ}


def test_cpu_cases_are_read_against_ceilings_measured_once_per_session(bench_run):
    from tfparity.benchmarks import flops

    infos = [b["extra_info"] for b in bench_run["benchmark_json"]["benchmarks"]]
    ceilings = bench_run["report"]["ceilings"]
    assert all(info["ceilings"] == ceilings for info in infos)  # one measurement, every case
    assert ceilings["matmul_tf"]["gflops"] > 0 and ceilings["matmul_numpy"]["gflops"] > 0
    assert ceilings["bandwidth_numpy"]["gbps"] > 0 and ceilings["bandwidth_tf"]["gbps"] > 0
    for case in bench_run["report"]["cases"]:
        if case["device"] == "gpu":
            assert case["gflops"] is None
            continue
        batch, ms = case["batch_size"], case["ms_per_step_median"]
        assert (case["flops_per_step"], case["bytes_per_step"]) == (
            flops.softmax_step_flops(batch),
            flops.softmax_step_bytes(batch),
        )
        assert case["gflops"] == pytest.approx(flops.softmax_step_flops(batch) / ms / 1e6)
        assert case["of_matmul_tf"] == pytest.approx(case["gflops"] / ceilings["matmul_tf"]["gflops"])
        assert case["gbps"] == pytest.approx(flops.softmax_step_bytes(batch) / ms / 1e6)


def test_pytest_benchmark_json_is_kept_with_extra_info(bench_run):
    benchmarks = bench_run["benchmark_json"]["benchmarks"]
    assert len(benchmarks) == 4
    for bench in benchmarks:
        assert bench["stats"]["rounds"] == 2
        info = bench["extra_info"]
        for key in (
            "test_accuracy",
            "max_abs_dw",
            "steps",
            "batch_size",
            "device",
            "first_step_ms",
            "examples_per_s",
            "time_to_target_s",
        ):
            assert key in info, key
        # The same examples per round at every batch size: 120 steps of 100, 12 of 1000.
        assert (
            info["steps"] * info["batch_size"] == 120 * 100 and info["device"] == "cpu" and info["max_abs_dw"] <= 1e-5
        )
        assert (info["time_to_target_s"] is None) == (info["batch_size"] != 100)
    assert bench_run["benchmark_json"]["machine_info"]["tfparity"]["tensorflow"]


def render_from_kept_json(bench_run, fmt: str, batch_sizes: tuple[int, ...] = (100,)) -> str:
    from tfparity.benchmarks import benchrender, benchrunner, benchstats, idioms

    cases = idioms.select(idioms=["feed_dict", "floor"], batch_sizes=batch_sizes)
    outcomes = {
        idioms.case_id(c["style"], c["idiom"], c["device"], c["batch_size"]): (c["status"], c["message"])
        for c in bench_run["report"]["cases"]
    }
    suite = benchrunner.SuiteRun(returncode=0, output="", outcomes=outcomes, benchmark_json=bench_run["benchmark_json"])
    return benchrender.render(benchstats.build_report(cases, suite, "kept.json"), fmt)


def test_table_shows_every_issue_column_and_case(bench_run):
    table = render_from_kept_json(bench_run, "table")
    header = next(line for line in table.splitlines() if line.startswith("style"))
    for column in ISSUE_COLUMNS:
        assert column in header, column
    assert re.search(r"^tf1_graph\s+feed_dict\s+cpu\s+[\d.]+\s", table, re.M)
    assert re.search(r"^numpy\s+floor\s+cpu\s+[\d.]+\s.*passed$", table, re.M)
    assert re.search(r"^tf1_graph\s+feed_dict\s+gpu\s+.*skipped$", table, re.M)
    assert "TensorFlow " in table and "peak RSS" in table and "cores" in table
    # "TF1" is the tf.compat.v1 API on the installed TensorFlow, which a reader could take for TensorFlow 1.15.
    import tensorflow as tf

    assert (
        f"TF1 (tf1_graph, x TF1 feed_dict): the tf.compat.v1 API (graphs, placeholders, Session.run) on TensorFlow "
        f"{tf.__version__}'s runtime, not TensorFlow 1.15"
    ) in table
    assert "its weights are within 1e-05 of TF1 feed_dict's (max |dW| and |db|)" in table


def test_markdown_is_a_github_table(bench_run):
    markdown = render_from_kept_json(bench_run, "markdown")
    lines = markdown.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| style"))
    assert re.fullmatch(r"\|(-+\|)+", lines[header + 1].replace(":", "-").replace(" ", ""))
    assert all(column in lines[header] for column in ISSUE_COLUMNS)
    assert lines[0].startswith("- TensorFlow ")


def test_plots_are_valid_pngs(bench_run):
    import matplotlib.image
    from PIL import Image

    for name in ("ms_per_step.png", "loss_curves.png", "batch_scaling.png"):
        path = bench_run["tmp"] / "plots" / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE, name
        with Image.open(path) as image:
            image.verify()
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert pixels.std() > 0  # not a blank canvas


def test_report_gives_every_ratio_its_interval_from_the_rounds(bench_run):
    import copy

    kept = copy.deepcopy(bench_run)
    infos = {
        (b["extra_info"]["idiom"], b["extra_info"]["batch_size"]): b["extra_info"]
        for b in kept["benchmark_json"]["benchmarks"]
    }
    # As if 5 rounds each: the floor's 0.2 to 0.25x TF1 (4 to 5x inverted), TF1's 4.2 to 4.8x the floor.
    infos["floor", 100]["ratio_vs_tf1_feed_dict_rounds"] = [0.25, 0.2, 0.22, 0.24, 0.23]
    infos["feed_dict", 100]["ratio_vs_numpy_floor_rounds"] = [4.2, 4.8, 4.5, 4.4, 4.6]
    table = render_from_kept_json(kept, "table")
    # 10 pooled rounds: the median 4.45 between the 2nd and 9th smallest, 4.17 and 4.8.
    assert re.search(r"^tf1_graph\s+feed_dict\s+cpu\s+100\s.*\s1\.00\s+4\.45 \[4\.17, 4\.80\]\s", table, re.M), table
    assert re.search(r"^numpy\s+floor\s+cpu\s+100\s.*\s0\.22 \[0\.21, 0\.24\]\s+1\.00\s", table, re.M), table
    assert "This run pins a ratio down to ±7% (median over 2)" in table  # sqrt(4.8 / 4.17) - 1
    assert (
        "at batch 100 their two rows show one estimate from both cases' rounds" in table
    )  # batch 1,000 is not in this table
    assert "[0." not in render_from_kept_json(bench_run, "table")  # 2 + 2 rounds: too few for an interval, none shown
    report = json.loads(render_from_kept_json(kept, "json"))
    row = next(c for c in report["cases"] if (c["idiom"], c["batch_size"]) == ("floor", 100))
    assert (
        row["ratio_vs_tf1_feed_dict_ci95"] == pytest.approx([1 / 4.8, 1 / 4.1667], rel=1e-3)
        and row["ratio_vs_numpy_floor_ci95"] is None
    )


def test_compare_fail_gates_the_real_suite_against_a_saved_baseline(bench_run, mnist):
    # bench_run saved 0001_baseline from `tfparity bench ... -- --benchmark-save=baseline`;
    # now the same case with 5 ms planted in every NumPy step must trip the gate.
    tmp = bench_run["tmp"]
    (tmp / "slow_floor.py").write_text(
        textwrap.dedent("""
        import time
        import tfparity.benchmarks.numpy_floor as floor
        _step = floor.train_step
        def slow_step(*args, **kwargs):
            time.sleep(0.005)
            return _step(*args, **kwargs)
        floor.train_step = slow_step
    """)
    )
    proc = run_child(
        [
            "-m",
            "pytest",
            str(REPO / "benchmarks" / "bench_styles.py"),
            "-p",
            "no:cacheprovider",
            "-p",
            "slow_floor",
            "--bench-idiom=floor",
            "--bench-device=cpu",
            "--bench-batch=100",
            "--bench-steps=120",
            "--bench-rounds=2",
            f"--bench-data-dir={data_path(mnist)}",
            f"--benchmark-storage=file://{bench_run['store']}",
            "--benchmark-compare=0001",
            "--benchmark-compare-fail=median:50%",
        ],
        cwd=tmp,
        extra_env={"PYTHONPATH": str(tmp)},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"Performance has regressed:\s+.*numpy-floor-cpu", proc.stdout + proc.stderr), proc.stdout
