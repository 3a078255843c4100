"""A `tfparity bench` report as text: the table (plain, GitHub Markdown or JSON), the context above, the notes below."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from tabulate import tabulate

from tfparity.benchmarks import idioms
from tfparity.benchmarks.benchstats import CONFIDENCE, RATIOS, case_id_of


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in `fmt`: table, markdown or json (json leaves out the loss curves, which only the plots need)."""
    if fmt == "json":
        slim = [{k: v for k, v in r.items() if k not in ("losses", "loss_steps")} for r in report["cases"]]
        return json.dumps({**report, "cases": slim}, indent=2)
    target = report["context"].get("target_accuracy") or idioms.TARGET_ACCURACY
    headers = [
        "style",
        "idiom",
        "device",
        "batch",
        "ms/step median",
        "IQR",
        "examples/s",
        "first step ms",
        f"time to {target:g} s",
        "x TF1 feed_dict",
        "x NumPy floor",
        "test acc",
        "rounds",
        "result",
    ]
    markdown = fmt == "markdown"
    tablefmt = "github" if markdown else "simple"
    lines = [*context_lines(report["context"]), *ceiling_lines(report.get("ceilings"))]
    header = [f"- {line}" for line in lines] if markdown else lines
    parts = [
        *header,
        "",
        tabulate([table_row(r) for r in report["cases"]], headers=headers, tablefmt=tablefmt, disable_numparse=True),
    ]
    use = hardware_table(report["cases"], tablefmt)
    if use:
        title = "Hardware use: each CPU case's GFLOP/s and GB/s, and their fractions of the ceilings above"
        parts += ["", f"**{title}**" if markdown else title, "", use]
    if report.get("batch_scaling"):
        title = "Batch scaling: examples/s as the batch grows, and the GPU's speed-up over the CPU"
        parts += ["", f"**{title}**" if markdown else title, "", scaling_table(report["batch_scaling"], tablefmt)]
    parts += ["", "\n\n".join(f"_{n}_" for n in notes(report)) if markdown else "\n".join(notes(report))]
    return "\n".join(parts)


def scaling_table(scaling: list[dict[str, Any]], tablefmt: str) -> str:
    """The batch-scaling table: examples/s per scaling idiom and batch size, CPU beside GPU."""
    headers = ["style", "idiom", "batch", "CPU examples/s", "GPU examples/s", "GPU / CPU"]
    body = [
        [
            s["style"],
            s["idiom"],
            f"{s['batch_size']:,}",
            _num(s["cpu_examples_per_s"], ",.0f"),
            _num(s["gpu_examples_per_s"], ",.0f"),
            _num(s["gpu_over_cpu"], ".2f"),
        ]
        for s in scaling
    ]
    return tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def hardware_table(rows: list[dict[str, Any]], tablefmt: str) -> str | None:
    """GFLOP/s and GB/s of every CPU case that has them, as fractions of the run's ceilings; None if none has."""
    headers = ["style", "idiom", "device", "batch", "GFLOP/s", "x TF matmul", "x NumPy matmul", "GB/s", "x bandwidth"]
    body = [
        [
            r["style"],
            r["idiom"],
            r["device"],
            r["batch_size"],
            _num(r["gflops"], ".1f"),
            _num(r["of_matmul_tf"], ".3f"),
            _num(r["of_matmul_numpy"], ".3f"),
            _num(r["gbps"], ".2f"),
            _num(r["of_bandwidth"], ".3f"),
        ]
        for r in rows
        if r.get("gflops") is not None
    ]
    return tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True) if body else None


def table_row(r: dict[str, Any]) -> list:
    """One case's cells in the main table; a failed or errored case shouts its result."""
    first = _num(r["first_step_ms"], ".1f")
    if (r["first_call_steps"] or 1) > 1:
        first += f" ({r['first_call_steps']} steps)"
    return [
        r["style"],
        r["idiom"],
        r["device"],
        r["batch_size"],
        _num(r["ms_per_step_median"], ".3f"),
        _num(r["ms_per_step_iqr"], ".3f"),
        _num(r["examples_per_s"], ",.0f"),
        first,
        _num(r["time_to_target_s"], ".2f"),
        *(ratio_cell(r[ratio], r.get(f"{ratio}_ci95")) for ratio in RATIOS),
        _num(r["test_accuracy"], ".4f"),
        r["rounds"] or "",
        r["status"].upper() if r["status"] in ("failed", "error") else r["status"],
    ]


def ratio_cell(value: float | None, interval: list[float] | None) -> str:
    """`0.91 [0.85, 0.99]`: the median ratio and its 95% interval (just the median where there is none)."""
    text = _num(value, ".2f")
    return f"{text} [{interval[0]:.2f}, {interval[1]:.2f}]" if text and interval else text


