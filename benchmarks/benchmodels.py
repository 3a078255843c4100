"""`tfparity bench --models`: the models suite's cases (bench_models.py) as one table, with the ceiling column.

Read from pytest-benchmark's JSON (each case's `extra_info`) and pytest's verdict per case, as
the softmax suite's report is (`benchstats`), so a case that failed its accuracy or weight
assertion shows as failed whatever it measured.
"""

from __future__ import annotations

import json
from typing import Any

from tabulate import tabulate

from tfparity.benchmarks.benchrender import tf1_line
from tfparity.benchmarks.benchrunner import SuiteRun
from tfparity.benchmarks.benchstats import context

HEADERS = [
    "model",
    "style",
    "idiom",
    "batch",
    "steps",
    "ms/step",
    "examples/s",
    "first step ms",
    "GFLOP/s",
    "% of ceiling",
    "ceiling",
    "test acc (MSE)",
    "max |dW| vs TF1",
    "result",
]


def build_models_report(suite: SuiteRun, json_path: str) -> dict[str, Any]:
    """{"context": ..., "cases": one row per case that ran, its pytest verdict beside its numbers}."""
    data = suite.benchmark_json or {}
    measured = {b["param"]: b["extra_info"] for b in data.get("benchmarks", [])}
    rows = []
    for case, (outcome, message) in suite.outcomes.items():
        info = measured.get(case, {})
        model, style, idiom = (info.get(k) for k in ("model", "style", "idiom"))
        if model is None:
            model, style, idiom = (case.split("-", 2) + [None, None])[:3]
        rows.append({**info, "model": model, "style": style, "idiom": idiom, "status": outcome, "message": message})
    return {"context": context(data, json_path), "cases": rows}


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def table_row(r: dict[str, Any]) -> list:
    ceiling = f"{r['ceiling_op']} {r['ceiling_gflops']:.1f} GFLOP/s" if "ceiling_op" in r else ""
    return [
        r["model"],
        r["style"],
        r["idiom"],
        r.get("batch_size", ""),
        r.get("steps", ""),
        _num(r.get("ms_per_step_median"), ".3f"),
        _num(r.get("examples_per_s"), ",.0f"),
        _num(r.get("first_step_ms"), ".1f"),
        _num(r.get("gflops"), ".2f"),
        _num(100 * r["fraction_of_ceiling"] if "fraction_of_ceiling" in r else None, ".1f"),
        ceiling,
        _num(r.get("test_accuracy"), ".4f") or _num(r.get("test_mse"), ".2f"),
        _num(r.get("max_abs_dw"), ".2g"),
        r["status"],
    ]


def render_models(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2)
    ctx = report["context"]
    rows = report["cases"]
    tested = {r.get("test_examples") for r in rows if r.get("test_examples")}
    lines = [
        f"TensorFlow {ctx['tensorflow']}, Keras {ctx['keras']}, NumPy {ctx['numpy']}, Python {ctx['python']}",
        f"CPU: {ctx['cpu']}, {ctx['cpu_count']} cores; pytest-benchmark JSON: {ctx['benchmark_json']}",
        tf1_line(ctx.get("tensorflow")),
    ]
    notes = [
        "ms/step: the median round's training loop after its first step (which carries tracing and graph "
        "set-up, reported apart); GFLOP/s: the model's matmul and convolution FLOPs per step (forward and "
        "backward, as TensorFlow's profiler counts them) over that time; % of ceiling: against the large "
        "op of the kind timed on the same CPU in the same run",
        f"test acc: on {', '.join(f'{n:,}' for n in sorted(tested)) or 'the'} test examples; every case holds "
        "TF1 feed_dict's accuracy within 0.1 point and its weights within 1e-5 (keras.fit 1e-4); (MSE): "
        "linear_regression's test mean squared error, held to TF1's within 1e-4 of it",
    ]
    return render_table(lines, [table_row(r) for r in rows], HEADERS, notes, fmt)


def render_table(lines: list[str], rows: list[list], headers: list[str], notes: list[str], fmt: str) -> str:
    """Context lines, the table and its notes, as text or Markdown (the suites' reports share this layout)."""
    if fmt == "markdown":
        lines = [f"- {line}" for line in lines]
        headers = [h.replace("|", "\\|") for h in headers]  # a bare | splits a cell
    table = tabulate(rows, headers=headers, tablefmt="github" if fmt == "markdown" else "simple", disable_numparse=True)
    sep = "\n\n" if fmt == "markdown" else "\n"
    return "\n".join([*lines, "", table, "", sep.join(f"_{n}_" if fmt == "markdown" else n for n in notes)])
