"""`tfparity checkpoint convert` on your own models: what it carries, what it refuses, and that it never
leaves a half-done conversion behind (the cases a new user's review of issue 18 found)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import tf1_saver_script

from tfparity.benchmarks import checkpoint_models, cli
from tfparity.compat import TrainConfig, parity
from tfparity.compat.checkpoints import open_checkpoint

SCRIPT = Path(__file__).resolve().parent / "tf1_saver_script.py"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["checkpoint", *argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def foreign(mnist, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tf1")
    tf1_saver_script.save(str(folder / "model.ckpt"), mnist.train.images, mnist.train.one_hot)
    return folder


def test_the_adam_step_is_read_with_the_optimizers_own_beta1(mnist, tmp_path):
    config = TrainConfig(optimizer="adam", learning_rate=0.01, adam_beta1=0.5, adam_beta2=0.99)
    tf1 = checkpoint_models.holder("tf1", config)  # the softmax graph has no global_step: beta1_power tells
    tf1.train(parity.planned_batches(mnist.train.images, mnist.train.one_hot, batch_size=100, steps=7))
    tf1.save(tmp_path / "a.ckpt")
    argv = ["--model", "softmax", "--optimizer", "adam", "--adam-beta1", "0.5", "--adam-beta2", "0.99"]
    argv += ["--examples", "100", "--format", "json"]
    status, out, err = run_cli(
        "convert", str(tmp_path / "a.ckpt"), "-o", str(tmp_path / "k.weights.h5"), "--to", "keras", *argv
    )
    assert status == 0, err
    assert any(c.startswith("step 7 ") for c in json.loads(out)["carried"]), out
    status, out, err = run_cli(
        "convert", str(tmp_path / "k.weights.h5"), "-o", str(tmp_path / "b.ckpt"), "--to", "tf1", *argv
    )
    original, back = open_checkpoint(tmp_path / "a.ckpt"), open_checkpoint(tmp_path / "b.ckpt")
    for name in ("beta1_power", "beta2_power"):
        assert back.values[name] == pytest.approx(original.values[name], rel=1e-6), name


def test_a_failed_verification_writes_nothing(foreign, tmp_path):
    models = ["--source-model", f"{SCRIPT}:build", "--target-model", f"{SCRIPT}:make_keras_sigmoid"]
    status, out, _ = run_cli("convert", str(foreign), "-o", str(tmp_path / "s.weights.h5"), "--to", "keras", *models)
    assert status == 1 and "nothing written" in out and list(tmp_path.iterdir()) == []


def test_an_existing_data_file_of_the_destination_is_refused(foreign, tmp_path):
    (tmp_path / "p.ckpt.data-00000-of-00001").write_text("precious")
    models = ["--source-model", f"{SCRIPT}:build", "--target-model", f"{SCRIPT}:build"]
    status, _, err = run_cli("convert", str(foreign), "-o", str(tmp_path / "p.ckpt"), "--to", "tf1", *models)
    assert status == 2 and "exists" in err and (tmp_path / "p.ckpt.data-00000-of-00001").read_text() == "precious"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--source-model", f"{SCRIPT}:not_a_graph"], "--source-model"),
        (["--source-model", f"{SCRIPT}:build", "--input", "WIDE"], "give --input FILE.npy"),
    ],
)
def test_a_source_model_that_cannot_serve_is_one_line_exit_2_nothing_written(foreign, tmp_path, argv, message):
    np.save(tmp_path / "wide.npy", np.zeros((4, 5), np.float32))
    argv = [str(tmp_path / "wide.npy") if a == "WIDE" else a for a in argv]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, err = run_cli("convert", str(foreign), "-o", str(out_dir / "m.weights.h5"), "--to", "keras", *argv,
                               "--target-model", f"{SCRIPT}:make_keras")  # fmt: skip
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message", [(["--examples", "0"], "--examples"), (["--input", "/nonexistent.npy"], "--input")]
)
def test_roundtrip_refuses_inputs_it_cannot_compare_on(argv, message):
    status, _, err = run_cli("roundtrip", "--model", "softmax", *argv, "-q")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_renamed_optimizers_slots_are_slots_reported_as_dropped(mnist, tmp_path):
    from tfparity.compat.checkpoints import TF1Holder

    holder = TF1Holder(tf1_saver_script.build_renamed_adam)
    holder.train([(mnist.train.images[:100], mnist.train.one_hot[:100])])
    holder.save(tmp_path / "r.ckpt")
    roles = {e.name: (e.role, e.slot_of) for e in open_checkpoint(tmp_path / "r.ckpt").entries}
    assert roles["Variable/opt"] == ("slot", "Variable") and roles["Variable/opt_1"] == ("slot", "Variable")
    models = ["--source-model", f"{SCRIPT}:build", "--target-model", f"{SCRIPT}:make_keras", "--format", "json"]
    status, out, err = run_cli(
        "convert", str(tmp_path / "r.ckpt"), "-o", str(tmp_path / "r.weights.h5"), "--to", "keras", *models
    )
    assert status == 0, err
    assert any("another name" in d for d in json.loads(out)["dropped"])


def test_a_tf_module_of_unnamed_variables_is_keyed_by_attribute_path(foreign, tmp_path):
    pairs = {"Variable": "w1", "Variable_1": "b1", "Variable_2": "w2", "Variable_3": "b2"}
    (tmp_path / "map.json").write_text(json.dumps(pairs))
    models = [
        "--source-model",
        f"{SCRIPT}:build",
        "--target-model",
        f"{SCRIPT}:make_unnamed",
        "--map",
        str(tmp_path / "map.json"),
    ]
    status, out, err = run_cli(
        "convert", str(foreign), "-o", str(tmp_path / "u"), "--to", "tf2", *models, "--format", "json"
    )
    assert status == 0 and json.loads(out)["mapping"] == pairs, err
