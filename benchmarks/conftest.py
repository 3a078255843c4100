"""pytest options, fixtures and pytest-benchmark hooks of the benchmark suites (bench_styles.py, bench_models.py).

Plain `pytest` (and `pytest benchmarks/`) runs the quick suite that CI can afford;
`--bench-full` (what `tfparity bench` runs without `--quick`) runs the full-length one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

import pytest

from tfparity.benchmarks import allocator, cache, idioms
from tfparity.benchmarks.idioms import FULL, QUICK, TARGET_ACCURACY, TARGET_SEARCH_STEPS, BenchSettings

if TYPE_CHECKING:
    from tfparity.compat import Datasets, RunResult, TrainConfig

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfparity bench", "tfparity benchmark suite (benchmarks/bench_styles.py)")
    group.addoption(
        "--bench-full",
        action="store_true",
        help=f"full length ({FULL.steps} steps x {FULL.rounds} to {FULL.max_rounds} rounds per case) "
        f"instead of quick ({QUICK.steps} x {QUICK.rounds})",
    )
    group.addoption("--bench-steps", type=int, default=None, help="training steps per round (overrides the mode's)")
    group.addoption(
        "--bench-rounds", type=int, default=None, help="this many timed rounds for every case (default: the mode's)"
    )
    group.addoption(
        "--bench-style", action="append", default=[], help="run only this style (repeatable, or comma-separated)"
    )
    group.addoption(
        "--bench-idiom", action="append", default=[], help="run only this idiom (repeatable, or comma-separated)"
    )
    group.addoption("--bench-device", action="append", default=[], help="run only this device, cpu or gpu (repeatable)")
    group.addoption(
        "--bench-batch",
        action="append",
        default=[],
        help=f"run only this batch size (repeatable; of {list(idioms.BATCH_SIZES)} or any other)",
    )
    group.addoption(
        "--bench-model",
        action="append",
        default=[],
        help="bench_models.py: run only this model's cases (repeatable, or comma-separated)",
    )
    group.addoption(
        "--bench-malloc",
        choices=allocator.MALLOC_MODES,
        default="pinned",
        help="pinned (default): glibc malloc's mmap and trim thresholds fixed for every case "
        "(benchmarks/allocator.py); default: glibc's own",
    )
    group.addoption(
        "--bench-data-dir",
        default=None,
        help="MNIST folder or mnist.npz (default: the usual search, $TFPARITY_DATA_DIR ...)",
    )


def option_list(config: pytest.Config, name: str) -> list[str]:
    return [part.strip() for value in config.getoption(name) for part in value.split(",") if part.strip()]


def bench_settings_from(config: pytest.Config) -> BenchSettings:
    try:
        return idioms.bench_settings(
            config.getoption("bench_full"), config.getoption("bench_steps"), config.getoption("bench_rounds")
        )
    except ValueError as exc:
        raise pytest.UsageError(f"--bench-steps/--bench-rounds: {exc}") from None


MALLOC_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Installed, the suite runs without this repository's pyproject.toml: its markers are declared here too.
    config.addinivalue_line("markers", "gpu: needs a visible GPU; skipped with the reason where none is visible")
    bench_settings_from(config)  # a bad length stops the run here, before any case
    # Before any case allocates: the batch-10,000 cases otherwise pay page faults that depend on heap history.
    config.stash[MALLOC_KEY] = allocator.configure_malloc(config.getoption("bench_malloc"))
    # pytest-benchmark creates its storage folder at start-up, ./.benchmarks unless told otherwise: in whatever
    # folder pytest runs from. Unless the user named one, it goes under tfparity's cache folder instead (this
    # hook runs before pytest-benchmark's, which is trylast, reads the option).
    if hasattr(config.option, "benchmark_storage") and not cache.storage_given(
        [*config.invocation_params.args, *config.getini("addopts")]
    ):
        config.option.benchmark_storage = cache.benchmark_storage()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"tfparity bench allocator: {config.stash.get(MALLOC_KEY, 'not configured')}"]
    if hasattr(config.option, "benchmark_storage"):
        lines.append(
            f"tfparity bench storage: {config.option.benchmark_storage} "
            "(--benchmark-save and --benchmark-compare use it)"
        )
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the suite's cases that --bench-style/--bench-idiom/--bench-device/--bench-batch leave out."""
    models = option_list(config, "bench_model")
    if models:
        deselect(config, items, lambda params: "model" in params and params["model"] not in models)
    wanted = {name: option_list(config, f"bench_{name}") for name in ("style", "idiom", "device", "batch")}
    if not any(wanted.values()):
        return
    try:
        batches = [int(b) for b in wanted["batch"]]
        chosen = {
            (c.idiom.style, c.idiom.name, c.device, c.batch_size)
            for c in idioms.select(wanted["style"], wanted["idiom"], wanted["device"], batches)
        }
    except ValueError as exc:
        raise pytest.UsageError(f"--bench-*: {exc}") from None
    keys = ("style", "idiom", "device", "batch_size")
    deselect(config, items, lambda params: set(keys) <= set(params) and tuple(params[k] for k in keys) not in chosen)


