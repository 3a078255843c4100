"""The numbers of a `tfparity bench` report: rows from the suite's JSON, ratios and intervals, batch scaling, drift.

Nothing here runs a case or formats text: the report is built from what pytest-benchmark kept
(`extra_info` per case) and pytest's verdicts, so a kept JSON can be read again without a run.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

from tfparity.benchmarks import flops, idioms
from tfparity.benchmarks.benchrunner import SuiteRun

RATIOS = tuple(idioms.RATIO_ANCHORS)  # ms/step over TF1 feed_dict's on the same device, and over the NumPy floor's
CONFIDENCE = 0.95  # of the interval reported around every median ratio
STABLE_WITHIN = 0.20  # the bar: two full runs agree within 20% on every ratio


def case_id_of(row: dict[str, Any]) -> str:
    """The case id of a report row (or of a row from an older report, which may lack batch_size)."""
    return idioms.case_id(row["style"], row["idiom"], row["device"], row.get("batch_size", idioms.BATCH_SIZE))


def build_report(cases: list[idioms.Case], suite: SuiteRun, json_path: str) -> dict[str, Any]:
    """One row per selected case: its verdict, its numbers, its ratios; the batch scaling; and the run's context."""
    data = suite.benchmark_json or {"benchmarks": [], "machine_info": {}}
    by_case = {
        idioms.case_id(**{k: b["params"][k] for k in ("style", "idiom", "device", "batch_size")}): b
        for b in data["benchmarks"]
    }
    passed = {
        case.id: by_case[case.id]["extra_info"]
        for case in cases
        if case.id in by_case and suite.outcomes.get(case.id, ("",))[0] == "passed"
    }
    estimates, pooled = ratio_estimates(passed)
    ceilings = next((info["ceilings"] for info in passed.values() if info.get("ceilings")), None)
    rows = []
    for case in cases:
        outcome, message = suite.outcomes.get(case.id, ("not run", ""))
        bench = by_case.get(case.id)
        info = bench["extra_info"] if bench else {}
        rows.append(
            {
                "style": case.idiom.style,
                "idiom": case.idiom.name,
                "device": case.device,
                "batch_size": case.batch_size,
                "status": outcome,
                "message": message,
                **{
                    key: info.get(key)
                    for key in (
                        "ms_per_step_median",
                        "ms_per_step_iqr",
                        "ms_per_step_q1",
                        "ms_per_step_q3",
                        "examples_per_s",
                        "first_step_ms",
                        "first_call_steps",
                        "time_to_target_s",
                        "target_steps",
                        "test_accuracy",
                        "reference_test_accuracy",
                        "max_abs_dw",
                        "rounds",
                        "steps",
                    )
                },
                "run_seconds_median": bench["stats"]["median"] if bench else None,
                # Paired ratios (bench_styles.ratio_report): the median of each round over the anchors timed around it,
                # and how precisely this run pins that median down.
                **{ratio: estimates.get((case.id, ratio), (None, None))[0] for ratio in RATIOS},
                **{f"{ratio}_ci95": estimates.get((case.id, ratio), (None, None))[1] for ratio in RATIOS},
                **hardware_use(case.device, info, ceilings),
                "loss_steps": info.get("loss_steps", []),
                "losses": info.get("losses", []),
            }
        )
    return {
        "context": context(data, json_path),
        "ceilings": ceilings,
        "cases": rows,
        "batch_scaling": batch_scaling(rows),
        "pooled_anchor_ratio": pooled,
    }


HARDWARE_KEYS = ("gflops", "of_matmul_tf", "of_matmul_numpy", "gbps", "of_bandwidth")


def hardware_use(device: str, info: dict[str, Any], ceilings: dict[str, dict] | None) -> dict[str, Any]:
    """A case's GFLOP/s and GB/s and their fractions of the run's CPU ceilings (`flops.hardware_use`), from the
    FLOPs and bytes per step it states and its median ms per step; None where any is missing or it ran elsewhere."""
    stated = (info.get("flops_per_step"), info.get("bytes_per_step"), info.get("ms_per_step_median"))
    use = {"flops_per_step": stated[0], "bytes_per_step": stated[1], **dict.fromkeys(HARDWARE_KEYS)}
    if device != "cpu" or not ceilings or None in stated or not stated[2] > 0:
        return use
    return {**use, **flops.hardware_use(*stated, ceilings)}


