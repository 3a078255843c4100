"""The regression tutorials (issue 17): birth_life's linear regression and Pima's logistic one, in four styles.

Short runs through `tfparity compare --model ...` (four rows, the same weights, the tutorial's
loss curve, `--plot`), the TF1 graph at the tutorials' full length against their published
curves, the input idioms, and the bad input `compare` refuses before any training.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from tfparity.benchmarks import cli, idioms
from tfparity.compat import MODELS, TrainConfig
from tfparity.compat.tasks import epoch_losses

TF1_TARGET, KERAS_TARGET = 1e-6, 1e-5  # max |dW| against the TF1 graph (issue 17)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_compare(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["compare", *argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def linear_compare(birth_life, tmp_path_factory):
    """One epoch of CS20's per-example loop in the four styles, with --plot."""
    plots = tmp_path_factory.mktemp("plots")
    status, out, err = run_compare("--model", "linear_regression", "--steps", "190", "--plot", str(plots))
    status_json, text, _ = run_compare("--model", "linear_regression", "--steps", "190", "-q", "--format", "json")
    assert status == status_json == 0, err
    return out, json.loads(text), plots


@pytest.fixture(scope="module")
def logistic_compare(pima, tmp_path_factory):
    plots = tmp_path_factory.mktemp("plots")
    status, text, err = run_compare(
        "--model", "logistic_regression", "--steps", "100", "-q", "--format", "json", "--plot", str(plots)
    )
    assert status == 0, err
    return json.loads(text), plots


def assert_four_rows_with_tf1s_weights(rows: list[dict]) -> None:
    assert [r["style"] for r in rows] == list(idioms.STYLES)
    for row in rows[1:]:
        target = KERAS_TARGET if row["style"] == "keras_fit" else TF1_TARGET
        assert max(row["max_abs_dw"], row["max_abs_db"]) <= target, row
        assert row["same_batches"] and row["verdict"] in ("parity",), row


def test_compare_linear_regression_prints_four_rows_with_tf1s_weights_and_curve(linear_compare):
    table, rows, _ = linear_compare
    assert_four_rows_with_tf1s_weights(rows)
    assert {r["model"] for r in rows} == {"linear_regression"}
    first = [r["epoch_losses"][0] for r in rows]
    assert first == pytest.approx([1657] * 4, rel=2e-3)  # CS20's epoch 1: "about 1,657"
    assert rows[0]["test_accuracy"] is None and rows[0]["test_mse"] > 0  # a regression has no accuracy
    assert "test MSE" in table and "mean training loss by epoch" in table


def test_compare_logistic_regression_prints_four_rows_with_tf1s_weights_and_accuracy(logistic_compare):
    rows, _ = logistic_compare
    assert_four_rows_with_tf1s_weights(rows)
    accuracies = {r["test_accuracy"] for r in rows}
    assert len(accuracies) == 1 and 0.6 < accuracies.pop() <= 1  # 154 test rows, 35% of them diabetic
    assert len(rows[0]["epoch_losses"]) == 100  # the whole training split is one batch: a step is an epoch


def test_plot_draws_the_fit_and_the_loss_curve_of_each_model(linear_compare, logistic_compare):
    for folder, model in ((linear_compare[2], "linear_regression"), (logistic_compare[1], "logistic_regression")):
        for kind in ("fit", "loss"):
            png = (folder / f"{model}_{kind}.png").read_bytes()
            assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000, (model, kind)
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert width > 300 and height > 200
        assert not list(folder.glob(".*tmp*"))  # nothing half-written left behind


def test_tf1_graph_reproduces_cs20s_per_example_curve_over_100_epochs(birth_life):
    config = TrainConfig.for_model("linear_regression")
    run = idioms.style_train("tf1_graph")(birth_life, config)
    curve = epoch_losses(run.losses, birth_life.train.num_examples, config.batch_size)
    assert len(curve) == 100
    assert curve[0] == pytest.approx(1657, rel=2e-3) and curve[-1] == pytest.approx(30.0, rel=0.01)
    assert np.all(np.diff(curve[:20]) < 0)  # falls epoch after epoch while it is far from the fit


