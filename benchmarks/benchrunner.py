"""The benchmark suite run by pytest in a child process, and what came back: verdicts and JSON.

The child runs `benchmarks/bench_styles.py` (with `--models`, `bench_models.py`) exactly as
`pytest benchmarks/bench_styles.py --bench-full` would. Its verdict per case comes from pytest's
JUnit XML, not from the timings, so a case that failed an assertion reads as failed whatever it
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfparity.benchmarks import cache, cli
from tfparity.benchmarks.progress import Progress

SUITE = Path(__file__).with_name("bench_styles.py")
MODELS_SUITE = Path(__file__).with_name("bench_models.py")  # `tfparity bench --models`
DISTRIBUTED_SUITE = Path(__file__).with_name("bench_distributed.py")  # `tfparity bench --distributed`
CASE_LINE = re.compile(r"bench_\w+\.py::\w+\[(?P<id>[^\]]+)\] (?P<outcome>PASSED|FAILED|SKIPPED|ERROR)")
# Pass-through options that read or write pytest-benchmark's storage: with these the run says where it is.
COMPARE_OPTION = "--benchmark-compare"
STORAGE_USERS = ("--benchmark-save", "--benchmark-autosave", COMPARE_OPTION)


@dataclass
class SuiteRun:
    returncode: int
    output: str  # pytest's console output
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # case id -> (outcome, message)
    benchmark_json: dict[str, Any] | None = None


def pass_through(args: argparse.Namespace) -> list[str]:
    """The pytest options given after `--`."""
    extra = list(args.pytest_args or [])
    return extra[1:] if extra[:1] == ["--"] else extra


def pytest_command(args: argparse.Namespace, json_path: str, junit_path: str) -> list[str]:
    """The child's command line: the suite, the command's filters and lengths, then the user's pytest options.

    pytest-benchmark's storage goes under tfparity's cache folder unless the user named one: its
    default, ./.benchmarks, would be created in whatever folder the command runs from.
    """
    models = getattr(args, "models", None)
    suite = DISTRIBUTED_SUITE if getattr(args, "distributed", False) else MODELS_SUITE if models else SUITE
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-p",
        "no:cacheprovider",
        "-v",
        "-rfEs",
        f"--benchmark-json={json_path}",
        f"--junitxml={junit_path}",
    ]
    if not args.quick:
        command.append("--bench-full")
    for option, value in (
        ("--bench-steps", args.steps),
        ("--bench-rounds", args.rounds),
        ("--bench-data-dir", args.data_dir),
        ("--bench-malloc", args.malloc),
    ):
        if value is not None:
            command.append(f"{option}={value}")
    for option, values in (
        ("--bench-style", args.styles),
        ("--bench-idiom", args.idioms),
        ("--bench-device", args.devices),
        ("--bench-batch", args.batch_sizes),
        ("--bench-model", models),
    ):
        command += [f"{option}={v}" for v in values or []]
    extra = pass_through(args)
    if not cache.storage_given(extra):
        command.append(f"{cache.STORAGE_OPTION}={cache.benchmark_storage()}")
    return command + extra


def storage_note(args: argparse.Namespace) -> str | None:
    """Where saved and compared runs live, when the user saves or compares without naming a storage."""
    extra = pass_through(args)
    if cache.storage_given(extra) or not any(a.split("=")[0] in STORAGE_USERS for a in extra):
        return None
    return f"pytest-benchmark storage: {cache.benchmark_storage()} (name another with -- {cache.STORAGE_OPTION}=file://PATH)"


def option_value(extra: list[str], option: str) -> str | bool | None:
    """pytest's value for an option whose argument is optional: None when absent, True when bare, else its value
    (`--option=VALUE`, or `--option VALUE`)."""
    value: str | bool | None = None
    for index, word in enumerate(extra):
        if word.startswith(f"{option}="):
            value = word.split("=", 1)[1]
        elif word == option:
            following = extra[index + 1] if index + 1 < len(extra) else "-"
            value = True if following.startswith("-") else following
    return value


def missing_baseline(args: argparse.Namespace) -> str | None:
    """Why `-- --benchmark-compare[=RUN]` would compare against nothing (no saved run matches), or None.

    pytest-benchmark only warns, and a CI gate with --benchmark-compare-fail would then pass having
    compared nothing: the command refuses before the run instead. Storages other than files are not checked.
    """
    from pytest_benchmark.utils import get_machine_id, load_storage

    extra = pass_through(args)
    wanted = option_value(extra, COMPARE_OPTION)
    if wanted is None:
        return None
    given = option_value([*extra, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))], cache.STORAGE_OPTION)
    uri = cache.benchmark_storage() if given is None else given  # where the child's pytest-benchmark will look
    if not isinstance(uri, str) or not (uri.startswith("file://") or "://" not in uri):
        return None
    storage = load_storage(uri, logger=None, default_machine_id=get_machine_id(), netrc=None)
    if storage.query(*([] if wanted is True else [wanted])):
        return None
    which = "no saved run" if wanted is True else f"no saved run matches {wanted!r}"
    return (
        f"{COMPARE_OPTION}: {which} in {storage.path}; save one first with -- --benchmark-save=NAME, or name "
        f"where they are with -- {cache.STORAGE_OPTION}=file://PATH"
    )


def read_junit(path: str) -> dict[str, tuple[str, str]]:
    """case id -> (passed | failed | error | skipped, first line of pytest's message)."""
    outcomes = {}
    for testcase in ET.parse(path).getroot().iter("testcase"):
        match = re.search(r"\[([^\]]+)\]$", testcase.get("name", ""))
        if not match:
            continue
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = testcase.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = next(iter((node.get("message") or node.text or "").strip().splitlines()), "")
                break
        outcomes[match.group(1)] = (outcome, message)
    return outcomes


def child_environment() -> dict[str, str]:
    """This process's environment less pytest-xdist's worker variables: pytest-benchmark turns itself
    off in any pytest that finds them, and a `tfparity bench` started from an xdist worker (the
    project's own tests run under `pytest -n 2`) would time nothing."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST_")}


def run_suite(args: argparse.Namespace, total_cases: int) -> SuiteRun:
    """pytest in a child process; progress per finished case on a terminal.

    pytest-benchmark writes its JSON into a scratch folder first and it is copied to
    `args.benchmark_json` only when present, so a crashed run never leaves a stale file that
    looks like this run's.
    """
    with tempfile.TemporaryDirectory(prefix="tfparity-bench-") as tmp:
        json_path, junit_path = os.path.join(tmp, "benchmark.json"), os.path.join(tmp, "junit.xml")
        lines = []
        with Progress(total_cases, "bench", quiet=args.quiet) as progress:
            command = pytest_command(args, json_path, junit_path)
            child = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_environment()
            )
            for line in child.stdout:
                lines.append(line)
                match = CASE_LINE.search(line)
                if match:
                    progress.done(f"{match['id']} {match['outcome'].lower()}")
            returncode = child.wait()
        run = SuiteRun(returncode=returncode, output="".join(lines))
        if os.path.exists(junit_path):
            run.outcomes = read_junit(junit_path)
        if os.path.exists(json_path):
            text = Path(json_path).read_text(encoding="utf-8")
            run.benchmark_json = json.loads(text)
            Path(args.benchmark_json).parent.mkdir(parents=True, exist_ok=True)
            cli.write_output(text, args.benchmark_json, quiet=args.quiet)
    return run


def failure_excerpt(output: str) -> str:
    """pytest's FAILURES/ERRORS sections (the tracebacks), or its whole output when it has none."""
    start = min((i for i in (output.find("= FAILURES ="), output.find("= ERRORS =")) if i >= 0), default=-1)
    if start < 0:
        return output
    return output[output.rfind("\n", 0, start) + 1 :]
