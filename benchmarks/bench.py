"""`tfparity bench`: run the benchmark suite through pytest and report it as one table.

The suite is `benchmarks/bench_styles.py`, run by pytest in a child process exactly as
`pytest benchmarks/bench_styles.py --bench-full` would run it. pytest-benchmark's JSON is kept
(`--benchmark-json`); the table is read from it and from pytest's own verdict per case
(JUnit XML), so a case that failed its accuracy assertion shows as FAILED and makes the
command exit non-zero, whatever its timings were.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tabulate import tabulate

from tfparity.benchmarks import allocator, cli, idioms
from tfparity.benchmarks.progress import Progress
from tfparity.compat import tf_logs

SUITE = Path(__file__).with_name("bench_styles.py")
DEFAULT_JSON = os.path.join(".benchmarks", "tfparity-bench.json")
RATIOS = tuple(idioms.RATIO_ANCHORS)  # ms/step over TF1 feed_dict's on the same device, and over the NumPy floor's
CONFIDENCE = 0.95  # of the interval reported around every median ratio
CASE_LINE = re.compile(r"bench_styles\.py::\w+\[(?P<id>[^\]]+)\] (?P<outcome>PASSED|FAILED|SKIPPED|ERROR)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    styles = sorted({i.style for i in idioms.IDIOMS})
    names = [i.name for i in idioms.IDIOMS]
    parser.add_argument("--styles", nargs="+", default=None, metavar="STYLE", help=f"only these styles, of {styles}")
    parser.add_argument("--idioms", nargs="+", default=None, metavar="IDIOM", help=f"only these idioms, of {names}")
    parser.add_argument("--devices", nargs="+", default=None, choices=list(idioms.DEVICES), help="only these devices (default: both; GPU cases skip where none is visible)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None, metavar="N",
                        help=f"only these batch sizes (default {' '.join(map(str, idioms.BATCH_SIZES))}; every idiom runs at "
                             f"{idioms.BATCH_SIZE}, the others run {', '.join('/'.join(k) for k in idioms.SCALING_IDIOMS)})")
    parser.add_argument("--quick", action="store_true", help=f"the short CI run ({idioms.QUICK.steps} steps, {idioms.QUICK.rounds} rounds) instead of the full one ({idioms.FULL.steps} steps, {idioms.FULL.rounds} to {idioms.FULL.max_rounds} rounds: the cheap cases take more)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per round (overrides the mode's)")
    parser.add_argument("--rounds", type=int, default=None, help="this many timed rounds for every case (default: the mode's)")
    parser.add_argument("--data-dir", default=None, metavar="PATH", help="MNIST folder of IDX files or mnist.npz (default: the usual search)")
    parser.add_argument("--malloc", choices=allocator.MALLOC_MODES, default="pinned",
                        help="pinned (default): glibc malloc's thresholds fixed for every case, so no case pays for the heap "
                             "history others left; default: glibc's own adjustment (see README, 'allocator')")
    parser.add_argument("--benchmark-json", default=DEFAULT_JSON, metavar="FILE", type=cli.output_file_in_new_folders, help=f"where pytest-benchmark's JSON is kept (default {DEFAULT_JSON})")
    parser.add_argument("--plot", default=None, metavar="DIR", type=cli.output_folder, help="also write ms_per_step.png, loss_curves.png and batch_scaling.png here")
    parser.add_argument("--previous", default=None, metavar="FILE",
                        help="a report from an earlier `tfparity bench --format json`: say how far every ratio moved since")
    cli.add_output_arguments(parser)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS",
                        help="extra pytest / pytest-benchmark options after --, e.g. -- --benchmark-save=baseline")


# --- running the suite ------------------------------------------------------------------------


@dataclass
class SuiteRun:
    returncode: int
    output: str  # pytest's console output
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # case id -> (outcome, message)
    benchmark_json: dict[str, Any] | None = None


def pytest_command(args: argparse.Namespace, json_path: str, junit_path: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-v", "-rfEs",
               f"--benchmark-json={json_path}", f"--junitxml={junit_path}"]
    if not args.quick:
        command.append("--bench-full")
    for option, value in (("--bench-steps", args.steps), ("--bench-rounds", args.rounds), ("--bench-data-dir", args.data_dir),
                          ("--bench-malloc", args.malloc)):
        if value is not None:
            command.append(f"{option}={value}")
    for option, values in (("--bench-style", args.styles), ("--bench-idiom", args.idioms), ("--bench-device", args.devices),
                           ("--bench-batch", args.batch_sizes)):
        command += [f"{option}={v}" for v in values or []]
    extra = list(args.pytest_args or [])
    return command + (extra[1:] if extra[:1] == ["--"] else extra)


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


def run_suite(args: argparse.Namespace, total_cases: int) -> SuiteRun:
    """pytest in a child process; progress per finished case on a terminal.

    pytest-benchmark writes its JSON into a scratch folder first and it is copied to
    `--benchmark-json` only when present, so a crashed run never leaves a stale file that
    looks like this run's.
    """
    with tempfile.TemporaryDirectory(prefix="tfparity-bench-") as tmp:
        json_path, junit_path = os.path.join(tmp, "benchmark.json"), os.path.join(tmp, "junit.xml")
        lines = []
        with Progress(total_cases, "bench", quiet=args.quiet) as progress:
            command = pytest_command(args, json_path, junit_path)
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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


# --- the report -------------------------------------------------------------------------------


def case_id_of(row: dict[str, Any]) -> str:
    """The case id of a report row (or of a row from an older report, which may lack batch_size)."""
    return idioms.case_id(row["style"], row["idiom"], row["device"], row.get("batch_size", idioms.BATCH_SIZE))


def build_report(cases: list[idioms.Case], suite: SuiteRun, json_path: str) -> dict[str, Any]:
    """One row per selected case: its verdict, its numbers, its ratios; the batch scaling; and the run's context."""
    data = suite.benchmark_json or {"benchmarks": [], "machine_info": {}}
    by_case = {idioms.case_id(**{k: b["params"][k] for k in ("style", "idiom", "device", "batch_size")}): b for b in data["benchmarks"]}
    passed = {case.id: by_case[case.id]["extra_info"] for case in cases
              if case.id in by_case and suite.outcomes.get(case.id, ("",))[0] == "passed"}
    estimates, pooled = ratio_estimates(passed)
    rows = []
    for case in cases:
        outcome, message = suite.outcomes.get(case.id, ("not run", ""))
        bench = by_case.get(case.id)
        info = bench["extra_info"] if bench else {}
        rows.append({
            "style": case.idiom.style, "idiom": case.idiom.name, "device": case.device, "batch_size": case.batch_size,
            "status": outcome, "message": message,
            "ms_per_step_median": info.get("ms_per_step_median"),
            "ms_per_step_iqr": info.get("ms_per_step_iqr"),
            "ms_per_step_q1": info.get("ms_per_step_q1"),
            "ms_per_step_q3": info.get("ms_per_step_q3"),
            "examples_per_s": info.get("examples_per_s"),
            "first_step_ms": info.get("first_step_ms"),
            "first_call_steps": info.get("first_call_steps"),
            "time_to_target_s": info.get("time_to_target_s"),
            "target_steps": info.get("target_steps"),
            "test_accuracy": info.get("test_accuracy"),
            "reference_test_accuracy": info.get("reference_test_accuracy"),
            "max_abs_dw": info.get("max_abs_dw"),
            "rounds": info.get("rounds"),
            "steps": info.get("steps"),
            "run_seconds_median": bench["stats"]["median"] if bench else None,
            # Paired ratios (bench_styles.ratio_report): the median of each round over the anchors timed around it,
            # and how precisely this run pins that median down.
            **{ratio: estimates.get((case.id, ratio), (None, None))[0] for ratio in RATIOS},
            **{f"{ratio}_ci95": estimates.get((case.id, ratio), (None, None))[1] for ratio in RATIOS},
            "loss_steps": info.get("loss_steps", []),
            "losses": info.get("losses", []),
        })
    return {"context": context(data, json_path), "cases": rows, "batch_scaling": batch_scaling(rows), "pooled_anchor_ratio": pooled}


