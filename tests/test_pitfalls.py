"""The pitfall catalogue stays true: every entry's measured effect, direction and rough size.

Each experiment runs once per session (the `measured` fixture) and is shared by the tests
that read it. Timings appear only as ratios of two runs taken back to back, with wide
margins: the claims are "XLA on a sliced epoch is >10x slower", never "finishes in N s".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tfparity.benchmarks import cli
from tfparity.benchmarks.pitfalls import CATALOGUE, PITFALLS, Measurement, select
from tfparity.benchmarks.pitfalls.command import DETAIL_HEADERS, SUMMARY_HEADERS, detail_rows, markdown_cell
from tfparity.benchmarks.pitfalls.core import fastest_interleaved
from tfparity.compat.devices import gpu_skip_reason

README = Path(__file__).resolve().parents[1] / "README.md"
ISSUE_LIST = {  # issue 5's "at least these", one id each
    "sum-vs-mean-loss",
    "log-softmax",
    "adam-epsilon",
    "initializers",
    "disable-eager",
    "keras-dispatch",
    "xla-dynamic-slice",
    "gpu-tiny-model",
    "float32-sensitivity",
    "shuffle-buffer",
    "next-batch-order",
    "keras3-v1-layers",
    "default-learning-rates",
    "v1-losses-reduction",
    "validation-split",
}
ISSUE_16_LIST = {"rmsprop-defaults", "softmax-twice", "keep-prob-vs-rate"}  # tests/test_pitfalls_models.py
ISSUE_17_LIST = {"per-example-loop"}  # tests/test_regression_models.py
ISSUE_18_LIST = {"ckpt-creation-order", "ckpt-keras3-by-name", "ckpt-optimizer-state"}
ISSUE_19_LIST = {"mirrored-global-batch", "mirrored-l2-unscaled", "mirrored-dropout-seed"}  # test_pitfalls_distributed


def assert_claims(m: Measurement) -> None:
    assert m.checks, "a pitfall without a claim"
    assert m.holds, f"failed: {m.failed_checks()}\nmeasured: {m.effect}"


# --- the catalogue itself ---------------------------------------------------------------------


def test_catalogue_covers_the_issue_list_with_complete_entries():
    assert set(PITFALLS) == ISSUE_LIST | ISSUE_16_LIST | ISSUE_17_LIST | ISSUE_18_LIST | ISSUE_19_LIST
    assert len(CATALOGUE) == len(PITFALLS)
    for p in CATALOGUE:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.id), p.id
        assert all(s.strip() for s in (p.title, p.tf1, p.tf2, p.differs, p.fix)), p.id
        assert callable(p.measure)
    assert select(["adam-epsilon", "log-softmax"]) == [PITFALLS["adam-epsilon"], PITFALLS["log-softmax"]]
    with pytest.raises(ValueError, match=r"unknown pitfall id\(s\) \['nope'\].*--list"):
        select(["nope"])


def test_a_timing_claim_keeps_each_runs_fastest_of_interleaved_repeats():
    calls: list[str] = []
    times = {"a": iter([5.0, 2.0, 3.0]), "b": iter([1.0, 4.0, 0.5])}

    def run(name: str):
        calls.append(name)
        return (name, next(times[name]))

    fastest = fastest_interleaved({n: lambda n=n: run(n) for n in "ab"}, 3, lambda result: result[1])
    assert fastest == {"a": ("a", 2.0), "b": ("b", 0.5)}
    assert calls == ["a", "b"] * 3  # in turn, so a stall slows one repeat of each, not all of one


# --- one test per pitfall ---------------------------------------------------------------------


@pytest.mark.slow
def test_sum_vs_mean_loss(measured):
    m = measured("sum-vs-mean-loss")
    n = m.numbers
    assert n["max_abs_dw_sum_lr0.01_vs_mean_lr1"] <= 1e-5  # equal step for step
    assert n["max_abs_step_loss_gap"] <= 1e-5
    assert n["test_acc_sum_lr0.01"] > 0.85
    assert n["accuracy_drop_mean_lr0.01"] >= 0.03  # far slower at the same lr (about 8 points at 300 steps)
    assert_claims(m)


@pytest.mark.slow
def test_log_softmax_gives_nan_where_the_fused_loss_does_not(measured):
    m = measured("log-softmax")
    n = m.numbers
    assert n["nonfinite_test_batches_log_softmax"]["100.0"] >= n["test_batches"] // 2
    assert not any(n["nonfinite_test_batches_with_logits"].values())
    assert (
        n["first_nonfinite_step_log_softmax"] is not None and n["first_nonfinite_step_log_softmax"] < n["train_steps"]
    )
    assert n["nonfinite_steps_with_logits"] == 0
    assert n["test_acc_log_softmax"] < 0.2 < 0.8 < n["test_acc_with_logits"]  # NaN weights predict one class
    assert_claims(m)


@pytest.mark.slow
def test_adam_epsilon_defaults_drift_apart(measured):
    import keras
    import tensorflow as tf

    m = measured("adam-epsilon")
    n = m.numbers
    assert n["tf1_default_epsilon"] == tf.compat.v1.train.AdamOptimizer()._epsilon == 1e-8
    assert n["keras_default_epsilon"] == keras.optimizers.Adam().epsilon == 1e-7
    assert n["max_abs_dw_default_epsilons"] > 1e-2
    assert n["max_abs_dw_same_epsilon"] <= 1e-5
    assert_claims(m)


@pytest.mark.slow
def test_initializers(measured):
    m = measured("initializers")
    acc = m.numbers["test_accuracy"]
    assert m.numbers["tf_random_normal_default_stddev"] == 1.0
    assert abs(acc["zeros"] - acc["glorot_uniform"]) <= 0.01
    assert acc["zeros"] - acc["normal(stddev=1)"] >= 0.02
    assert min(acc.values()) > 0.5  # all train; the normal start is just behind
    assert_claims(m)


@pytest.mark.slow
def test_disable_eager_is_process_global_and_a_private_graph_is_not(measured):
    import tensorflow as tf

    m = measured("disable-eager")
    global_run, private_run = m.numbers["children"]["global"], m.numbers["children"]["private"]
    assert global_run["executing_eagerly"] is False and private_run["executing_eagerly"] is True
    assert global_run["styles"]["tf1_graph"]["ok"]
    for name in ("eager", "function", "keras_fit"):
        assert not global_run["styles"][name]["ok"] and "SymbolicTensor" in global_run["styles"][name]["error"]
        assert private_run["styles"][name]["ok"] and private_run["styles"][name]["max_abs_dw_vs_tf1"] <= 1e-5
    assert tf.executing_eagerly()  # measured in children: this process is untouched
    assert_claims(m)


@pytest.mark.slow
def test_keras_fit_dispatch_overhead(measured):
    m = measured("keras-dispatch")
    assert m.numbers["ratio"] > 1.3  # about 2-4x on a 2-core CPU
    assert m.numbers["max_abs_dw"] <= 1e-6
    assert_claims(m)


@pytest.mark.slow
def test_xla_on_a_dynamically_sliced_epoch(measured):
    m = measured("xla-dynamic-slice")
    n = m.numbers
    assert n["ratio_sliced_xla_vs_no_xla"] > 10  # hundreds of times on a 2-core CPU
    assert n["ratio_sliced_xla_vs_prebatched_xla"] > 10
    assert n["max_abs_dw"] <= 1e-5  # the indexing changes the speed, not the math
    assert_claims(m)


@pytest.mark.slow
def test_tiny_model_per_step_cost_cpu_side(measured):
    m = measured("gpu-tiny-model")
    cpu = m.numbers["ms_per_step_cpu"]
    assert cpu["tf1_feed_dict"] / cpu["epoch_loop"] > 1.5
    assert m.numbers["h100_reference_ms_measured_elsewhere"]["xla_epoch_loop_gpu"] == 0.020
    if gpu_skip_reason():
        assert m.not_measured["gpu"] == gpu_skip_reason() and "ms_per_step_gpu" not in m.numbers
    assert_claims(m)


@pytest.mark.gpu
@pytest.mark.slow
def test_tiny_model_per_step_cost_on_a_gpu(measured):
    if gpu_skip_reason():
        pytest.skip(gpu_skip_reason())
    m = measured("gpu-tiny-model")
    gpu, cpu = m.numbers["ms_per_step_gpu"], m.numbers["ms_per_step_cpu"]
    assert gpu["tf1_feed_dict"] > cpu["tf1_feed_dict"]
    assert gpu["tf1_feed_dict"] / gpu["xla_epoch_loop"] > 10
    assert_claims(m)


@pytest.mark.slow
def test_float32_sensitivity_depends_on_the_problem(measured):
    m = measured("float32-sensitivity")
    fashion, mnist = m.numbers["fashion_mnist"], m.numbers["mnist"]
    assert 1e-2 <= fashion["max_gap"] <= 1.0  # about 1e-1 from a 1e-7 start
    assert mnist["max_gap"] < 1e-6
    assert fashion["amplification"] > 1e4 > 10 > mnist["amplification"]
    assert fashion["growth_per_step"] > 1.2
    assert fashion["leaves_tolerance_at"] is not None and mnist["leaves_tolerance_at"] is None
    assert (fashion["regime"], mnist["regime"]) == ("sensitive", "stable")
    assert_claims(m)


@pytest.mark.slow
def test_shuffle_buffer_is_not_a_full_shuffle(measured):
    m = measured("shuffle-buffer")
    n = m.numbers
    assert n["ks_from_uniform"]["buffer_5000"] > 0.5 and n["ks_from_uniform"]["full_buffer"] < 0.05
    assert n["max_index_first_batch"]["buffer_5000"] < 5100 < n["max_index_first_batch"]["full_buffer"]
    assert n["max_index_head"]["buffer_5000"] < 5000 + n["head_examples"]
    assert_claims(m)


@pytest.mark.slow
def test_next_batch_and_tf_data_orders_diverge_and_the_plan_fixes_it(measured):
    m = measured("next-batch-order")
    n = m.numbers
    assert n["max_abs_dw_readers"] > 1e-2
    assert n["max_abs_dw_batch_plan"] <= 1e-6
    assert min(n["test_acc_next_batch"], n["test_acc_tf_data"]) > 0.85  # both train fine, just differently
    assert_claims(m)


@pytest.mark.slow
def test_keras3_v1_layers_fail_and_the_rewrite_fixes_it(measured):
    m = measured("keras3-v1-layers")
    assert not m.numbers["plain"]["ok"] and "not available with Keras 3" in m.numbers["plain"]["error"]
    assert m.numbers["max_abs_dw_rewrite_vs_tf1"] <= 1e-5
    assert_claims(m)


@pytest.mark.slow
def test_keras3_tf_keras_with_legacy_flag_fixes_it(measured):
    m = measured("keras3-v1-layers")
    if "tf_keras" in m.not_measured:
        pytest.skip(f"tf_keras not measured here: {m.not_measured['tf_keras']}")
    assert not m.numbers["tf_keras_without_flag"]["ok"]  # installed alone it changes nothing
    assert m.numbers["tf_keras_with_flag"]["ok"] and m.numbers["tf_keras_with_flag"]["tf_keras"].startswith("tf_keras")
    assert m.numbers["max_abs_dw_tf_keras_vs_tf1"] <= 1e-5


@pytest.mark.slow
def test_default_learning_rates(measured):
    import keras
    import tensorflow as tf

    m = measured("default-learning-rates")
    n = m.numbers
    with pytest.raises(TypeError):
        tf.compat.v1.train.GradientDescentOptimizer()  # the point: no default
    assert n["installed"]["tf.compat.v1.train"]["GradientDescentOptimizer"] is None
    assert n["installed"]["keras.optimizers"]["SGD"] == pytest.approx(float(keras.optimizers.SGD().learning_rate))
    assert set(n["changed_vs_tf1_tf_keras"]) == {"Adagrad", "Adadelta", "Adamax", "Nadam"}
    assert n["test_acc_gradient_descent_0.5"] - n["test_acc_keras_sgd_default"] >= 0.02
    assert n["test_acc_adadelta_1.0"] - n["test_acc_adadelta_keras_default"] >= 0.10
    assert_claims(m)


@pytest.mark.slow
def test_v1_losses_divide_by_nonzero_weights(measured):
    m = measured("v1-losses-reduction")
    n = m.numbers
    assert n["unit"]["v1"] == pytest.approx(n["unit"]["keras"], abs=1e-6)
    masked = n["mask_digit_1"]
    assert masked["nonzero_weights"] < n["batch"]
    assert masked["ratio"] == pytest.approx(n["batch"] / masked["nonzero_weights"], rel=1e-4)
    assert n["double_digit_1"]["v1"] == pytest.approx(n["double_digit_1"]["keras"], abs=1e-6)
    assert_claims(m)


@pytest.mark.slow
def test_validation_split_55k_vs_60k(measured):
    m = measured("validation-split")
    n = m.numbers
    assert (n["train_examples_read_data_sets"], n["train_examples_keras"], n["validation_examples"]) == (
        55000,
        60000,
        5000,
    )
    assert sum(n["held_out_per_digit"]) == 5000 and min(n["held_out_per_digit"]) > 0
    assert_claims(m)


# --- the command ------------------------------------------------------------------------------


def test_cli_list_names_every_pitfall(capsys):
    assert cli.main(["pitfalls", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(p.id in out and p.title in out for p in CATALOGUE)


def test_cli_runs_chosen_pitfalls_to_json(mnist, tmp_path):
    out = tmp_path / "pitfalls.json"
    rc = cli.main(
        [
            "pitfalls",
            "shuffle-buffer",
            "v1-losses-reduction",
            "--mnist-dir",
            mnist.source,
            "--format",
            "json",
            "-o",
            str(out),
            "-q",
        ]
    )
    report = json.loads(out.read_text())
    assert rc == 0 and [r["id"] for r in report] == ["shuffle-buffer", "v1-losses-reduction"]
    assert all(r["holds"] and r["checks"] and r["fix"] == PITFALLS[r["id"]].fix for r in report)
    assert report[0]["numbers"]["ks_from_uniform"]["buffer_5000"] > 0.5


def test_cli_unknown_id_is_a_clear_error(capsys):
    assert cli.main(["pitfalls", "no-such-pitfall"]) == 2
    assert "unknown pitfall id(s) ['no-such-pitfall']" in capsys.readouterr().err


# --- the README copy --------------------------------------------------------------------------


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every GitHub table in `text` as rows of cells (header included, separator dropped)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_readme_pitfalls_table_is_current(capsys):
    """docs/pitfalls.md between the pitfalls markers carries `tfparity pitfalls --format markdown` output:
    the measured numbers vary by machine, the ids, titles, fixes and the TF1/TF2 lines must not.
    The README's list between the pitfalls-list markers is `tfparity pitfalls --list`, exactly."""
    doc = README.parent / "docs" / "pitfalls.md"
    text = doc.read_text(encoding="utf-8")
    regenerate = "regenerate with `tfparity pitfalls --format markdown` and paste it between the markers"
    begin, end = "<!-- pitfalls:begin -->", "<!-- pitfalls:end -->"
    assert begin in text and end in text, f"docs/pitfalls.md lacks {begin}/{end}: {regenerate}"
    summary, details = markdown_tables(text.split(begin, 1)[1].split(end, 1)[0])
    assert summary[0] == SUMMARY_HEADERS and details[0] == DETAIL_HEADERS, (
        f"docs/pitfalls.md's tables are stale: {regenerate}"
    )
    id_col, title_col, fix_col = (SUMMARY_HEADERS.index(h) for h in ("id", "pitfall", "fix"))
    assert [(r[id_col], r[title_col], r[fix_col]) for r in summary[1:]] == [
        (markdown_cell(p.id), markdown_cell(p.title), markdown_cell(p.fix)) for p in CATALOGUE
    ], f"docs/pitfalls.md's pitfalls table is stale: {regenerate}"
    assert details[1:] == detail_rows(list(CATALOGUE)), f"docs/pitfalls.md's pitfalls details are stale: {regenerate}"
    assert all(r[SUMMARY_HEADERS.index("holds")].startswith("yes") for r in summary[1:]), (
        f"docs/pitfalls.md shows a claim that did not hold: {regenerate} on a machine where every claim holds"
    )

    readme = README.read_text(encoding="utf-8")
    listed = re.search(r"<!-- pitfalls-list:begin -->\n```text\n(.*?)```\n<!-- pitfalls-list:end -->", readme, re.S)
    assert listed, (
        "README.md lacks <!-- pitfalls-list:begin/end --> around a text block: paste `tfparity pitfalls --list` there"
    )
    assert cli.main(["pitfalls", "--list"]) == 0
    assert listed.group(1).rstrip() == capsys.readouterr().out.rstrip(), (
        "README's pitfall list is stale: paste the output of `tfparity pitfalls --list` between its markers"
    )