def tf1_line(tensorflow: str | None) -> str:
    """What "TF1" names in the report: readers otherwise take the TF1 rows for TensorFlow 1.x's own speed."""
    runtime = f"TensorFlow {tensorflow}'s" if tensorflow else "the installed TensorFlow's"
    return (
        f"TF1 (tf1_graph, x TF1 feed_dict): the tf.compat.v1 API (graphs, placeholders, Session.run) on {runtime} "
        f"runtime, not TensorFlow 1.15: what TF1-style code costs today, not what it cost on TensorFlow 1.x"
    )


def context_lines(ctx: dict[str, Any]) -> list[str]:
    """The lines above the table: versions, hardware, run length, allocator, and what TF1 means here."""
    gpus = ", ".join(f"{g['name']} (driver {g['driver']})" for g in ctx["gpus"]) or "none visible to TensorFlow"
    s = ctx.get("settings") or {}
    rss = ctx.get("peak_rss_mib")
    return [
        f"TensorFlow {ctx['tensorflow']}, Keras {ctx['keras']}, NumPy {ctx['numpy']}, Python {ctx['python']}",
        tf1_line(ctx.get("tensorflow")),
        f"CPU: {ctx['cpu']}, {ctx['cpu_count']} cores; GPU: {gpus}",
        f"run: {s.get('mode', '?')}, {s.get('steps', '?')} steps of batch {idioms.BATCH_SIZE} per round "
        f"(larger batches: the same examples in fewer steps, at least {idioms.MIN_SCALING_STEPS}), "
        f"{timed_rounds(s)} timed rounds per case after {s.get('warmup_rounds', '?')} warm-up; "
        f"peak RSS {_num(rss, '.0f')} MiB; pytest-benchmark JSON: {ctx['benchmark_json']}",
        f"allocator: {ctx.get('malloc') or 'not recorded'}",
        f"NumPy floor: {ctx.get('floor') or 'not recorded'}",
        "runtime settings: "
        + (", ".join(f"{name}={value}" for name, value in (ctx.get("runtime") or {}).items()) or "none set")
        + " (XLA_FLAGS, TF_NUM_INTRAOP_THREADS and the like, from the environment)",
    ]


def ceiling_lines(ceilings: dict[str, dict] | None) -> list[str]:
    """The machine's ceilings behind the hardware-use table, and what a step must do at batch 100 (none: no line)."""
    if not ceilings:
        return []
    from tfparity.benchmarks import flops

    tf_mm, np_mm = ceilings["matmul_tf"], ceilings["matmul_numpy"]
    copy, add = ceilings["bandwidth_numpy"], ceilings["bandwidth_tf"]
    batch = idioms.BATCH_SIZE
    return [
        f"ceilings (CPU, measured once in this run): tf.matmul {tf_mm['shape']} {tf_mm['gflops']:.1f} GFLOP/s, "
        f"NumPy the same {np_mm['gflops']:.1f} GFLOP/s; memory bandwidth (bytes read + written): "
        f"{copy['source']} of {copy['mib']:.0f} MiB {copy['gbps']:.1f} GB/s, {add['source']} "
        f"{add['gbps']:.1f} GB/s; a softmax step: {flops.softmax_step_flops(batch) / 1e6:.2f} MFLOP (forward and "
        f"weight gradient) and {flops.softmax_step_bytes(batch) / 1e3:.0f} KB (its batch, read once) at batch {batch}"
    ]


def timed_rounds(settings: dict[str, Any]) -> str:
    """The rounds behind each median, in words: a fixed count, or the range the cases' speeds choose from."""
    low, high = settings.get("rounds", "?"), settings.get("max_rounds", settings.get("rounds", "?"))
    if low == high:
        return str(low)
    return f"{low} to {high} (as many as fill {settings.get('seconds_per_case', 0):g} s, anchor runs included)"


def drift_lines(drift: dict[str, Any]) -> list[str]:
    """The --previous comparison in words: the largest change, whether all stayed within the bar, what moved past it."""
    largest = drift["largest"]
    if largest is None:
        return [f"against {drift['previous']}: no ratio to compare (no case passed in both runs)"]
    lines = [
        f"against {drift['previous']}: {drift['compared']} ratios compared, "
        f"largest change {largest['change']:+.0%} ({largest['case']}, {largest['ratio']}); "
        f"all within {drift['within']:.0%}: {'yes' if not drift['beyond'] else 'no'}"
    ]
    if drift.get("with_intervals"):
        lines[0] += (
            f"; {CONFIDENCE:.0%} intervals that no longer overlap: "
            f"{len(drift['disjoint'])} of {drift['with_intervals']}"
            + "".join(f" ({c['case']}, {c['ratio']})" for c in drift["disjoint"])
        )
    lines += [
        f"moved beyond {drift['within']:.0%}: {c['case']} {c['ratio']} {c['change']:+.0%} "
        f"(now {ratio_cell(*c['now'])}, before {ratio_cell(*c['before'])})"
        for c in drift["beyond"]
    ]
    return lines