def ratio_estimates(infos: dict[str, dict[str, Any]]) -> tuple[dict[tuple[str, str], tuple[float | None, list[float] | None]], list[int]]:
    """(case id, ratio) -> (median, interval) for the cases in `infos` (case id -> extra_info), and the pooled batch sizes.

    A ratio is the median of its case's per-round paired ratios, with one exception. TF1 feed_dict over the floor is
    measured twice at each batch size: in TF1's case (floor anchors around TF1's rounds) and in the floor's case (TF1
    anchors around the floor's rounds). Read apart, the two rows disagreed by up to 24% on one quantity; here both
    come from the pooled rounds (the floor's inverted), so they read as exact reciprocals and rest on twice the
    rounds. Reports written before the rounds were kept have only the median, and show it.
    """
    ratio_against = {anchor: ratio for ratio, anchor in idioms.RATIO_ANCHORS.items()}
    vs_tf1, vs_floor = ratio_against[idioms.BASELINE], ratio_against[idioms.FLOOR]
    out = {}
    for case_id, info in infos.items():
        for ratio in RATIOS:
            rounds = info.get(f"{ratio}_rounds")
            out[case_id, ratio] = (info.get(ratio), median_interval(rounds) if rounds else None)
    pooled = []
    for batch in sorted({info.get("batch_size", idioms.BATCH_SIZE) for info in infos.values()}):
        tf1, floor = (infos.get(idioms.case_id(*key, "cpu", batch), {}) for key in (idioms.BASELINE, idioms.FLOOR))
        if f"{vs_floor}_rounds" not in tf1 or f"{vs_tf1}_rounds" not in floor:
            continue
        rounds = [*tf1[f"{vs_floor}_rounds"], *(1 / v for v in floor[f"{vs_tf1}_rounds"])]
        median, interval = statistics.median(rounds), median_interval(rounds)
        out[idioms.case_id(*idioms.BASELINE, "cpu", batch), vs_floor] = (median, interval)
        out[idioms.case_id(*idioms.FLOOR, "cpu", batch), vs_tf1] = (1 / median, [1 / interval[1], 1 / interval[0]] if interval else None)
        pooled.append(batch)
    return out, pooled


