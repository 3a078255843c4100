"""Checkpoints across the migration (issue 18): every model's round trip, a foreign TF1 checkpoint, bad input.

The round trip trains the TF1 style a few steps, saves with `Saver`, converts to a TF2 checkpoint
and a Keras weights file, loads each into the TF2 styles, converts back, and compares forward
passes (and the saved values) with the original's. The foreign checkpoint is written by
`tf1_saver_script.py`, a TF1 script with unnamed variables that tfparity did not write.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import tf1_saver_script

from tfparity.benchmarks import checkpoint_cmd, checkpoint_models, checkpoint_roundtrip, cli
from tfparity.compat import MODELS, TrainConfig
from tfparity.compat.checkpoints import open_checkpoint

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "tf1_saver_script.py"
DATA_FIXTURE = {"mnist": "mnist", "birth_life": "birth_life", "pima": "pima"}


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["checkpoint", *argv])
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_round_trips_tf1_through_every_tf2_form_and_style_and_back(model, request, tmp_path):
    data = request.getfixturevalue(DATA_FIXTURE[MODELS[model].dataset])
    config = TrainConfig.for_model(model, steps=3)
    rows = checkpoint_roundtrip.roundtrip(data, config, tmp_path, data.test.images[:200], quiet=True)
    assert [(r["from"], r["to"]) for r in rows] == [
        ("tf1_graph", "tf2"),
        ("tf1_graph", "keras"),
        ("tf2", "eager"),
        ("tf2", "function"),
        ("keras", "keras_fit"),
        ("tf2", "tf1_graph"),
        ("keras", "tf1_graph"),
    ]
    for r in rows:
        assert r["verified"] and r["max_abs_diff"] <= 1e-5, r  # forward pass: float32 rounding at most
    for r in rows[-2:]:  # back in TF1: the weights as they were; Adam's moments and step too
        assert r["max_abs_diff_weights"] == 0, r
        if config.optimizer == "adam":
            assert r["max_abs_diff_saved_values"] <= 2e-7, r  # beta^(t+1) recomputed: one float32 rounding
    if config.optimizer == "adam":
        assert any("Adam moments" in c for c in rows[0]["carried"]) and not rows[0]["dropped"]
    if config.optimizer == "rmsprop":  # reported, never silent, both ways
        assert any("starts at ones" in d for d in rows[0]["dropped"] + rows[-1]["dropped"])


@pytest.fixture(scope="module")
def foreign_checkpoint(mnist, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tf1-script")
    tf1_saver_script.save(str(folder / "model.ckpt"), mnist.train.images, mnist.train.one_hot)
    return folder


@pytest.mark.parametrize(
    "to, factory, name", [("keras", "make_keras", "two.weights.h5"), ("tf2", "make_module", "two")]
)
def test_a_foreign_tf1_checkpoint_converts_with_a_map_file_and_verifies(
    foreign_checkpoint, tmp_path, to, factory, name
):
    models = ["--source-model", f"{SCRIPT}:build", "--target-model", f"{SCRIPT}:{factory}"]
    argv = ["convert", str(foreign_checkpoint), "-o", str(tmp_path / name), "--to", to, "--format", "json", *models]
    status, out, err = run_cli(*argv, "--map", str(tf1_saver_script.MAP_FILE))
    assert status == 0, err
    report = json.loads(out)
    assert report["verified"] and report["max_abs_diff"] == 0 and report["source_format"] == "tf1"
    assert sorted(report["mapping"]) == ["Variable", "Variable_1", "Variable_2", "Variable_3"]
    written = open_checkpoint(tmp_path / name)
    assert written.format == to and len(written.variables()) == 4


def test_inspect_names_each_tf1_entrys_role(tmp_path):
    config = TrainConfig.for_model("mlp_dropout", steps=2)
    holder = checkpoint_models.holder("tf1", config)
    holder.save(tmp_path / "m.ckpt")
    status, out, err = run_cli("inspect", str(tmp_path / "m.ckpt"), "--format", "json")
    assert status == 0, err
    roles = {e["name"]: (e["role"], e["slot"], e["slot_of"]) for e in json.loads(out)["entries"]}
    assert roles["hidden/kernel"] == ("variable", "", "")
    assert roles["hidden/kernel/Adam"] == ("slot", "adam_m", "hidden/kernel")
    assert roles["hidden/kernel/Adam_1"] == ("slot", "adam_v", "hidden/kernel")
    assert roles["beta1_power"][0] == "optimizer" and roles["global_step"][0] == "step"


def test_inspect_says_why_keras_optimizer_state_in_a_tf2_checkpoint_is_not_matched_to_variables(tmp_path):
    holder = checkpoint_models.holder("tf1", TrainConfig.for_model("softmax", optimizer="adam"))
    holder.save(tmp_path / "a.ckpt")
    argv = ["convert", str(tmp_path / "a.ckpt"), "-o", str(tmp_path / "b"), "--to", "tf2", "--optimizer", "adam"]
    status, out, err = run_cli(*argv, "--model", "softmax", "-q")
    assert status == 0 and "carried: Adam moments of 2 variables" in out, err
    status, out, err = run_cli("inspect", str(tmp_path / "b"))
    assert status == 0, err
    assert "2 variables, 0 optimizer slots, 5 other optimizer entries" in out.splitlines()[0]
    assert out.rstrip().endswith(checkpoint_cmd.UNMATCHED_OPTIMIZER_STATE)
    status, out, _ = run_cli("inspect", str(tmp_path / "a.ckpt"))  # TF1's slots name their variable: no note
    assert status == 0 and checkpoint_cmd.UNMATCHED_OPTIMIZER_STATE not in out


@pytest.fixture()
def mlp_checkpoint(tmp_path) -> Path:
    holder = checkpoint_models.holder("tf1", TrainConfig.for_model("mlp"))
    holder.save(tmp_path / "mlp.ckpt")
    return tmp_path / "mlp.ckpt"


def damage(prefix: Path, how: str) -> str:
    """Break the checkpoint at `prefix` one way; the path to give the command."""
    data = next(prefix.parent.glob(f"{prefix.name}.data-*"))
    index = prefix.with_name(prefix.name + ".index")
    if how == "index without data":
        data.unlink()
    elif how == "data cut short":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif how == "shard missing":
        data.rename(prefix.with_name(f"{prefix.name}.data-00000-of-00002"))
    elif how == "index corrupted":
        index.write_bytes(os.urandom(index.stat().st_size))
    elif how == "no such path":
        return str(prefix.with_name("nothing.ckpt"))
    return str(prefix)


@pytest.mark.parametrize(
    "how, message",
    [
        ("index without data", "data file"),
        ("data cut short", "not a readable checkpoint"),
        ("shard missing", "shard missing"),
        ("index corrupted", "not a readable checkpoint"),
        ("no such path", "no such file"),
    ],
)
def test_a_damaged_checkpoint_is_one_line_exit_2_and_nothing_written(mlp_checkpoint, how, message, tmp_path):
    given = damage(mlp_checkpoint, how)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for argv in (
        ["inspect", given],
        ["convert", given, "-o", str(out_dir / "m.weights.h5"), "--to", "keras", "--model", "mlp"],
    ):
        status, out, err = run_cli(*argv, "-q")
        assert status == 2 and out == "" and len(err.strip().splitlines()) == 1, (how, err)
        assert message in err and Path(given).name in err, err  # says what is wrong, and with which file
    assert list(out_dir.iterdir()) == []  # nothing written, no temporary folder left


def test_another_models_checkpoint_is_refused_naming_both_sides(mlp_checkpoint, tmp_path):
    status, out, err = run_cli(
        "convert", str(mlp_checkpoint), "-o", str(tmp_path / "c"), "--to", "tf2", "--model", "cnn"
    )
    assert status == 2 and "unmapped" in err and "hidden/kernel" in err and "conv1/kernel" in err, err
    assert not list(tmp_path.glob("c*")) and not list(tmp_path.glob(".c*"))


def test_a_destination_that_exists_is_never_overwritten(mlp_checkpoint, tmp_path):
    (tmp_path / "m.weights.h5").write_text("keep me")
    status, _, err = run_cli(
        "convert", str(mlp_checkpoint), "-o", str(tmp_path / "m.weights.h5"), "--to", "keras", "--model", "mlp"
    )
    assert status == 2 and "exists" in err and (tmp_path / "m.weights.h5").read_text() == "keep me"


def test_a_keras_file_name_for_a_checkpoint_prefix_is_refused(mlp_checkpoint, tmp_path):
    target = tmp_path / "m.weights.h5"
    status, _, err = run_cli("convert", str(mlp_checkpoint), "-o", str(target), "--to", "tf2", "--model", "mlp")
    assert status == 2 and len(err.strip().splitlines()) == 1 and "give --to keras" in err, err
    assert not list(tmp_path.glob("m.weights.h5*"))  # nothing written


def test_optimizer_state_carried_into_keras_trains_on_as_tf1_does(mnist):
    """Adam's moments and step mean the same on both sides: one more step from the converted state is
    TF1's next step; from the weights alone (a fresh Adam), it is not."""
    config = TrainConfig.for_model("softmax", optimizer="adam", learning_rate=0.01)
    x, y = mnist.train.images[:100], mnist.train.one_hot[:100]
    tf1 = checkpoint_models.holder("tf1", config)
    tf1.train(
        [
            (mnist.train.images[100 * i : 100 * (i + 1)], mnist.train.one_hot[100 * i : 100 * (i + 1)])
            for i in range(1, 6)
        ]
    )
    import tempfile

    from tfparity.compat.checkpoints import convert

    with tempfile.TemporaryDirectory() as folder:
        tf1.save(Path(folder) / "a.ckpt")
        source = open_checkpoint(Path(folder) / "a.ckpt")
        make = lambda: checkpoint_models.holder("keras", config)  # noqa: E731
        keras_side = make()
        convert(
            source, keras_side, Path(folder) / "k.weights.h5", fresh_target=make, source_forward=tf1.forward, inputs=x
        )
    fresh = make()
    fresh.assign({n: tf1.read()[n] for n in fresh.named})
    tf1.train([(x, y)])
    for side in (keras_side, fresh):
        side.model.train_on_batch(x, y)
    carried = max(float(np.abs(keras_side.read()[n] - tf1.read()[n]).max()) for n in keras_side.named)
    dropped = max(float(np.abs(fresh.read()[n] - tf1.read()[n]).max()) for n in fresh.named)
    assert carried <= 1e-6 and dropped > 100 * max(carried, 1e-8), (carried, dropped)


