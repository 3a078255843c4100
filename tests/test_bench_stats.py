"""The benchmark suite's statistics, on numbers made up here: paired ratios and their pooled
estimate, batch scaling, the median's interval, ratio drift against a previous report, and how many
rounds a case gets.
"""

from __future__ import annotations

import json

import numpy as np
import pytest


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