def median_interval(values: Sequence[float], level: float = CONFIDENCE) -> list[float] | None:
    """[low, high]: a distribution-free interval for the median of `values`, None below 6 values.

    The true median lies below the k-th smallest of n values with probability P(Binomial(n, 1/2)
    < k), whatever the values' distribution; k is the largest rank that keeps each tail within
    (1 - level) / 2. For 10 rounds that is the 2nd smallest and 2nd largest (97.9% coverage).
    Rounds on a shared VM are skewed by slow spells, which a normal approximation would ignore.
    """
    ordered = sorted(values)
    n, tail = len(ordered), (1 - level) / 2
    k, below = 0, 0.0
    while k < n and below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    return [ordered[k - 1], ordered[n - k]] if k else None


def batch_scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Examples/s of every scaling idiom at every batch size, CPU and GPU, and the GPU's speed-up over the CPU."""
    passed = {(r["style"], r["idiom"], r["device"], r["batch_size"]): r["examples_per_s"] for r in rows if r["status"] == "passed"}
    batches = sorted({r["batch_size"] for r in rows if r["batch_size"] != idioms.BATCH_SIZE})
    if not batches:
        return []
    out = []
    for style, name in idioms.SCALING_IDIOMS:
        for batch in [idioms.BATCH_SIZE, *batches]:
            cpu, gpu = passed.get((style, name, "cpu", batch)), passed.get((style, name, "gpu", batch))
            if cpu or gpu:
                out.append({"style": style, "idiom": name, "batch_size": batch, "cpu_examples_per_s": cpu,
                            "gpu_examples_per_s": gpu, "gpu_over_cpu": gpu / cpu if cpu and gpu else None})
    return out


