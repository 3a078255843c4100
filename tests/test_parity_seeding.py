"""compat.parity's reproducible start: a side whose initializers are unseeded draws new values on every
build; `reproducible_start` notices (two builds differ) and draws them under a seed instead, so every
run, in this process or another, starts both sides from the same weights."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfparity.compat import parity
from tfparity.compat.parity.initial import accepts_seed, builds_agree, reproducible_start, same_values
from tfparity.compat.parity.matching import RenamedSide

FEATURES, HIDDEN = 20, 8
INPUTS = np.linspace(-1, 1, 4 * FEATURES, dtype=np.float32).reshape(4, FEATURES)


def build_unseeded_tf1() -> parity.TF1Graph:
    """TF1 code as it is often written: initializers without seeds, and a NumPy draw."""
    x = tf.compat.v1.placeholder(tf.float32, [None, FEATURES])
    w1 = tf.compat.v1.get_variable("w1", [FEATURES, HIDDEN], initializer=tf.compat.v1.random_normal_initializer())
    b1 = tf.Variable(np.random.randn(HIDDEN).astype(np.float32), name="b1")
    w2 = tf.compat.v1.get_variable("w2", [HIDDEN, HIDDEN], initializer=keras.initializers.GlorotUniform())
    return parity.TF1Graph(inputs=x, outputs=tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2))


def build_seeded_tf1() -> parity.TF1Graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, FEATURES])
    w1 = tf.compat.v1.get_variable("w1", [FEATURES, HIDDEN], initializer=tf.compat.v1.random_normal_initializer(seed=1))
    return parity.TF1Graph(inputs=x, outputs=tf.matmul(x, w1))


class UnseededModule(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.normal([FEATURES, HIDDEN]))
        self.b = tf.Variable(tf.random.uniform([HIDDEN]))

    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


class GlobalGeneratorModule(UnseededModule):
    """Draws from `tf.random.get_global_generator()`, which no seed resets (sides' docstring)."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.get_global_generator().normal([FEATURES, HIDDEN]))


def make_keras(seed: int | None = None) -> keras.Model:
    init = "glorot_uniform" if seed is None else keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(HIDDEN, kernel_initializer=init, name="hidden")]
    )


def keras_side(seed: int | None, name: str) -> parity.TF2Side:
    """Keras names each model anew ('sequential_3/hidden/kernel'): the name_map drops that part."""
    return parity.TF2Side(lambda: make_keras(seed), name=name, name_map=lambda n: n.split("/", 1)[1])


class NoSeedSide:
    """A user's own `Side`: its inspect takes no seed, and it draws from a fresh NumPy generator."""

    name = "own"

    def inspect(self, sample_inputs: np.ndarray) -> parity.Inspection:
        w = np.random.default_rng().normal(size=(FEATURES, HIDDEN)).astype(np.float32)
        return parity.Inspection([parity.VariableSpec("w", w.shape, "float32")], {"w": w})

    def forward(self, weights, inputs):
        return inputs @ weights["w"]

    def train(self, weights, batches, record_every=1):
        raise NotImplementedError


UNSEEDED = {
    "tf1": lambda: parity.TF1GraphSide(build_unseeded_tf1),
    "module": lambda: parity.TF2Side(UnseededModule, name="module"),
    "keras": lambda: keras_side(None, "keras"),
}


def digest(weights: parity.Weights) -> str:
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode() + np.ascontiguousarray(weights[name]).tobytes())
    return h.hexdigest()[:16]


def digests() -> dict[str, str]:
    """Run by a child process: one plain build of each unseeded side, then each one's reproducible start.

    The plain builds come first: once a seeded build has seeded the process, everything after it repeats.
    """
    sides = {name: make() for name, make in UNSEEDED.items()}
    out = {f"build {name}": digest(side.inspect(INPUTS).initial) for name, side in sides.items()}
    out.update({f"start {name}": digest(reproducible_start(side, INPUTS).weights) for name, side in sides.items()})
    return out


# --- in one process --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(UNSEEDED))
def test_unseeded_side_starts_from_the_same_weights_under_a_seed(name):
    side = UNSEEDED[name]()
    assert not builds_agree(side, INPUTS)
    first, second = reproducible_start(side, INPUTS), reproducible_start(side, INPUTS)
    assert first.seeded and second.seeded
    assert same_values(first.weights, second.weights)
    assert first.inspection is not None and same_values(first.inspection.initial, first.weights)
    assert first.how == f"the {side.name} side's initial values under seed 0"
    assert first.note.startswith(f"the {side.name} side's initializers are unseeded (two builds differ)")
    assert f"drew them under seed 0 ({side.seeding}) so every run starts from the same weights" in first.note
    other = reproducible_start(side, INPUTS, seed=1)
    assert not same_values(first.weights, other.weights)  # the seed, not luck, fixes the values


@pytest.mark.parametrize(
    "side",
    [parity.TF1GraphSide(build_seeded_tf1, name="seeded"), keras_side(3, "seeded")],
    ids=["tf1", "keras"],
)
def test_seeded_side_is_reported_as_seeded(side):
    assert builds_agree(side, INPUTS)
    start = reproducible_start(side, INPUTS)
    assert start.seeded and start.note == ""
    assert start.how == "the seeded side's initial values (its initializers are seeded: two builds agree)"
    assert same_values(start.weights, side.inspect(INPUTS).initial)  # its own values, not drawn under a seed


def test_a_global_generator_draw_is_not_made_reproducible():
    start = reproducible_start(parity.TF2Side(GlobalGeneratorModule, name="gen"), INPUTS)
    assert not start.seeded and start.inspection is not None
    assert "seed 0 did not make two builds agree" in start.note
    assert "pass initial_weights= or seed the initializers" in start.note


def test_a_side_whose_inspect_takes_no_seed_is_not_seeded():
    side = NoSeedSide()
    assert not accepts_seed(side) and accepts_seed(UNSEEDED["tf1"]())
    start = reproducible_start(side, INPUTS)
    assert not start.seeded and "its inspect takes no seed" in start.note
    assert start.how == "one build of the own side's initial values (unseeded)"


def test_renamed_side_passes_the_seed_on():
    mapping = {"Variable": "hidden/kernel", "Variable#2": "hidden/bias"}
    renamed = RenamedSide(parity.TF2Side(UnseededModule, name="module"), mapping)
    assert accepts_seed(renamed) and not accepts_seed(RenamedSide(NoSeedSide(), {}))
    first, second = reproducible_start(renamed, INPUTS), reproducible_start(renamed, INPUTS)
    assert first.seeded and set(first.weights) == {"hidden/kernel", "hidden/bias"}
    assert same_values(first.weights, second.weights)
    assert first.weights["hidden/kernel"].shape == (FEATURES, HIDDEN)


# --- run to run: what CI sees ------------------------------------------------------------------


def test_two_processes_start_from_the_same_weights():
    tests = Path(__file__).resolve().parent
    code = (
        f"import sys, json; sys.path.insert(0, {str(tests)!r}); "
        "import test_parity_seeding as t; print(json.dumps(t.digests()))"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    runs = []
    for _ in range(2):
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
        assert child.returncode == 0, child.stderr
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    first, second = runs
    for name in UNSEEDED:
        assert first[f"start {name}"] == second[f"start {name}"], name
        assert first[f"build {name}"] != second[f"build {name}"], name  # unseeded, a plain build differs
