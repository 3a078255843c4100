"""`tfparity bench`: run the benchmark suite through pytest and report it as one table.

The suite is `benchmarks/bench_styles.py`, run by pytest in a child process exactly as
`pytest benchmarks/bench_styles.py --bench-full` would run it. pytest-benchmark's JSON is kept
(`--benchmark-json`); the table is read from it and from pytest's own verdict per case
(JUnit XML), so a case that failed its accuracy or weight assertion shows as FAILED and makes
the command exit non-zero, whatever its timings were.

This module is the command (its arguments, and the order of the work); the work lives in
`benchrunner` (the child pytest run), `benchstats` (the report's numbers), `benchrender` (the
report as text) and `benchplots` (the figures). Their names carry no `bench_` prefix because
pyproject's `python_files` collects `bench_*.py` as benchmark suites.
"""

from __future__ import annotations

import argparse
import sys

from tfparity.benchmarks import allocator, cache, cli, idioms, report_args
from tfparity.benchmarks.benchrender import render
from tfparity.benchmarks.benchrunner import SuiteRun, failure_excerpt, missing_baseline, run_suite, storage_note
from tfparity.benchmarks.benchstats import build_report, load_previous, nothing_measured, ratio_drift
from tfparity.compat import MODELS, tf_logs

# The optional dependencies (tfparity[bench]) the command needs, as importable module names:
# pytest runs the suite, pytest-benchmark times it, threadpoolctl pins the NumPy floor's BLAS threads.
SUITE_MODULES = ("pytest", "pytest_benchmark", "threadpoolctl")
PLOT_MODULES = ("matplotlib",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    styles = sorted({i.style for i in idioms.IDIOMS})
    names = [i.name for i in idioms.IDIOMS]
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=list(MODELS),
        metavar="MODEL",
        help="instead of the softmax suite, the models suite (benchmarks/bench_models.py) for these models, of "
        f"{[m for m in MODELS if m != 'softmax']}: every style's ms/step and GFLOP/s against a measured ceiling",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="instead of the softmax suite, the data-parallel suite (benchmarks/bench_distributed.py): ms per global "
        "step of TF1 towers and between-graph, MirroredStrategy and MultiWorkerMirroredStrategy over 2 replicas, "
        "against their styles on one device (--models picks softmax and/or mlp)",
    )
    parser.add_argument("--styles", nargs="+", default=None, metavar="STYLE", help=f"only these styles, of {styles}")
    parser.add_argument("--idioms", nargs="+", default=None, metavar="IDIOM", help=f"only these idioms, of {names}")
    parser.add_argument(
        "--devices",
        nargs="+",
        default=None,
        choices=list(idioms.DEVICES),
        help="only these devices (default: both; GPU cases skip where none is visible)",
    )
    parser.add_argument(
        "--batch-sizes",
        nargs="+",
        type=batch_size_arg,
        default=None,
        metavar="N",
        help=f"only these batch sizes (default {' '.join(map(str, idioms.BATCH_SIZES))}; every idiom runs at "
        f"{idioms.BATCH_SIZE}, the others run {', '.join('/'.join(k) for k in idioms.SCALING_IDIOMS)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the short CI run ({idioms.QUICK.steps} steps, {idioms.QUICK.rounds} rounds) instead of the full one "
        f"({idioms.FULL.steps} steps, {idioms.FULL.rounds} to {idioms.FULL.max_rounds} rounds: "
        "the cheap cases take more)",
    )
    parser.add_argument(
        "--steps",
        type=report_args.positive(int, "--steps", "a whole number"),
        default=None,
        help="training steps per round (overrides the mode's)",
    )
    parser.add_argument(
        "--rounds",
        type=report_args.positive(int, "--rounds", "a whole number"),
        default=None,
        help="this many timed rounds for every case (default: the mode's)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="PATH",
        help="MNIST folder of IDX files or mnist.npz (default: the usual search)",
    )
    parser.add_argument(
        "--malloc",
        choices=allocator.MALLOC_MODES,
        default="pinned",
        help="pinned (default): glibc malloc's thresholds fixed for every case, so no case pays for the heap "
        "history others left; default: glibc's own adjustment (see docs/benchmarks.md, 'Method')",
    )
    # No default here: the cache folder is resolved when the command runs, from the environment it runs in.
    parser.add_argument(
        "--benchmark-json",
        default=None,
        metavar="FILE",
        type=cli.output_file_in_new_folders,
        help="where pytest-benchmark's JSON is kept (default: tfparity-bench.json in tfparity's cache folder, "
        "$TFPARITY_CACHE_DIR, else $XDG_CACHE_HOME/tfparity, else ~/.cache/tfparity)",
    )
    parser.add_argument(
        "--plot",
        default=None,
        metavar="DIR",
        type=cli.output_folder,
        help="also write ms_per_step.png, loss_curves.png and batch_scaling.png here",
    )
    parser.add_argument(
        "--previous",
        default=None,
        metavar="FILE",
        help="a report from an earlier `tfparity bench --format json`: say how far every ratio moved since",
    )
    cli.add_output_arguments(parser)
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="-- PYTEST_ARGS",
        help="extra pytest / pytest-benchmark options after --, e.g. -- --benchmark-save=baseline "
        "(saved runs go under tfparity's cache folder unless -- --benchmark-storage=URI says otherwise)",
    )