def context(data: dict[str, Any], json_path: str) -> dict[str, Any]:
    env = data.get("machine_info", {}).get("tfparity", {})
    run = data.get("tfparity", {})
    return {
        "tensorflow": env.get("tensorflow"), "keras": env.get("keras"), "numpy": env.get("numpy"), "python": env.get("python"),
        "cpu": env.get("cpu"), "cpu_count": env.get("cpu_count"), "platform": env.get("platform"),
        "gpus": env.get("gpus", []), "tf_visible_gpus": env.get("tf_visible_gpus", []),
        "peak_rss_mib": run.get("peak_rss_mib"), "malloc": run.get("malloc"), "settings": run.get("settings"), "target_accuracy": run.get("target_accuracy"),
        "datetime": data.get("datetime"), "benchmark_json": json_path,
    }


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        slim = [{k: v for k, v in r.items() if k not in ("losses", "loss_steps")} for r in report["cases"]]
        return json.dumps({**report, "cases": slim}, indent=2)
    target = report["context"].get("target_accuracy") or idioms.TARGET_ACCURACY
    headers = ["style", "idiom", "device", "batch", "ms/step median", "IQR", "examples/s", "first step ms",
               f"time to {target:g} s", "x TF1 feed_dict", "x NumPy floor", "test acc", "rounds", "result"]
    markdown = fmt == "markdown"
    tablefmt = "github" if markdown else "simple"
    header = [f"- {line}" for line in context_lines(report["context"])] if markdown else context_lines(report["context"])
    parts = [*header, "", tabulate([table_row(r) for r in report["cases"]], headers=headers, tablefmt=tablefmt, disable_numparse=True)]
    if report.get("batch_scaling"):
        title = "Batch scaling: examples/s as the batch grows, and the GPU's speed-up over the CPU"
        parts += ["", f"**{title}**" if markdown else title, "", scaling_table(report["batch_scaling"], tablefmt)]
    parts += ["", "\n\n".join(f"_{n}_" for n in notes(report)) if markdown else "\n".join(notes(report))]
    return "\n".join(parts)


def scaling_table(scaling: list[dict[str, Any]], tablefmt: str) -> str:
    headers = ["style", "idiom", "batch", "CPU examples/s", "GPU examples/s", "GPU / CPU"]
    body = [[s["style"], s["idiom"], f"{s['batch_size']:,}", _num(s["cpu_examples_per_s"], ",.0f"),
             _num(s["gpu_examples_per_s"], ",.0f"), _num(s["gpu_over_cpu"], ".2f")] for s in scaling]
    return tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def table_row(r: dict[str, Any]) -> list:
    first = _num(r["first_step_ms"], ".1f")
    if (r["first_call_steps"] or 1) > 1:
        first += f" ({r['first_call_steps']} steps)"
    return [
        r["style"], r["idiom"], r["device"], r["batch_size"], _num(r["ms_per_step_median"], ".3f"), _num(r["ms_per_step_iqr"], ".3f"),
        _num(r["examples_per_s"], ",.0f"), first, _num(r["time_to_target_s"], ".2f"),
        *(ratio_cell(r[ratio], r.get(f"{ratio}_ci95")) for ratio in RATIOS),
        _num(r["test_accuracy"], ".4f"), r["rounds"] or "", r["status"].upper() if r["status"] in ("failed", "error") else r["status"],
    ]


def ratio_cell(value: float | None, interval: list[float] | None) -> str:
    """`0.91 [0.85, 0.99]`: the median ratio and its 95% interval (just the median where there is none)."""
    text = _num(value, ".2f")
    return f"{text} [{interval[0]:.2f}, {interval[1]:.2f}]" if text and interval else text


def context_lines(ctx: dict[str, Any]) -> list[str]:
    gpus = ", ".join(f"{g['name']} (driver {g['driver']})" for g in ctx["gpus"]) or "none visible to TensorFlow"
    s = ctx.get("settings") or {}
    rss = ctx.get("peak_rss_mib")
    return [
        f"TensorFlow {ctx['tensorflow']}, Keras {ctx['keras']}, NumPy {ctx['numpy']}, Python {ctx['python']}",
        f"CPU: {ctx['cpu']}, {ctx['cpu_count']} cores; GPU: {gpus}",
        f"run: {s.get('mode', '?')}, {s.get('steps', '?')} steps of batch {idioms.BATCH_SIZE} per round (larger batches: the same examples "
        f"in fewer steps, at least {idioms.MIN_SCALING_STEPS}), {timed_rounds(s)} timed rounds per case "
        f"after {s.get('warmup_rounds', '?')} warm-up; peak RSS {_num(rss, '.0f')} MiB; pytest-benchmark JSON: {ctx['benchmark_json']}",
        f"allocator: {ctx.get('malloc') or 'not recorded'}",
    ]