def ratio_estimates(
    infos: dict[str, dict[str, Any]],
) -> tuple[dict[tuple[str, str], tuple[float | None, list[float] | None]], list[int]]:
    """(case id, ratio) -> (median, interval) for the cases in `infos` (case id -> extra_info); the pooled batch sizes.

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
        out[idioms.case_id(*idioms.FLOOR, "cpu", batch), vs_tf1] = (
            1 / median,
            [1 / interval[1], 1 / interval[0]] if interval else None,
        )
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
    passed = {
        (r["style"], r["idiom"], r["device"], r["batch_size"]): r["examples_per_s"]
        for r in rows
        if r["status"] == "passed"
    }
    batches = sorted({r["batch_size"] for r in rows if r["batch_size"] != idioms.BATCH_SIZE})
    if not batches:
        return []
    out = []
    for style, name in idioms.SCALING_IDIOMS:
        for batch in [idioms.BATCH_SIZE, *batches]:
            cpu, gpu = passed.get((style, name, "cpu", batch)), passed.get((style, name, "gpu", batch))
            if cpu or gpu:
                out.append(
                    {
                        "style": style,
                        "idiom": name,
                        "batch_size": batch,
                        "cpu_examples_per_s": cpu,
                        "gpu_examples_per_s": gpu,
                        "gpu_over_cpu": gpu / cpu if cpu and gpu else None,
                    }
                )
    return out


def context(data: dict[str, Any], json_path: str) -> dict[str, Any]:
    """Versions, hardware and run settings behind the numbers, from what the suite put into pytest-benchmark's JSON."""
    env = data.get("machine_info", {}).get("tfparity", {})
    run = data.get("tfparity", {})
    return {
        "tensorflow": env.get("tensorflow"),
        "keras": env.get("keras"),
        "numpy": env.get("numpy"),
        "python": env.get("python"),
        "cpu": env.get("cpu"),
        "cpu_count": env.get("cpu_count"),
        "platform": env.get("platform"),
        "gpus": env.get("gpus", []),
        "tf_visible_gpus": env.get("tf_visible_gpus", []),
        "peak_rss_mib": run.get("peak_rss_mib"),
        "malloc": run.get("malloc"),
        "settings": run.get("settings"),
        "target_accuracy": run.get("target_accuracy"),
        "floor": run.get("floor"),
        "runtime": run.get("runtime"),
        "datetime": data.get("datetime"),
        "benchmark_json": json_path,
    }


def nothing_measured(report: dict[str, Any]) -> str | None:
    """Why the run measured nothing (every case skipped), or None: such a run is no success."""
    if any(r["status"] == "passed" for r in report["cases"]):
        return None
    reasons = sorted({r.get("message") or r["status"] for r in report["cases"]})
    return f"no case ran to completion ({'; '.join(reasons)}): nothing was measured"


# --- drift against an earlier report ----------------------------------------------------------


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
        raise ValueError(
            f"{path}: not a report of `tfparity bench --format json` ({exc}); write one with --format json -o FILE"
        ) from exc
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
                changes.append(
                    {
                        "case": case_id_of(r),
                        "ratio": ratio,
                        "change": r[ratio] / old[ratio] - 1,
                        "now": [r[ratio], r.get(f"{ratio}_ci95")],
                        "before": [old[ratio], old.get(f"{ratio}_ci95")],
                    }
                )
    unstable = [c for c in changes if abs(c["change"]) > STABLE_WITHIN]
    # Where both runs have intervals, disjoint ones moved by more than either run's round-to-round noise
    # (or the host's load changed).
    both = [c for c in changes if c["now"][1] and c["before"][1]]
    disjoint = [c for c in both if c["now"][1][0] > c["before"][1][1] or c["now"][1][1] < c["before"][1][0]]
    return {
        "previous": source,
        "compared": len(changes),
        "within": STABLE_WITHIN,
        "beyond": unstable,
        "largest": max(changes, key=lambda c: abs(c["change"]), default=None),
        "with_intervals": len(both),
        "disjoint": disjoint,
    }