def deselect(config: pytest.Config, items: list[pytest.Item], unwanted: Callable[[dict], bool]) -> None:
    """Drop the parametrized items whose parameters are `unwanted`, and say so to pytest."""
    keep, drop = [], []
    for item in items:
        (drop if unwanted(getattr(getattr(item, "callspec", None), "params", {})) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def bench_settings(pytestconfig: pytest.Config) -> BenchSettings:
    return bench_settings_from(pytestconfig)


@pytest.fixture(scope="session")
def whole_project_run(pytestconfig: pytest.Config) -> bool:
    """True under a plain `pytest` of the whole project (CI: the suites found through `testpaths`), False when
    a suite is named on the command line (`tfparity bench` does, as a user may). Quick cases that another
    test already runs through the command skip themselves in the first."""
    return pytestconfig.args_source == pytest.Config.ArgsSource.TESTPATHS


@pytest.fixture(scope="session")
def bench_data(pytestconfig: pytest.Config) -> Datasets:
    from tfparity.compat import load_dataset

    return load_dataset("mnist", pytestconfig.getoption("bench_data_dir"))


@pytest.fixture(scope="session")
def tf1_reference(bench_data: Datasets) -> Callable[[TrainConfig], RunResult]:
    """`reference(config)`: the TF1 feed_dict run on the CPU for `config`, trained once per session.

    A case's config differs from another's only in device and batch size (its steps follow from
    the batch), and the device is set to the CPU here: one reference run per batch size, which
    every case at that batch holds its accuracy and weights to.
    """
    reference = idioms.memoized_reference(lambda config: bench_data)
    return lambda config: reference(config.replace(device="cpu"))


@pytest.fixture(scope="session")
def accuracy_target(bench_data: Datasets) -> tuple[int, float]:
    """(steps, accuracy): the fewest steps (in tens) at which the model reaches TARGET_ACCURACY.

    Found once with the NumPy floor; every idiom trains to the same weights on the same plan.
    """
    from tfparity.benchmarks import numpy_floor
    from tfparity.compat import TrainConfig

    found = numpy_floor.steps_to_accuracy(bench_data, TrainConfig(steps=TARGET_SEARCH_STEPS), TARGET_ACCURACY)
    if found is None:
        pytest.fail(
            f"the model never reached test accuracy {TARGET_ACCURACY} within {TARGET_SEARCH_STEPS} steps: "
            "is this MNIST?"
        )
    return found


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Versions and hardware behind the numbers, into pytest-benchmark's JSON."""
    from tfparity.compat.devices import environment

    machine_info["tfparity"] = environment()


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict) -> None:
    from tfparity.benchmarks import numpy_floor
    from tfparity.compat.devices import peak_rss_mib, runtime_settings

    output_json["tfparity"] = {
        "settings": asdict(bench_settings_from(config)),
        "target_accuracy": TARGET_ACCURACY,
        "peak_rss_mib": peak_rss_mib(),
        "malloc": config.stash.get(MALLOC_KEY, None),
        "floor": numpy_floor.settings(),
        "runtime": runtime_settings(),
    }
