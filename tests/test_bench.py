"""`tfparity bench` and the benchmark suite's machinery: report, plots, failures, gating, devices.

The suite's own cases run under plain `pytest` (benchmarks/bench_styles.py, quick mode); these
tests drive it the way users do, through `tfparity bench` and pytest-benchmark's options, in
child processes, on a few cheap cases.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
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


def data_path(mnist) -> str:
    return str(Path(mnist.source).resolve())  # the children run in other folders


def run_child(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def tfparity_cache(tmp_path_factory):
    """The children's tfparity cache folder: a scratch one, never the user's ~/.cache/tfparity."""
    folder = tmp_path_factory.mktemp("tfparity-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFPARITY_CACHE_DIR", str(folder))
        yield folder


def tfparity_bench(
    *args: str, cwd: Path, data_dir: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # 120 steps (the fewest allowed), 2 rounds: the machinery under test, not the timings.
    return run_child(
        [
            "-m",
            "tfparity",
            "bench",
            "--quick",
            "--steps",
            "120",
            "--rounds",
            "2",
            "--data-dir",
            data_dir,
            *args,
        ],
        cwd=cwd,
        extra_env=extra_env,
    )


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


def kept_info(
    ratios: dict[str, list[float]], style: str = "function", idiom: str = "whole_epoch_xla", batch: int = 100
) -> dict:
    """A case's extra_info as the suite keeps it: per-round paired ratios and their median (1.0 for its own anchor)."""
    info = {"style": style, "idiom": idiom, "batch_size": batch}
    for ratio in ("ratio_vs_tf1_feed_dict", "ratio_vs_numpy_floor"):
        if ratio in ratios:
            info[f"{ratio}_rounds"] = ratios[ratio]
            info[ratio] = float(np.median(ratios[ratio]))
        else:
            info[ratio] = 1.0
    return info


def test_tf1_over_the_floor_is_one_estimate_from_both_cases_rounds():
    from tfparity.benchmarks import benchstats

    tf1_rounds = [4.0, 4.4, 3.8, 4.2, 4.6, 3.9]  # TF1's rounds between floor anchors
    floor_rounds = [0.2, 0.21, 0.19, 0.22, 0.2, 0.18]  # the floor's rounds between TF1 anchors: 4.5 to 5.6 inverted
    xla_rounds = {
        "ratio_vs_tf1_feed_dict": [0.2, 0.25, 0.22, 0.24, 0.21, 0.23],
        "ratio_vs_numpy_floor": [0.9, 1.0, 0.95, 0.85, 1.05, 0.92],
    }
    infos = {
        "tf1_graph-feed_dict-cpu": kept_info({"ratio_vs_numpy_floor": tf1_rounds}, "tf1_graph", "feed_dict"),
        "numpy-floor-cpu": kept_info({"ratio_vs_tf1_feed_dict": floor_rounds}, "numpy", "floor"),
        "function-whole_epoch_xla-cpu": kept_info(xla_rounds),
        # Batch 1,000 ran TF1 only (the floor was filtered out): nothing to pool there.
        "tf1_graph-feed_dict-cpu-b1000": kept_info({"ratio_vs_numpy_floor": [3.0] * 6}, "tf1_graph", "feed_dict", 1000),
    }
    estimates, pooled = benchstats.ratio_estimates(infos)
    assert pooled == [100]
    both = sorted([*tf1_rounds, *(1 / v for v in floor_rounds)])
    tf1_value, tf1_interval = estimates["tf1_graph-feed_dict-cpu", "ratio_vs_numpy_floor"]
    assert tf1_value == pytest.approx((both[5] + both[6]) / 2) and tf1_interval == [
        both[2],
        both[9],
    ]  # 12 rounds: 3rd and 10th
    floor_value, floor_interval = estimates["numpy-floor-cpu", "ratio_vs_tf1_feed_dict"]
    assert floor_value == pytest.approx(1 / tf1_value) and floor_interval == pytest.approx([1 / both[9], 1 / both[2]])
    # Every other ratio is its own case's median and interval, untouched.
    assert estimates["function-whole_epoch_xla-cpu", "ratio_vs_numpy_floor"] == (
        pytest.approx(0.935),
        benchstats.median_interval(xla_rounds["ratio_vs_numpy_floor"]),
    )
    assert estimates["tf1_graph-feed_dict-cpu-b1000", "ratio_vs_numpy_floor"] == (3.0, [3.0, 3.0])
    assert estimates["tf1_graph-feed_dict-cpu", "ratio_vs_tf1_feed_dict"] == (1.0, None)
    # A report written before the rounds were kept: its median, no interval.
    old = {
        "numpy-floor-cpu": {"style": "numpy", "idiom": "floor", "batch_size": 100, "ratio_vs_tf1_feed_dict": 0.24},
        "tf1_graph-feed_dict-cpu": {
            "style": "tf1_graph",
            "idiom": "feed_dict",
            "batch_size": 100,
            "ratio_vs_numpy_floor": 4.1,
        },
    }
    estimates, pooled = benchstats.ratio_estimates(old)
    assert pooled == [] and estimates["numpy-floor-cpu", "ratio_vs_tf1_feed_dict"] == (0.24, None)