def timed_rounds(settings: dict[str, Any]) -> str:
    """The rounds behind each median, in words: a fixed count, or the range the cases' speeds choose from."""
    low, high = settings.get("rounds", "?"), settings.get("max_rounds", settings.get("rounds", "?"))
    if low == high:
        return str(low)
    return f"{low} to {high} (as many as fill {settings.get('seconds_per_case', 0):g} s, anchor runs included)"


STABLE_WITHIN = 0.20  # the issue's bar: two full runs agree within 20% on every ratio


def load_previous(path: str) -> list[dict[str, Any]]:
    """The cases of an earlier `--format json` report; a clear error for anything else."""
    try:
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        if not all({"style", "idiom", "device", *RATIOS} <= set(c) for c in cases):
            raise KeyError("a case lacks style/idiom/device/ratios")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror})") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a report of `tfparity bench --format json` ({exc}); write one with --format json -o FILE") from exc
    return cases


def ratio_drift(rows: list[dict[str, Any]], previous: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """How much every ratio moved against the previous run: new/old - 1, per case and ratio."""
    before = {case_id_of(c): c for c in previous}
    changes = []
    for r in rows:
        old = before.get(case_id_of(r))
        for ratio in RATIOS:
            if (r["style"], r["idiom"]) == idioms.RATIO_ANCHORS[ratio]:
                continue  # 1.0 by definition
            if old and r.get(ratio) and old.get(ratio):
                changes.append({"case": case_id_of(r), "ratio": ratio, "change": r[ratio] / old[ratio] - 1,
                                "now": [r[ratio], r.get(f"{ratio}_ci95")], "before": [old[ratio], old.get(f"{ratio}_ci95")]})
    unstable = [c for c in changes if abs(c["change"]) > STABLE_WITHIN]
    # Where both runs have intervals, disjoint ones moved by more than either run's round-to-round noise (or the host's load changed).
    both = [c for c in changes if c["now"][1] and c["before"][1]]
    disjoint = [c for c in both if c["now"][1][0] > c["before"][1][1] or c["now"][1][1] < c["before"][1][0]]
    return {"previous": source, "compared": len(changes), "within": STABLE_WITHIN, "beyond": unstable,
            "largest": max(changes, key=lambda c: abs(c["change"]), default=None),
            "with_intervals": len(both), "disjoint": disjoint}


def drift_lines(drift: dict[str, Any]) -> list[str]:
    largest = drift["largest"]
    if largest is None:
        return [f"against {drift['previous']}: no ratio to compare (no case passed in both runs)"]
    lines = [f"against {drift['previous']}: {drift['compared']} ratios compared, largest change {largest['change']:+.0%} "
             f"({largest['case']}, {largest['ratio']}); all within {drift['within']:.0%}: {'yes' if not drift['beyond'] else 'no'}"]
    if drift.get("with_intervals"):
        lines[0] += (f"; {CONFIDENCE:.0%} intervals that no longer overlap: {len(drift['disjoint'])} of {drift['with_intervals']}"
                     + "".join(f" ({c['case']}, {c['ratio']})" for c in drift["disjoint"]))
    lines += [f"moved beyond {drift['within']:.0%}: {c['case']} {c['ratio']} {c['change']:+.0%} "
              f"(now {ratio_cell(*c['now'])}, before {ratio_cell(*c['before'])})" for c in drift["beyond"]]
    return lines


def precision_line(rows: list[dict[str, Any]]) -> str | None:
    """How precisely this run pins its ratios down: the median and the widest half-width of their intervals."""
    half_widths = {(case_id_of(r), ratio): math.sqrt(r[f"{ratio}_ci95"][1] / r[f"{ratio}_ci95"][0]) - 1
                   for r in rows for ratio in RATIOS if r.get(f"{ratio}_ci95")}
    if not half_widths:
        return None
    widest = max(half_widths, key=half_widths.get)
    return (f"[low, high] after a ratio: the {CONFIDENCE:.0%} interval of its median, from the per-round ratios by order "
            f"statistics (no assumption about the noise; from 6 rounds up). This run pins a ratio down to "
            f"±{statistics.median(half_widths.values()):.0%} (median over {len(half_widths)}), the widest to "
            f"±{half_widths[widest]:.0%} ({widest[0]}, {widest[1]}). Two runs whose intervals overlap have not shown a change.")



def notes(report: dict[str, Any]) -> list[str]:
    rows = report["cases"]
    target = next((r["target_steps"] for r in rows if r["target_steps"]), None)
    out = [
        "ms/step: steady state, median over rounds (first step, which carries tracing and graph set-up, left out; "
        "IQR over the same rounds). x columns: ms/step over TF1 feed_dict's on the same device and over the NumPy floor's, "
        "paired: each round is divided by the anchor runs timed just before and after it, and the median of those is shown.",
        f"time to {report['context'].get('target_accuracy') or idioms.TARGET_ACCURACY:g}: wall seconds of a fresh run of "
        f"{target or 'N'} steps (the fewest, in tens, that reach it), graph building or tracing and the test evaluation included; "
        f"batch {idioms.BATCH_SIZE} only.",
    ]
    if report.get("pooled_anchor_ratio"):
        out.append(f"TF1 feed_dict over the NumPy floor is timed in both of their cases (each one's rounds between the other's "
                   f"anchor runs); at batch {', '.join(f'{b:,}' for b in report['pooled_anchor_ratio'])} their two rows show one "
                   f"estimate from both cases' rounds, as reciprocals.")
    if report.get("batch_scaling"):
        out.append(f"batch scaling: every round trains on the same examples, so a larger batch runs fewer steps; read examples/s "
                   f"across batch sizes, not ms/step. GPU / CPU: examples/s on the GPU over the CPU's at that batch "
                   f"(empty where either was not measured).")
    precision = precision_line(rows)
    if precision:
        out.append(precision)
    if "ratio_drift" in report:
        out += drift_lines(report["ratio_drift"])
    for r in rows:
        if r["status"] != "passed" and r["message"]:
            out.append(f"{r['status'].upper()} {case_id_of(r)}: {r['message']}")
    return out


# --- plots ------------------------------------------------------------------------------------


def plot(report: dict[str, Any], out_dir: str) -> list[str]:
    """ms_per_step.png (median bars, IQR whiskers) and loss_curves.png (every case on one axis), both at batch 100;
    batch_scaling.png (examples/s against batch size, CPU and GPU) when larger batches ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    done = [r for r in report["cases"] if r["ms_per_step_median"] is not None and r["batch_size"] == idioms.BATCH_SIZE]
    labels = [case_id_of(r) for r in done]
    written = []

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(done) + 1.5))
    medians = [r["ms_per_step_median"] for r in done]
    spread = [[r["ms_per_step_median"] - r["ms_per_step_q1"] for r in done], [r["ms_per_step_q3"] - r["ms_per_step_median"] for r in done]]
    bars = ax.barh(labels, medians, xerr=spread, capsize=3, color=["tab:green" if r["device"] == "gpu" else "tab:blue" for r in done])
    _plain_log_axis(ax, "x")
    ax.bar_label(bars, labels=[f"{m:.3g}" for m in medians], padding=4, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms per training step (median, whiskers: interquartile range over rounds; log scale)")
    ax.set_title(f"Steady-state step time per style and idiom, batch {idioms.BATCH_SIZE}")
    written.append(_save(fig, Path(out_dir) / "ms_per_step.png"))

    fig, ax = plt.subplots(figsize=(9, 5))
    for label, r in zip(labels, done):
        if len(r["losses"]) == r["steps"]:
            ax.plot(r["loss_steps"], r["losses"], label=label, linewidth=1, alpha=0.7)
        elif r["losses"]:  # keras with steps_per_execution logs once per call: points, not a line
            ax.plot(r["loss_steps"], r["losses"], "o", label=label, markersize=4)
    _plain_log_axis(ax, "y")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (batch, before the update)")
    ax.set_title("Training loss of every style (same batch plan: the curves should coincide)")
    ax.legend(fontsize=7)
    written.append(_save(fig, Path(out_dir) / "loss_curves.png"))
    if report.get("batch_scaling"):
        written.append(plot_batch_scaling(plt, report["batch_scaling"], Path(out_dir) / "batch_scaling.png"))
    plt.close("all")
    return written


def plot_batch_scaling(plt, scaling: list[dict[str, Any]], path: Path) -> str:
    """Examples/s against batch size, one line per idiom and device (solid: CPU, dashed: GPU)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    for k, (style, name) in enumerate(idioms.SCALING_IDIOMS):
        for device, line in (("cpu", "-"), ("gpu", "--")):
            points = [(s["batch_size"], s[f"{device}_examples_per_s"]) for s in scaling
                      if (s["style"], s["idiom"]) == (style, name) and s[f"{device}_examples_per_s"]]
            if points:
                ax.plot(*zip(*points), line, marker="o", color=f"C{k}", label=f"{style}-{name}-{device}")
    _plain_log_axis(ax, "x")
    _plain_log_axis(ax, "y")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("training examples per second (median; log scale)")
    ax.set_title("Throughput as the batch grows (solid: CPU, dashed: GPU)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _plain_log_axis(ax, which: str) -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers (0.2, not 2x10^-1)."""
    import matplotlib.ticker

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _save(fig, path: Path) -> str:
    """Write the PNG atomically: a reader never sees half a file."""
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fig.savefig(tmp, format="png", dpi=110)
    os.replace(tmp, path)
    return str(path)


# --- the command ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    cases = idioms.select(args.styles, args.idioms, args.devices, args.batch_sizes)  # unknown names: ValueError, exit 2
    idioms.bench_settings(not args.quick, args.steps, args.rounds)  # a length that cannot be timed: ValueError, exit 2
    previous = load_previous(args.previous) if args.previous else None  # checked before the long run
    check_devices(cases)
    suite = run_suite(args, total_cases=len(cases))
    if suite.benchmark_json is None and not suite.outcomes:  # pytest stopped before running any case
        sys.stderr.write(suite.output)
        print(f"tfparity bench: pytest exited with status {suite.returncode} and ran no case", file=sys.stderr)
        return suite.returncode or 1
    report = build_report(cases, suite, args.benchmark_json)
    if previous is not None:
        report["ratio_drift"] = ratio_drift(report["cases"], previous, args.previous)
    cli.write_output(render(report, args.format), args.output, quiet=args.quiet)
    if args.plot:
        for path in plot(report, args.plot):
            if not args.quiet:
                print(f"tfparity bench: wrote {path}", file=sys.stderr)
    failed = [r for r in report["cases"] if r["status"] in ("failed", "error")]
    if failed or suite.returncode != 0:
        sys.stderr.write(failure_excerpt(suite.output))
        print(f"tfparity bench: {len(failed)} case(s) failed; pytest exited with status {suite.returncode}", file=sys.stderr)
        return suite.returncode or 1
    if nothing_measured(report):
        print(f"tfparity bench: {nothing_measured(report)}", file=sys.stderr)
        return 1
    return 0


def nothing_measured(report: dict[str, Any]) -> str | None:
    """Why the run measured nothing (every case skipped), or None: such a run is no success."""
    if any(r["status"] == "passed" for r in report["cases"]):
        return None
    reasons = sorted({r.get("message") or r["status"] for r in report["cases"]})
    return f"no case ran to completion ({'; '.join(reasons)}): nothing was measured"


def check_devices(cases: list[idioms.Case]) -> None:
    """Cases that all need a GPU, where none is visible: an error now, not a run that measures nothing."""
    if any(case.device != "gpu" for case in cases):
        return  # GPU cases among CPU ones skip with their reason in the table
    from tfparity.compat.devices import gpu_skip_reason

    tf_logs.import_tensorflow()
    reason = gpu_skip_reason()
    if reason:
        raise cli.UsageError(f"--devices gpu: {reason}; run the CPU cases with --devices cpu")


def failure_excerpt(output: str) -> str:
    """pytest's FAILURES/ERRORS sections (the tracebacks), or its whole output when it has none."""
    start = min((i for i in (output.find("= FAILURES ="), output.find("= ERRORS =")) if i >= 0), default=-1)
    if start < 0:
        return output
    return output[output.rfind("\n", 0, start) + 1:]
