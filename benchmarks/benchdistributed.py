"""`tfparity bench --distributed`: the data-parallel suite's cases (bench_distributed.py) as one table.

Read from pytest-benchmark's JSON (each case's `extra_info`) and pytest's verdict per case, as the
other suites' reports are; each variant's overhead is its ms per global step over its single-device
style's, both from this run, so the ratio is of equals on the same machine at the same time.
"""

from __future__ import annotations

import json
from typing import Any

from tfparity.benchmarks.benchmodels import build_models_report, render_table
from tfparity.benchmarks.benchrunner import SuiteRun

HEADERS = [
    "model",
    "variant",
    "runs on",
    "global batch",
    "steps",
    "ms/global step",
    "examples/s",
    "x one device",
    "test acc",
    "max |dW| vs TF1",
    "result",
]


def build_distributed_report(suite: SuiteRun, json_path: str) -> dict[str, Any]:
    """The models report's shape (context, one row per case) with each variant's overhead added."""
    report = build_models_report(suite, json_path)
    for row in report["cases"]:
        row.setdefault("variant", row.get("style"))  # a case that never measured: its id's second part
    ms = {(r["model"], r["variant"]): r.get("ms_per_step_median") for r in report["cases"]}
    for row in report["cases"]:
        base = ms.get((row["model"], row.get("baseline")))
        if base and row.get("ms_per_step_median"):
            row["overhead"] = row["ms_per_step_median"] / base
    return report


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def table_row(r: dict[str, Any]) -> list:
    overhead = f"{r['overhead']:.2f} ({r['baseline']})" if "overhead" in r else ""
    return [
        r["model"],
        r["variant"],
        r.get("kind", ""),
        r.get("batch_size", ""),
        r.get("steps", ""),
        _num(r.get("ms_per_step_median"), ".3f"),
        _num(r.get("examples_per_s"), ",.0f"),
        overhead,
        _num(r.get("test_accuracy"), ".4f"),
        _num(r.get("max_abs_dw"), ".2g"),
        r["status"],
    ]


def render_distributed(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2)
    ctx = report["context"]
    lines = [
        f"TensorFlow {ctx['tensorflow']}, Keras {ctx['keras']}, NumPy {ctx['numpy']}, Python {ctx['python']}",
        f"CPU: {ctx['cpu']}, {ctx['cpu_count']} cores; pytest-benchmark JSON: {ctx['benchmark_json']}",
        f"The replicas share these {ctx['cpu_count']} cores (logical CPU devices, or worker processes talking gRPC "
        "on localhost): the rows measure replication's overhead and check its correctness, never a speed-up.",
    ]
    notes = [
        "ms/global step: the median round's training loop after its first step (process start-up, tracing and "
        "the cluster's handshake excluded); x one device: over the single-device style the variant is written in, "
        "measured in the same run",
        "every case holds TF1 feed_dict's weights within 1e-5 (keras.fit 1e-4) and its test accuracy within 0.1 "
        "point, on the same global batches",
    ]
    skipped = [r for r in report["cases"] if r["status"] == "skipped"]
    if skipped:
        notes.append(f"{len(skipped)} case(s) skipped, not shown: {skipped[0]['message'] or 'see pytest'}")
    rows = [table_row(r) for r in report["cases"] if r["status"] != "skipped"]
    return render_table(lines, rows, HEADERS, notes, fmt)