def run(args: argparse.Namespace) -> int:
    # Every check that can refuse the command comes before the run, which takes minutes.
    cli.require_extra("bench", *SUITE_MODULES, what="tfparity bench")
    if args.plot:
        cli.require_extra("bench", *PLOT_MODULES, what="tfparity bench --plot")
    if baseline := missing_baseline(args):  # a regression gate against nothing would pass
        raise cli.UsageError(baseline)
    if args.distributed:
        return run_distributed(args)
    if args.models:
        return run_models(args)
    cases = idioms.select(args.styles, args.idioms, args.devices, args.batch_sizes)  # unknown names: ValueError, exit 2
    if not cases:
        raise cli.UsageError(no_case_matches(args))
    check_data(args)
    idioms.bench_settings(not args.quick, args.steps, args.rounds)  # a length that cannot be timed: ValueError, exit 2
    previous = load_previous(args.previous) if args.previous else None
    if args.benchmark_json is None:
        args.benchmark_json = cli.output_file_in_new_folders(str(cache.default_benchmark_json()))  # unwritable: exit 2
    check_devices(cases)
    note = storage_note(args)
    if note and not args.quiet:
        print(f"tfparity bench: {note}", file=sys.stderr)
    suite = run_suite(args, total_cases=len(cases))
    if (status := no_case_ran(suite)) is not None:
        return status
    report = build_report(cases, suite, args.benchmark_json)
    if previous is not None:
        report["ratio_drift"] = ratio_drift(report["cases"], previous, args.previous)
    cli.write_output(render(report, args.format), args.output, quiet=args.quiet)
    if args.plot:
        from tfparity.benchmarks.benchplots import plot  # matplotlib, only when asked for

        for path in plot(report, args.plot):
            if not args.quiet:
                print(f"tfparity bench: wrote {path}", file=sys.stderr)
    if (status := failures(report, suite)) is not None:
        return status
    if nothing_measured(report):
        print(f"tfparity bench: {nothing_measured(report)}", file=sys.stderr)
        return 1
    return 0


SOFTMAX_ONLY = ("styles", "idioms", "devices", "batch_sizes", "steps", "plot", "previous")


def run_models(args: argparse.Namespace) -> int:
    """`--models`: the models suite in a child pytest, its table, and exit 1 when a case failed."""
    from tfparity.benchmarks.bench_models import model_idioms  # pytest: the bench extra, checked above
    from tfparity.benchmarks.benchmodels import build_models_report, render_models

    given = [f"--{name.replace('_', '-')}" for name in SOFTMAX_ONLY if getattr(args, name)]
    if given:
        raise cli.UsageError(f"{' '.join(given)}: the softmax suite's options; --models runs every style on the CPU")
    if "softmax" in args.models:
        raise cli.UsageError("--models softmax: the softmax suite is what `tfparity bench` runs without --models")
    check_data(args)
    if args.benchmark_json is None:
        args.benchmark_json = cli.output_file_in_new_folders(str(cache.default_benchmark_json()))
    suite = run_suite(args, total_cases=sum(len(model_idioms(m)) for m in args.models))
    if (status := no_case_ran(suite)) is not None:
        return status
    report = build_models_report(suite, args.benchmark_json)
    cli.write_output(render_models(report, args.format), args.output, quiet=args.quiet)
    return failures(report, suite) or 0