def test_markdown_parser_reads_the_generated_tables():
    """The README check's parser against the renderer itself (no README needed)."""
    from tfparity.benchmarks.pitfalls.command import render

    fake = Measurement(effect="max |dW| 1e-7", checks={"a | b holds": True}, numbers={"x": np.float32(1.0)})
    outcomes = [(p, fake, 0.0) for p in CATALOGUE]
    summary, details = markdown_tables(render(outcomes, "markdown"))
    assert [r[0] for r in summary[1:]] == [p.id for p in CATALOGUE]
    assert summary[1][SUMMARY_HEADERS.index("measured here")] == "max \\|dW\\| 1e-7"
    assert details[1:] == detail_rows(list(CATALOGUE))
    assert json.loads(render(outcomes[:1], "json"))[0]["numbers"] == {"x": 1.0}


def test_the_terminal_table_wraps_between_words():
    from tfparity.benchmarks.pitfalls.command import render

    fake = Measurement(effect="x", checks={"holds": True}, numbers={})
    table = render([(p, fake, 0.0) for p in CATALOGUE], "table")
    cells = " ".join(part.strip() for line in table.splitlines() for part in line.split("|"))
    for pitfall in CATALOGUE:  # every word of every fix is whole somewhere in the table
        assert all(word in cells.split() for word in pitfall.fix.split()), pitfall.id


def test_growth_that_cannot_be_fitted_reads_as_words_not_nan():
    import math

    from tfparity.benchmarks.pitfalls.sensitivity import growth_text

    assert growth_text(1.2345) == "x1.23/step"
    assert "nan" not in growth_text(math.nan).lower() and growth_text(math.nan) == "no growth above rounding to fit"