@pytest.mark.parametrize("model", ["softmax", "cnn", "logistic_regression"])
@pytest.mark.parametrize("form", ["tf2", "keras"])
def test_each_tf2_styles_saved_model_serves_its_own_forward_pass(model, form, request, tmp_path):
    import tensorflow as tf

    data = request.getfixturevalue(DATA_FIXTURE[MODELS[model].dataset])
    config = TrainConfig.for_model(model)
    holder = checkpoint_models.holder(form, config)
    holder.assign({name: value + np.float32(0.01) for name, value in holder.read().items()})  # not the start
    inputs = data.test.images[:64]
    folder = checkpoint_models.export_saved_model(holder, tmp_path / "saved", inputs.shape[1])
    served = tf.saved_model.load(str(folder)).signatures["serving_default"](tf.constant(inputs))
    (outputs,) = served.values()
    assert np.allclose(outputs.numpy(), holder.forward(inputs), rtol=1e-6, atol=1e-6)
    assert not np.allclose(outputs.numpy(), checkpoint_models.holder(form, config).forward(inputs), atol=1e-4)


def test_roundtrip_command_verifies_every_step_and_prints_json(mnist, tmp_path):
    status, out, err = run_cli("roundtrip", "--model", "softmax", "--steps", "5", "--examples", "300", "-q",
                               "--format", "json", "--keep", str(tmp_path / "kept"))  # fmt: skip
    assert status == 0, err
    rows = json.loads(out)
    assert len(rows) == 7 and all(r["verified"] and r["examples"] == 300 for r in rows)
    kept = {p.name for p in (tmp_path / "kept" / "softmax").iterdir()}
    assert {"tf1.ckpt.index", "model.weights.h5", "model-tf2.index", "back-from-keras.ckpt.index"} <= kept