def test_paired_ratios_cancel_a_drifting_machine():
    from tfparity.benchmarks.bench_styles import paired_ratios

    # The machine slows by 10% a run: the anchor (1 ms) and the case (3 ms) alternate in time.
    drift = [1 + 0.1 * k for k in range(7)]
    anchor, case = [1.0 * drift[k] for k in (0, 2, 4, 6)], [3.0 * drift[k] for k in (1, 3, 5)]
    assert paired_ratios(case, anchor) == pytest.approx([3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="3 rounds need 4 anchor runs"):
        paired_ratios(case, anchor[:3])


DRIFTING_MACHINE = """
import dataclasses
from tfparity.benchmarks import idioms

# Every run reports base ms/step x (1 + 10% per run so far): a machine slowing down steadily.
BASE_MS = {"tf1_graph": 1.0, "numpy": 0.25}
calls = []

def drifting(train, style):
    def run(data, config):
        result = train(data, config)
        calls.append(style)
        return dataclasses.replace(result, ms_per_step=BASE_MS[style] * (1 + 0.1 * len(calls)))
    return run

idioms.IDIOMS = tuple(
    dataclasses.replace(i, train=drifting(i.train, i.style)) if i.style in BASE_MS else i for i in idioms.IDIOMS
)
"""


def test_bench_ratios_hold_on_a_drifting_machine(mnist, tmp_path):
    # Unpaired, the floor (run after TF1, on a slower machine) would read well above 0.25x TF1.
    (tmp_path / "drifting_machine.py").write_text(DRIFTING_MACHINE)
    proc = tfparity_bench(
        "--idioms",
        "feed_dict",
        "floor",
        "--devices",
        "cpu",
        "--batch-sizes",
        "100",
        "--rounds",
        "3",
        "--format",
        "json",
        "--benchmark-json",
        str(tmp_path / "b.json"),
        "--",
        "-p",
        "drifting_machine",
        cwd=tmp_path,
        data_dir=data_path(mnist),
        extra_env={"PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = {c["style"]: c for c in json.loads(proc.stdout)["cases"]}
    assert cases["numpy"]["ratio_vs_tf1_feed_dict"] == pytest.approx(0.25, rel=1e-6)
    assert cases["tf1_graph"]["ratio_vs_numpy_floor"] == pytest.approx(4.0, rel=1e-6)
    assert cases["numpy"]["ms_per_step_median"] / cases["tf1_graph"]["ms_per_step_median"] > 0.25 * 1.2


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


def test_gpu_speed_up_is_gpu_over_cpu_examples_per_second():
    from tfparity.benchmarks import benchstats

    def row(device, batch, examples_per_s, status="passed"):
        return {
            "style": "function",
            "idiom": "whole_epoch_xla",
            "device": device,
            "batch_size": batch,
            "status": status,
            "examples_per_s": examples_per_s,
        }

    rows = [
        row("cpu", 100, 5e5),
        row("gpu", 100, 2e5),
        row("cpu", 10_000, 1e6),
        row("gpu", 10_000, 6e7),
        row("gpu", 1000, 9e9, "failed"),
    ]
    scaling = {s["batch_size"]: s for s in benchstats.batch_scaling(rows)}
    assert scaling[100]["gpu_over_cpu"] == pytest.approx(0.4) and scaling[10_000]["gpu_over_cpu"] == pytest.approx(60)
    assert 1000 not in scaling  # a failed case has no number to show
    assert benchstats.batch_scaling([row("cpu", 100, 5e5)]) == []  # batch 100 alone: nothing scaled


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


# Three 31 MB batches (one batch-10,000 step's worth) allocated, touched and freed, over and over:
# prints the page faults per round once the heap has settled. Run in a fresh process each time,
# so that its heap has no history.
ALLOCATION_CHURN = """
import resource, sys
import numpy as np
from tfparity.benchmarks import allocator
print(allocator.configure_malloc(sys.argv[1]))
def churn():
    batches = [np.ones((10_000, 784), np.float32) for _ in range(3)]
    del batches
for _ in range(3):
    churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def page_faults_per_churn(mode: str) -> float:
    proc = run_child(["-c", ALLOCATION_CHURN, mode], cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    said, faults = proc.stdout.strip().splitlines()
    assert ("malloc pinned" in said) == (mode == "pinned") and ("defaults kept" in said) == (mode == "default"), said
    return float(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_pinned_malloc_reuses_freed_batches_instead_of_faulting_them_back():
    # "default" is --bench-malloc=default: glibc left as it is.
    default, pinned = page_faults_per_churn("default"), page_faults_per_churn("pinned")
    if default < 100:
        pytest.skip(
            f"glibc's default kept the freed batches here too ({default:.0f} faults a round): nothing to pin away"
        )
    # By default glibc returns the freed 94 MB to the kernel and faults it back in every round.
    assert pinned < default / 20, f"{pinned:.0f} page faults a round pinned, {default:.0f} by default"


@pytest.mark.parametrize("mode", ["default", "pinned"])
def test_the_suite_header_names_the_malloc_setting_it_runs_under(mode, tmp_path):
    proc = run_child(
        [
            "-m",
            "pytest",
            str(REPO / "benchmarks" / "bench_styles.py"),
            "--collect-only",
            "-p",
            "no:cacheprovider",
            f"--bench-malloc={mode}",
        ],
        cwd=tmp_path,
        extra_env={"TFPARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("tfparity bench allocator:"))
    expected = "defaults kept (--bench-malloc=default)" if mode == "default" else "malloc pinned"
    assert expected in header or (mode == "pinned" and platform.libc_ver()[0] != "glibc"), header
    # Plain pytest too: pytest-benchmark's storage under the cache folder, said in the header, not ./.benchmarks.
    assert f"tfparity bench storage: file://{tmp_path / 'cache' / 'benchmarks'} " in proc.stdout, proc.stdout
    assert not (tmp_path / ".benchmarks").exists() and (tmp_path / "cache" / "benchmarks").is_dir()


def test_bench_passes_the_malloc_setting_to_the_suite():
    from tfparity.benchmarks import benchrunner, cli

    args = cli.build_parser(["bench"]).parse_args(["bench", "--malloc", "default"])
    assert "--bench-malloc=default" in benchrunner.pytest_command(args, "b.json", "j.xml")
    assert "--bench-malloc=pinned" in benchrunner.pytest_command(
        cli.build_parser(["bench"]).parse_args(["bench"]), "b.json", "j.xml"
    )


def test_cache_folder_is_tfparity_cache_dir_else_xdg_else_home(monkeypatch, tmp_path):
    from tfparity.benchmarks import cache

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TFPARITY_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "tfparity"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty: unset
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "tfparity"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "tfparity"
    monkeypatch.setenv("TFPARITY_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    assert cache.benchmark_storage() == f"file://{tmp_path / 'mine' / 'benchmarks'}"
    assert cache.default_benchmark_json() == tmp_path / "mine" / "tfparity-bench.json"


def test_bench_keeps_pytest_benchmark_storage_in_the_cache_unless_the_user_names_one(monkeypatch, tmp_path):
    from tfparity.benchmarks import benchrunner, cli

    monkeypatch.setenv("TFPARITY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)

    def storage_options(*words: str) -> list[str]:
        args = cli.build_parser(["bench"]).parse_args(["bench", *words])
        return [w for w in benchrunner.pytest_command(args, "b.json", "j.xml") if w.startswith("--benchmark-storage")]

    assert storage_options() == [f"--benchmark-storage=file://{tmp_path / 'benchmarks'}"]
    assert storage_options("--", "--benchmark-storage=file:///ci/cache") == ["--benchmark-storage=file:///ci/cache"]
    assert storage_options("--", "--benchmark-storage", "/ci/cache") == [
        "--benchmark-storage"
    ]  # its value follows, untouched
    monkeypatch.setenv(
        "PYTEST_ADDOPTS", "--benchmark-storage=file:///ci/cache"
    )  # pytest reads it: the user named one there
    assert storage_options() == []
    monkeypatch.delenv("PYTEST_ADDOPTS")
    # Saving or comparing without naming a storage: the command says where the runs are.
    note = benchrunner.storage_note(cli.build_parser(["bench"]).parse_args(["bench", "--", "--benchmark-save=main"]))
    assert note and f"file://{tmp_path / 'benchmarks'}" in note
    assert benchrunner.storage_note(cli.build_parser(["bench"]).parse_args(["bench"])) is None


@pytest.mark.parametrize(
    "words,missing,what",
    [
        ([], "pytest_benchmark", "tfparity bench"),
        ([], "threadpoolctl", "tfparity bench"),
        (["--plot", "plots"], "matplotlib", "tfparity bench --plot"),
    ],
)
def test_bench_without_its_extra_is_a_usage_error_before_any_work(monkeypatch, capsys, tmp_path, words, missing, what):
    import importlib.util

    from tfparity.benchmarks import bench, cli

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a, **k: None if name == missing else find_spec(name, *a, **k)
    )
    monkeypatch.setattr(bench, "run_suite", lambda *a, **k: pytest.fail("the suite ran without its dependencies"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "--quick", *words]) == 2
    err = capsys.readouterr().err
    assert err == f"tfparity bench: error: {what} needs {missing}: pip install 'tfparity[bench]'\n"
    assert not (tmp_path / "plots").exists()


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


# Two ways to be fast and wrong, both in the NumPy floor: at batch 100 it trains at 1% of the learning
# rate (accuracy far off), at batch 1,000 it ends with every weight of W moved by 1e-4. The second keeps
# the test accuracy exactly (every logit of an example moves by the same amount): only the weights tell.
WRONG_FLOOR = """
import dataclasses
import tfparity.benchmarks.numpy_floor as floor

_train = floor.train

def wrong_train(data, config):
    if config.batch_size == 100:
        return _train(data, config.replace(learning_rate=config.learning_rate * 0.01))
    result = _train(data, config)
    return dataclasses.replace(result, weights={**result.weights, "W": result.weights["W"] + 1e-4})

floor.train = wrong_train
"""


@pytest.fixture(scope="module")
def wrong_floor_run(mnist, tmp_path_factory) -> subprocess.CompletedProcess:
    tmp = tmp_path_factory.mktemp("wrong-floor")
    (tmp / "wrong_floor.py").write_text(WRONG_FLOOR)
    return tfparity_bench(
        "--idioms",
        "floor",
        "--batch-sizes",
        "100",
        "1000",
        "--rounds",
        "1",
        "--benchmark-json",
        str(tmp / "b.json"),
        "--",
        "-p",
        "wrong_floor",
        cwd=tmp,
        data_dir=data_path(mnist),
        extra_env={"PYTHONPATH": str(tmp)},
    )


def test_a_failed_case_shows_as_failed_and_exits_non_zero(wrong_floor_run):
    proc = wrong_floor_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^numpy\s+floor\s+cpu\s+100\s.*FAILED$", proc.stdout, re.M), proc.stdout
    assert "FAILED numpy-floor-cpu: AssertionError: numpy/floor on cpu: test accuracy" in proc.stdout
    assert "2 case(s) failed" in proc.stderr and "AssertionError" in proc.stderr


def test_a_case_with_the_right_accuracy_but_other_weights_fails(wrong_floor_run):
    proc = wrong_floor_run
    assert re.search(r"^numpy\s+floor\s+cpu\s+1000\s.*FAILED$", proc.stdout, re.M), proc.stdout
    # The weight assertion is the one that fired: the accuracy assertion before it held.
    assert (
        "FAILED numpy-floor-cpu-b1000: AssertionError: numpy/floor on cpu at batch 1000: max |dW| 1.00e-04 "
        "against TF1 feed_dict's weights (CPU, same config), beyond 1e-05"
    ) in proc.stdout, proc.stdout
    assert "max |dW|" in proc.stderr  # pytest's traceback of the weight assertion


def test_ratio_drift_against_a_previous_report(tmp_path):
    from tfparity.benchmarks.benchrender import drift_lines
    from tfparity.benchmarks.benchstats import load_previous, ratio_drift

    def case(style, idiom, vs_tf1, vs_floor):
        return {
            "style": style,
            "idiom": idiom,
            "device": "cpu",
            "ratio_vs_tf1_feed_dict": vs_tf1,
            "ratio_vs_numpy_floor": vs_floor,
        }

    before = [
        case("tf1_graph", "feed_dict", 1.0, 4.0),
        case("eager", "gradient_tape", 7.0, 28.0),
        case("numpy", "floor", 0.25, 1.0),
    ]
    now = [
        case("tf1_graph", "feed_dict", 1.0, 4.4),
        case("eager", "gradient_tape", 9.1, 30.0),
        case("numpy", "floor", 0.25, 1.0),
    ]
    (tmp_path / "before.json").write_text(json.dumps({"context": {}, "cases": before}))
    drift = ratio_drift(now, load_previous(str(tmp_path / "before.json")), "before.json")
    assert drift["compared"] == 4  # the baseline's own x TF1 and the floor's own x floor are 1 by definition
    assert [(c["case"], c["ratio"]) for c in drift["beyond"]] == [("eager-gradient_tape-cpu", "ratio_vs_tf1_feed_dict")]
    assert drift["largest"]["change"] == pytest.approx(0.3)
    lines = drift_lines(drift)
    assert "largest change +30%" in lines[0] and "all within 20%: no" in lines[0]
    # With intervals: a move whose two intervals overlap is noise; disjoint ones are a real change.
    now[1] |= {"ratio_vs_tf1_feed_dict_ci95": [8.5, 9.6], "ratio_vs_numpy_floor_ci95": [27.0, 33.0]}
    before[1] |= {"ratio_vs_tf1_feed_dict_ci95": [6.5, 7.4], "ratio_vs_numpy_floor_ci95": [25.0, 31.0]}
    (tmp_path / "before.json").write_text(json.dumps({"context": {}, "cases": before}))
    drift = ratio_drift(now, load_previous(str(tmp_path / "before.json")), "before.json")
    assert drift["with_intervals"] == 2 and [c["ratio"] for c in drift["disjoint"]] == ["ratio_vs_tf1_feed_dict"]
    lines = drift_lines(drift)
    assert "95% intervals that no longer overlap: 1 of 2 (eager-gradient_tape-cpu, ratio_vs_tf1_feed_dict)" in lines[0]
    assert lines[1] == (
        "moved beyond 20%: eager-gradient_tape-cpu ratio_vs_tf1_feed_dict +30% "
        "(now 9.10 [8.50, 9.60], before 7.00 [6.50, 7.40])"
    )
    (tmp_path / "other.json").write_text(json.dumps({"benchmarks": []}))
    with pytest.raises(ValueError, match=r"other\.json: not a report of `tfparity bench --format json`"):
        load_previous(str(tmp_path / "other.json"))


def test_median_interval_is_the_order_statistic_interval():
    from tfparity.benchmarks.benchstats import median_interval

    # The textbook ranks of the distribution-free 95% interval for a median (k-th smallest, k-th largest).
    for n, (low, high) in {6: (1, 6), 10: (2, 9), 12: (3, 10), 20: (6, 15), 40: (14, 27)}.items():
        values = list(np.random.default_rng(n).permutation(np.arange(1.0, n + 1)))
        assert median_interval(values) == [low, high], n
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # no 95% interval from 5 values
    assert median_interval([]) is None


def test_median_interval_covers_the_median_of_skewed_rounds_95_percent_of_the_time():
    from tfparity.benchmarks.benchstats import median_interval

    # Rounds on a shared VM: a base time with slow spells on top (lognormal, heavily skewed).
    rng = np.random.default_rng(0)
    true_median = 1.0  # lognormal(0, s) has median exp(0)
    covered = [
        low <= true_median <= high
        for low, high in (median_interval(rng.lognormal(0.0, 0.3, size=10)) for _ in range(4000))
    ]
    assert 0.95 <= np.mean(covered) <= 0.99  # exact coverage for 10 rounds: 97.85%; min..max would give 99.8%


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


def test_run_lengths_that_leave_nothing_to_time_are_refused():
    from tfparity.benchmarks import idioms

    assert idioms.bench_settings(full=True) == idioms.FULL and idioms.bench_settings(full=False, rounds=5).rounds == 5
    with pytest.raises(ValueError, match=f"steps must exceed {idioms.STEPS_PER_CALL}"):
        idioms.bench_settings(full=False, steps=idioms.STEPS_PER_CALL)  # keras would have one call, no steady state


def test_cheap_cases_take_more_rounds_up_to_the_cap():
    from tfparity.benchmarks import idioms

    full = idioms.FULL  # 10 to 40 rounds, as many as fill 20 s
    assert [full.rounds_for(s) for s in (10.0, 2.0, 1.0, 0.5, 0.1)] == [10, 10, 20, 40, 40]
    fixed = idioms.bench_settings(full=True, rounds=5)  # --rounds: every case, whatever its speed
    assert fixed.rounds_for(0.01) == fixed.rounds_for(100.0) == 5
    assert idioms.QUICK.rounds_for(0.01) == idioms.QUICK.rounds


# Full mode shrunk to 2..6 rounds filling 6 s, and TF1 made 2 s slower at batch 1,000 only.
SLOW_AT_1000 = """
import dataclasses, time
from tfparity.benchmarks import idioms

idioms.FULL = dataclasses.replace(idioms.FULL, rounds=2, max_rounds=6, seconds_per_case=6.0)

def slow_at_1000(train):
    def run(data, config):
        if config.batch_size == 1000:
            time.sleep(2.0)
        return train(data, config)
    return run

idioms.IDIOMS = tuple(
    dataclasses.replace(i, train=slow_at_1000(i.train)) if i.style == "tf1_graph" else i for i in idioms.IDIOMS
)
"""


def test_full_run_gives_each_case_the_rounds_its_speed_affords(mnist, tmp_path):
    (tmp_path / "slow_at_1000.py").write_text(SLOW_AT_1000)
    cache = tmp_path / "cache"
    # No --benchmark-json, no --benchmark-storage: both defaults in play.
    proc = run_child(
        [
            "-m",
            "tfparity",
            "bench",
            "--steps",
            "120",
            "--idioms",
            "feed_dict",
            "floor",
            "--devices",
            "cpu",
            "--batch-sizes",
            "100",
            "1000",
            "--data-dir",
            data_path(mnist),
            "--format",
            "json",
            "--",
            "-p",
            "slow_at_1000",
        ],
        cwd=tmp_path,
        extra_env={"PYTHONPATH": str(tmp_path), "TFPARITY_CACHE_DIR": str(cache)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    # pytest-benchmark's JSON and its storage went under the cache folder; nothing into the working directory.
    assert not (tmp_path / ".benchmarks").exists()
    assert report["context"]["benchmark_json"] == str(cache / "tfparity-bench.json")
    assert json.loads((cache / "tfparity-bench.json").read_text())["benchmarks"] and (cache / "benchmarks").is_dir()
    rounds = {(c["style"], c["batch_size"]): c["rounds"] for c in report["cases"]}
    # Batch 100: a round (case and anchor) takes well under 1 s, so both cases take the cap.
    assert rounds["tf1_graph", 100] == rounds["numpy", 100] == 6
    # Batch 1,000: TF1 runs in every round (as the case or as the anchor), 2 s or more a round.
    assert 2 <= rounds["tf1_graph", 1000] <= 3 and 2 <= rounds["numpy", 1000] <= 3
    assert report["context"]["settings"]["max_rounds"] == 6


def test_unknown_filter_names_are_rejected_before_running(tmp_path):
    proc = run_child(["-m", "tfparity", "bench", "--idioms", "whole_epoc"], cwd=tmp_path)
    assert proc.returncode == 2 and "unknown idiom(s) ['whole_epoc']" in proc.stderr


# --- regression gating: pytest-benchmark's --benchmark-save / --benchmark-compare-fail ------------

TINY_BENCHMARK = """
import os, time

def test_sleep(benchmark):
    benchmark.pedantic(time.sleep, args=(float(os.environ["DELAY_S"]),), rounds=5, warmup_rounds=1)
"""


def test_compare_fail_passes_on_equal_runs_and_trips_on_a_slowdown(tmp_path):
    (tmp_path / "test_tiny.py").write_text(TINY_BENCHMARK)
    storage = f"--benchmark-storage=file://{tmp_path / 'storage'}"

    def pytest_run(delay: float, *options: str) -> subprocess.CompletedProcess:
        return run_child(
            ["-m", "pytest", "test_tiny.py", "-p", "no:cacheprovider", storage, *options],
            cwd=tmp_path,
            extra_env={"DELAY_S": str(delay)},
            timeout=120,
        )

    saved = pytest_run(0.02, "--benchmark-save=baseline")
    assert saved.returncode == 0, saved.stdout
    assert len(list((tmp_path / "storage").glob("*/0001_baseline.json"))) == 1
    gate = ("--benchmark-compare=0001", "--benchmark-compare-fail=median:50%")
    equal = pytest_run(0.02, *gate)
    assert equal.returncode == 0, equal.stdout
    slower = pytest_run(0.1, *gate)
    assert slower.returncode == 1, slower.stdout
    assert "Performance has regressed" in slower.stdout + slower.stderr


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


# --- devices ------------------------------------------------------------------------------------

FORCED_DEVICE_CHILD = """
import sys
import tensorflow as tf

# Two logical CPUs; the styles' "gpu" now resolves to the second one. Everything from
# TrainConfig(device="gpu") down to each style's tf.device scope runs as it would on a GPU.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import importlib, pkgutil
import tfparity.tf1_graph, tfparity.tf2_eager
from tfparity.compat import devices
from tfparity.benchmarks import placement

def forced(device):
    return "/CPU:1" if device == "gpu" else devices.tf_device_name(device)

# Every module of the two style packages that picks a device: the styles and the tuned idioms' own modules.
for package in (tfparity.tf1_graph, tfparity.tf2_eager):
    for found in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(found.name)
        if hasattr(module, "tf_device_name"):
            module.tf_device_name = forced
sys.exit(placement.main(["--device", "gpu", "--steps", "5", "--data-dir", sys.argv[1]]))
"""


def placement_report(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_gpu_code_path_places_every_idiom_on_the_selected_device(mnist, tmp_path):
    report = placement_report(
        run_child(["-c", FORCED_DEVICE_CHILD, data_path(mnist)], cwd=REPO, extra_env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    )
    from tfparity.benchmarks import idioms

    expected = {c.idiom.key for c in idioms.select(devices=["gpu"], batch_sizes=[100])}
    assert set(report) == expected
    for key, found in report.items():
        assert found["compute_devices"] == ["CPU:1"], (key, found)
        assert found["max_abs_diff_vs_tf1_cpu"] <= 1e-5, (key, found)
    # The XLA idiom's cluster runs where its compiled function is called: that is asserted, not
    # whether XLA happens to log a MatMul (it logs none once another idiom has run).
    for key in ("function/whole_epoch", "function/whole_epoch_xla", "function/per_step"):
        assert report[key]["function_devices"] == ["CPU:1"], (key, report[key])


def test_placement_log_is_read_for_matmuls_and_compiled_function_calls():
    from tfparity.benchmarks import placement

    log = "\n".join(
        [
            "I0000 placer.cc:162] MatMul: (MatMul): /job:localhost/replica:0/task:0/device:CPU:0",
            "I0000 eager: Executing op MatMul in device /job:localhost/replica:0/task:0/device:GPU:0",
            "I0000 eager: Executing op __inference_train_epoch_178 in device "
            "/job:localhost/replica:0/task:0/device:GPU:1",
            "I0000 eager: Executing op AddV2 in device /job:localhost/replica:0/task:0/device:CPU:3",
        ]
    )
    assert placement.matmul_devices(log) == ["CPU:0", "GPU:0"]
    assert placement.function_devices(log) == ["GPU:1"]


def test_every_idiom_runs_on_the_gpu_when_one_exists(mnist):
    from tfparity.compat.devices import gpu_skip_reason

    reason = gpu_skip_reason()
    if reason:
        pytest.skip(reason)
    report = placement_report(
        run_child(["-m", "tfparity.benchmarks.placement", "--device", "gpu", "--data-dir", data_path(mnist)], cwd=REPO)
    )
    for key, found in report.items():
        assert found["compute_devices"] == ["GPU:0"], (key, found)


# --- README ---------------------------------------------------------------------------------------


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