def run_distributed(args: argparse.Namespace) -> int:
    """`--distributed`: the data-parallel suite in a child pytest, its table, and exit 1 when a case failed."""
    from tfparity.benchmarks.bench_distributed import CASES
    from tfparity.benchmarks.benchdistributed import build_distributed_report, render_distributed
    from tfparity.benchmarks.replicas import MODELS as DISTRIBUTED_MODELS

    given = [f"--{name.replace('_', '-')}" for name in SOFTMAX_ONLY if getattr(args, name) is not None]
    if given:
        raise cli.UsageError(f"{' '.join(given)}: the softmax suite's options; --distributed runs its own cases")
    if args.rounds is not None and args.rounds < 1:
        raise cli.UsageError(f"--rounds {args.rounds}: give at least 1 timed round")
    other = [m for m in args.models or [] if m not in DISTRIBUTED_MODELS]
    if other:
        covered = list(DISTRIBUTED_MODELS)
        raise cli.UsageError(f"--distributed --models {other[0]}: the data-parallel suite covers {covered}")
    check_data(args)
    if args.benchmark_json is None:
        args.benchmark_json = cli.output_file_in_new_folders(str(cache.default_benchmark_json()))
    suite = run_suite(args, total_cases=len(CASES) * len(args.models or DISTRIBUTED_MODELS))
    if (status := no_case_ran(suite)) is not None:
        return status
    report = build_distributed_report(suite, args.benchmark_json)
    cli.write_output(render_distributed(report, args.format), args.output, quiet=args.quiet)
    return failures(report, suite) or 0


def no_case_ran(suite: SuiteRun) -> int | None:
    """pytest stopped before running any case: its output and a non-zero status (None: cases ran)."""
    if suite.benchmark_json is not None or suite.outcomes:
        return None
    sys.stderr.write(suite.output)
    print(f"tfparity bench: pytest exited with status {suite.returncode} and ran no case", file=sys.stderr)
    return suite.returncode or 1


def failures(report: dict, suite: SuiteRun) -> int | None:
    """Cases that failed (or pytest's own failure): their tracebacks and a non-zero status (None: none)."""
    failed = [r for r in report["cases"] if r["status"] in ("failed", "error")]
    if not failed and suite.returncode == 0:
        return None
    sys.stderr.write(failure_excerpt(suite.output))
    print(
        f"tfparity bench: {len(failed)} case(s) failed; pytest exited with status {suite.returncode}", file=sys.stderr
    )
    return suite.returncode or 1


def batch_size_arg(text: str) -> int:
    """argparse type: one of the batch sizes the suite has cases for."""
    if not text.isdigit() or int(text) not in idioms.BATCH_SIZES:
        sizes = " ".join(map(str, idioms.BATCH_SIZES))
        raise cli.UsageError(f"--batch-sizes {text}: the suite times batch sizes {sizes}; choose among them")
    return int(text)


def check_data(args: argparse.Namespace) -> None:
    """The MNIST data every suite reads (the models suite's regression cases too, through its fixtures), loaded and
    checksummed now: a wrong --data-dir is one line before the run, not a traceback from every case after it."""
    from tfparity.compat import load_dataset

    load_dataset("mnist", args.data_dir)  # DataError: one line, exit 2


def no_case_matches(args: argparse.Namespace) -> str:
    """Why the softmax suite's filters select nothing, with what each style and batch size does run."""
    given = (
        ("styles", args.styles),
        ("idioms", args.idioms),
        ("devices", args.devices),
        ("batch-sizes", args.batch_sizes),
    )
    filters = " ".join(f"--{flag} {' '.join(map(str, values))}" for flag, values in given if values)
    by_style: dict[str, list[str]] = {}
    for idiom in idioms.IDIOMS:
        by_style.setdefault(idiom.style, []).append(idiom.name)
    styles = "; ".join(f"{style}: {', '.join(names)}" for style, names in by_style.items())
    scaling = ", ".join("/".join(pair) for pair in idioms.SCALING_IDIOMS)
    return (
        f"no case matches {filters}: the idioms by style are {styles}; every idiom runs at batch {idioms.BATCH_SIZE}, "
        f"only {scaling} at {' and '.join(f'{b:,}' for b in idioms.BATCH_SIZES[1:])}"
    )


def check_devices(cases: list[idioms.Case]) -> None:
    """Cases that all need a GPU, where none is visible: an error now, not a run that measures nothing."""
    if any(case.device != "gpu" for case in cases):
        return  # GPU cases among CPU ones skip with their reason in the table
    from tfparity.compat.devices import gpu_skip_reason

    tf_logs.import_tensorflow()
    reason = gpu_skip_reason()
    if reason:
        raise cli.UsageError(f"--devices gpu: {reason}; run the CPU cases with --devices cpu")