def test_tf1_graph_reproduces_the_minibatch_curve_and_pimas_epoch_100(birth_life, pima):
    minibatch = TrainConfig.for_model("linear_regression", batch_size=10, learning_rate=0.01, steps=19 * 5)
    run = idioms.style_train("tf1_graph")(birth_life, minibatch)
    assert epoch_losses(run.losses, 190, 10)[0] == pytest.approx(1770, rel=2e-3)  # "about 1,770"
    run = idioms.style_train("tf1_graph")(pima, TrainConfig.for_model("logistic_regression", steps=100))
    assert epoch_losses(run.losses, pima.train.num_examples, 614)[99] == pytest.approx(0.643, abs=0.005)


@pytest.mark.parametrize("style", ["tf1_graph", "eager", "function"])
def test_the_tf_data_pipeline_trains_what_the_feed_trains(birth_life, style):
    config = TrainConfig.for_model("linear_regression", batch_size=10, learning_rate=0.01, steps=38, shuffle=True)
    fed = idioms.style_train(style)(birth_life, config)
    piped = idioms.style_train(style, pipeline="tf_data")(birth_life, config)
    assert piped.extra["pipeline"] == "tf_data" and fed.extra["pipeline"] == "feed_dict"
    assert all(np.array_equal(fed.weights[k], piped.weights[k]) for k in fed.weights)
    assert np.array_equal(fed.losses, piped.losses)


def test_without_shuffle_every_epoch_reads_the_file_in_order():
    config = TrainConfig.for_model("linear_regression", batch_size=10, steps=38)
    plan = config.batch_plan(190)
    assert np.array_equal(plan.indices.ravel(), np.tile(np.arange(190), 2))
    assert not np.array_equal(config.replace(shuffle=True).batch_plan(190).indices, plan.indices)
    with pytest.raises(ValueError, match="shuffle must be True"):
        TrainConfig(shuffle=False)  # the MNIST styles always draw a fresh permutation
    with pytest.raises(ValueError, match="loss must be 'mean'"):
        TrainConfig.for_model("logistic_regression", loss="sum")


def test_each_regression_model_starts_as_its_tutorial():
    from tfparity.compat import initial_weights

    linear = initial_weights(TrainConfig.for_model("linear_regression"))
    assert linear["W"].shape == (1, 1) and linear["W"].item() == np.float32(0.1) and linear["b"].item() == 0
    logistic = initial_weights(TrainConfig.for_model("logistic_regression"))
    assert logistic["W"].shape == (8, 1) and not logistic["W"].any() and not logistic["b"].any()
    assert {MODELS[m].dataset for m in ("linear_regression", "logistic_regression")} == {"birth_life", "pima"}


@pytest.mark.slow
def test_the_per_example_loop_costs_every_style_several_minibatch_epochs(measured):
    from test_pitfalls import assert_claims

    m = measured("per-example-loop")
    n = m.numbers
    assert n["rows"] == 190 and n["repeats"] == 3 and set(n["ratio_per_example_vs_minibatch"]) == set(idioms.STYLES)
    assert min(n["ratio_per_example_vs_minibatch"].values()) > 3  # 7x to 20x on a 2-core CPU
    assert n["max_abs_dw_across_styles"] <= 1e-6
    assert_claims(m)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "softmax", "--plot", "PLOTS"], "--plot draws the regression models' fits"),
        (["--model", "linear_regression", "--plot", "FILE"], "not a folder"),
        (["--model", "linear_regression", "--plot", "MISSING/plots"], "does not exist"),
        (["--model", "logistic_regression", "--dataset", "mnist"], "trains on pima only"),
        (["--model", "linear_regression", "--optimizer", "adam"], "train with ('sgd',)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_training(tmp_path, argv, message):
    (tmp_path / "FILE").write_text("x")
    paths = {"PLOTS": tmp_path / "plots", "FILE": tmp_path / "FILE", "MISSING/plots": tmp_path / "no" / "plots"}
    argv = [str(paths.get(a, a)) for a in argv]
    status, out, err = run_compare(*argv, "-q")
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "plots").exists()  # refused before anything was made