def precision_line(rows: list[dict[str, Any]]) -> str | None:
    """How precisely this run pins its ratios down: the median and the widest half-width of their intervals."""
    half_widths = {
        (case_id_of(r), ratio): math.sqrt(r[f"{ratio}_ci95"][1] / r[f"{ratio}_ci95"][0]) - 1
        for r in rows
        for ratio in RATIOS
        if r.get(f"{ratio}_ci95")
    }
    if not half_widths:
        return None
    widest = max(half_widths, key=half_widths.get)
    return (
        f"[low, high] after a ratio: the {CONFIDENCE:.0%} interval of its median, from the per-round ratios by order "
        f"statistics (no assumption about the noise; from 6 rounds up). This run pins a ratio down to "
        f"±{statistics.median(half_widths.values()):.0%} (median over {len(half_widths)}), the widest to "
        f"±{half_widths[widest]:.0%} ({widest[0]}, {widest[1]}). "
        f"Two runs whose intervals overlap have not shown a change."
    )


def notes(report: dict[str, Any]) -> list[str]:
    """The notes below the tables: how each column was measured, then drift and the failed cases' messages."""
    # The suite's own bars, so the note cannot drift from what it asserts; imported here, not at the top, because
    # the suite imports pytest, which `tfparity bench` checks for (tfparity[bench]) only once it runs.
    from tfparity.benchmarks.idioms import ACCURACY_TOLERANCE, WEIGHT_TOLERANCE

    rows = report["cases"]
    target = next((r["target_steps"] for r in rows if r["target_steps"]), None)
    out = [
        "ms/step: steady state, median over rounds (first step, which carries tracing and graph set-up, "
        "left out; IQR over the same rounds). x columns: ms/step over TF1 feed_dict's on the same device "
        "and over the NumPy floor's, paired: each round is divided by the anchor runs timed just before "
        "and after it, and the median of those is shown.",
        f"time to {report['context'].get('target_accuracy') or idioms.TARGET_ACCURACY:g}: wall seconds of "
        f"a fresh run of {target or 'N'} steps (the fewest, in tens, that reach it), graph building or tracing "
        f"and the test evaluation included; batch {idioms.BATCH_SIZE} only.",
        f"test acc: every case asserts that it trained on TF1 feed_dict's batches, that its test accuracy is within "
        f"{ACCURACY_TOLERANCE * 100:g} percentage point of TF1 feed_dict's on the CPU, and that its weights are within "
        f"{WEIGHT_TOLERANCE:g} of TF1 feed_dict's (max |dW| and |db|): a fast case that trained something else fails.",
    ]
    if report.get("pooled_anchor_ratio"):
        out.append(
            f"TF1 feed_dict over the NumPy floor is timed in both of their cases (each one's rounds between "
            f"the other's anchor runs); at batch {', '.join(f'{b:,}' for b in report['pooled_anchor_ratio'])} "
            f"their two rows show one estimate from both cases' rounds, as reciprocals."
        )
    if report.get("ceilings"):
        out.append(
            "hardware use: GFLOP/s is the step's matrix products (forward and weight gradient, counted from the "
            "shapes) over its median ms/step; GB/s its batch (images as the idiom stores them, float32 or uint8 "
            "pixels, and labels, read once) over the same time. x TF matmul and x NumPy matmul divide GFLOP/s by "
            "the large products' rates above; x bandwidth "
            "divides GB/s by the higher of the two bandwidths. CPU cases only: the ceilings are the CPU's."
        )
    if report.get("batch_scaling"):
        out.append(
            "batch scaling: every round trains on the same examples, so a larger batch runs fewer steps; "
            "read examples/s across batch sizes, not ms/step. GPU / CPU: examples/s on the GPU over the CPU's "
            "at that batch (empty where either was not measured)."
        )
    precision = precision_line(rows)
    if precision:
        out.append(precision)
    if "ratio_drift" in report:
        out += drift_lines(report["ratio_drift"])
    for r in rows:
        if r["status"] != "passed" and r["message"]:
            out.append(f"{r['status'].upper()} {case_id_of(r)}: {r['message']}")
    return out