def test_a_truncated_keras_weights_file_is_one_line_exit_2(tmp_path):
    holder = checkpoint_models.holder("keras", TrainConfig())
    holder.save(tmp_path / "m.weights.h5")
    data = (tmp_path / "m.weights.h5").read_bytes()
    (tmp_path / "m.weights.h5").write_bytes(data[: len(data) // 3])
    status, out, err = run_cli("inspect", str(tmp_path / "m.weights.h5"))
    assert status == 2 and "m.weights.h5" in err and "not a readable Keras weights file" in err, err


def test_a_map_file_that_is_not_an_object_of_names_is_refused(mlp_checkpoint, tmp_path):
    (tmp_path / "bad.json").write_text('{"hidden/kernel": 3}')
    status, _, err = run_cli("convert", str(mlp_checkpoint), "-o", str(tmp_path / "o"), "--to", "tf2", "--model",
                             "mlp", "--map", str(tmp_path / "bad.json"))  # fmt: skip
    assert status == 2 and "bad.json" in err and "source name -> target name" in err, err
    assert not list(tmp_path.glob("o*"))


def test_the_mapping_pairs_by_name_then_shape_and_refuses_to_guess():
    from tfparity.compat.checkpoints import MappingError, find_mapping, normalise

    assert normalise("sequential_3/dense/kernel:0") == "dense/kernel" and normalise("layer/W") == "layer/kernel"
    unnamed = {"Variable": (4, 3), "Variable_1": (3,), "Variable_2": (3, 3), "Variable_3": (3, 3)}
    named = {"a/kernel": (4, 3), "a/bias": (3,), "b/kernel": (3, 3), "c/kernel": (3, 3)}
    assert find_mapping(unnamed, named) == {  # auto-numbered names give the creation order
        "Variable": "a/kernel",
        "Variable_1": "a/bias",
        "Variable_2": "b/kernel",
        "Variable_3": "c/kernel",
    }
    scoped = {"x/w": (3, 3), "y/w": (3, 3)}
    with pytest.raises(MappingError, match=r"ambiguous: source variables \['x/w', 'y/w'\]"):
        find_mapping(scoped, {"b/kernel": (3, 3), "c/kernel": (3, 3)})
    assert find_mapping(scoped, {"b/kernel": (3, 3), "c/kernel": (3, 3)}, {"x/w": "c/kernel"}) == {
        "x/w": "c/kernel",
        "y/w": "b/kernel",
    }
    with pytest.raises(MappingError, match="shape mismatch: source 'x/w' \\[3, 3\\] -> target 'k' \\[3, 4\\]"):
        find_mapping({"x/w": (3, 3)}, {"k": (3, 4)}, {"x/w": "k"})
    with pytest.raises(MappingError, match="two source variables, 'p' and 'q', map to one target 'k'"):
        find_mapping({"p": (2,), "q": (2,)}, {"k": (2,), "m": (2,)}, {"p": "k", "q": "k"})
    with pytest.raises(MappingError, match=r"unmapped: source \[extra \[5\]\]"):
        find_mapping({"w": (2,), "extra": (5,)}, {"w": (2,)})


@pytest.mark.slow
@pytest.mark.parametrize("pitfall", ["ckpt-creation-order", "ckpt-keras3-by-name", "ckpt-optimizer-state"])
def test_the_checkpoint_pitfalls_hold(measured, pitfall):
    from test_pitfalls import assert_claims

    m = measured(pitfall)
    n = m.numbers
    if pitfall == "ckpt-creation-order":
        assert n["restore_unchanged"] == "restored" and n["restore_reordered"] == "restored"
        assert n["restore_extra_first"] != "restored" and n["max_abs_diff_reordered"] > 0.01
    elif pitfall == "ckpt-keras3-by-name":
        assert n["read_restored_nothing"] and n["test_acc_tf1"] - n["test_acc_after_read"] > 0.5
        assert n["converted_max_abs_diff"] <= 1e-5
    else:
        assert n["max_abs_dw_carried"] <= 1e-5 < n["max_abs_dw_weights_only"]
    assert_claims(m)


def test_a_conversion_whose_forward_pass_differs_fails_verification_with_exit_1(foreign_checkpoint, tmp_path):
    models = ["--source-model", f"{SCRIPT}:build", "--target-model", f"{SCRIPT}:make_keras_sigmoid"]
    status, out, err = run_cli("convert", str(foreign_checkpoint), "-o", str(tmp_path / "bad.weights.h5"), "--to",
                               "keras", *models, "--format", "json")  # fmt: skip
    report = json.loads(out)
    assert status == 1 and not report["verified"] and "FAILED" in report["verification"], err
    assert report["max_abs_diff"] > 1e-3  # the weights moved faithfully; the model they moved into is not the same


@pytest.mark.parametrize("source", checkpoint_models.FORMATS)
def test_every_form_converts_into_every_other_and_verifies(source, mnist, tmp_path):
    config = TrainConfig.for_model("mlp_dropout")
    holder = checkpoint_models.holder(source, config)
    holder.assign({name: value + np.float32(0.01) for name, value in holder.read().items()})
    holder.save(tmp_path / checkpoint_models.file_name(source, "source"))
    given = tmp_path / checkpoint_models.file_name(source, "source")
    for target in (f for f in checkpoint_models.FORMATS if f != source):
        out = tmp_path / checkpoint_models.file_name(target, f"to-{target}")
        status, text, err = run_cli("convert", str(given), "-o", str(out), "--to", target, "--model", "mlp_dropout",
                                    "--examples", "200", "--format", "json")  # fmt: skip
        assert status == 0 and json.loads(text)["max_abs_diff"] <= 1e-5, (source, target, err)
