"""`tfparity bench` and the suite run in child processes on a few cheap cases: ratios on a drifting
machine, the malloc setting, the cache folder and pytest-benchmark's storage, the missing extra,
failed cases, full-mode rounds, unknown filters, and regression gating on a tiny benchmark.

The suite's own cases run under plain `pytest` (benchmarks/bench_styles.py, quick mode); these
tests drive it the way users do, through `tfparity bench` and pytest-benchmark's options.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess

import pytest
from benchmark_support import (
    REPO,
    data_path,
    run_child,
    tfparity_bench,
    tfparity_cache,  # noqa: F401  (autouse: a scratch cache for the children)
)

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
