"""compat.parity's variable matching: TF2 variables made without `name=` pair with a TF1 graph's by
creation order and shape, with a hint that says so; anything else stays a mismatch with a hint
that names the fix; `RenamedSide` presents the candidate under the reference's names."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfparity.compat import parity
from tfparity.compat.parity.matching import RenamedSide, match_variables, unnamed
from tfparity.compat.parity.variables import Inspection, VariableSpec

FEATURES, HIDDEN = 20, 8
SHAPES = [(FEATURES, HIDDEN), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,)]  # creation order; two share a shape
TF1_NAMES = ["hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"]


def build_tf1() -> parity.TF1Graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, FEATURES])
    y = tf.compat.v1.placeholder(tf.float32, [None, HIDDEN])
    made = []
    for name, shape in zip(TF1_NAMES, SHAPES, strict=True):
        made.append(tf.compat.v1.get_variable(name, shape, initializer=tf.compat.v1.random_normal_initializer()))
    w1, b1, w2, b2 = made
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.square(logits - y))
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.05).minimize(loss)
    return parity.TF1Graph(inputs=x, labels=y, outputs=logits, loss=loss, train_op=train_op)


class UnnamedPort(tf.Module):
    """The TF2 port, variables without names; attributes sort (a_, b_, c_, d_) unlike creation order."""

    def __init__(self, hidden_kernel_shape: tuple[int, int] = (FEATURES, HIDDEN)):
        super().__init__()
        self.d_w1 = tf.Variable(tf.random.normal(hidden_kernel_shape))
        self.c_b1 = tf.Variable(tf.random.normal([HIDDEN]))
        self.b_w2 = tf.Variable(tf.random.normal([HIDDEN, HIDDEN]))
        self.a_b2 = tf.Variable(tf.random.normal([HIDDEN]))

    def __call__(self, x):
        return tf.matmul(tf.nn.relu(tf.matmul(x, self.d_w1) + self.c_b1), self.b_w2) + self.a_b2


def sgd_step(model: UnnamedPort, x, y) -> tf.Tensor:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    variables = [model.d_w1, model.c_b1, model.b_w2, model.a_b2]
    for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
        v.assign_sub(0.05 * g)
    return loss


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, FEATURES)).astype(np.float32)


@pytest.fixture(scope="module")
def tf1_side() -> parity.TF1GraphSide:
    return parity.TF1GraphSide(build_tf1)


@pytest.fixture(scope="module")
def port_side() -> parity.TF2Side:
    return parity.TF2Side(UnnamedPort, train_step=sgd_step)


def specs(names: list[str], shapes: list[tuple[int, ...]], dtype: str = "float32") -> Inspection:
    variables = [VariableSpec(n, s, dtype) for n, s in zip(names, shapes, strict=True)]
    duplicates = sorted({n.split("#")[0] for n in names if "#" in n})
    return Inspection(variables, {v.name: np.zeros(v.shape, np.float32) for v in variables}, duplicates=duplicates)


# --- creation order --------------------------------------------------------------------------


def test_tf2_side_lists_variables_in_creation_order_not_attribute_order(port_side, inputs):
    sorted_by_attribute = [tuple(v.shape) for v in UnnamedPort().trainable_variables]
    assert sorted_by_attribute != SHAPES  # tf.Module sorts by attribute name: a_b2 first
    found = port_side.inspect(inputs)
    assert [(v.name, v.shape) for v in found.variables] == [
        ("Variable", SHAPES[0]),
        ("Variable#2", SHAPES[1]),
        ("Variable#3", SHAPES[2]),
        ("Variable#4", SHAPES[3]),
    ]
    assert found.duplicates == ["Variable"] and list(found.initial) == [v.name for v in found.variables]


def test_tf1_side_keeps_the_graph_order_and_numbers_names_a_name_map_repeats(inputs):
    side = parity.TF1GraphSide(build_tf1, name_map=lambda name: name.split("/")[1])
    found = side.inspect(inputs)
    assert [v.name for v in found.variables] == ["kernel", "bias", "kernel#2", "bias#2"]
    assert [v.shape for v in found.variables] == SHAPES
    assert found.duplicates == ["bias", "kernel"]


# --- matching by order and shape -------------------------------------------------------------


def test_unnamed_port_matches_the_tf1_graph_by_order_and_shape(tf1_side, port_side, inputs):
    match = match_variables(tf1_side.inspect(inputs), port_side.inspect(inputs))
    assert match.how == "order and shape" and match.matched and match.mismatches == []
    assert match.mapping == dict(zip(["Variable", "Variable#2", "Variable#3", "Variable#4"], TF1_NAMES, strict=True))
    assert match.hint == (
        "4 candidate variables have no name of their own (4 called 'Variable'): matched by creation order "
        "and shape; give each tf.Variable a name= (or pass name_map) to match by name"
    )
    assert match.describe_mapping() == [
        "Variable -> hidden/kernel (20, 8)",
        "Variable#2 -> hidden/bias (8,)",
        "Variable#3 -> logits/kernel (8, 8)",
        "Variable#4 -> logits/bias (8,)",
    ]


def test_pairs_follow_creation_order_within_each_shape_not_overall():
    # The candidate made its biases in the same order as the reference, but its kernels in between.
    reference = specs(TF1_NAMES, SHAPES)
    candidate = specs(["Variable", "Variable#2", "Variable#3", "Variable#4"], [(8,), (20, 8), (8,), (8, 8)])
    match = match_variables(reference, candidate)
    assert match.mapping == {
        "Variable": "hidden/bias",
        "Variable#2": "hidden/kernel",
        "Variable#3": "logits/bias",
        "Variable#4": "logits/kernel",
    }


def test_named_variables_match_by_name_without_a_hint():
    match = match_variables(specs(TF1_NAMES, SHAPES), specs(TF1_NAMES, SHAPES))
    assert (match.how, match.hint, match.mismatches) == ("names", "", [])
    assert match.mapping == {n: n for n in TF1_NAMES}


def test_tf1_default_names_on_the_reference_side_are_matched_too():
    reference = specs(["Variable", "Variable_1", "Variable_2", "Variable_3"], SHAPES)
    candidate = specs(["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"], SHAPES)
    match = match_variables(reference, candidate)
    assert match.how == "order and shape" and match.matched
    assert match.mapping["dense_1/kernel"] == "Variable_2"
    assert match.hint.startswith(
        "4 reference variables have no name of their own ('Variable', 'Variable_1', 'Variable_2', 'Variable_3')"
    )


def test_repeated_chosen_names_are_matched_and_named_in_the_hint():
    candidate = specs(["w", "b", "w#2", "b#2"], SHAPES)
    match = match_variables(specs(TF1_NAMES, SHAPES), candidate)
    assert match.how == "order and shape" and match.mapping["w#2"] == "logits/kernel"
    assert match.hint.startswith("4 candidate variables share names ('b', 'w'): matched by creation order")


# --- what stays a mismatch -------------------------------------------------------------------


def test_a_transposed_kernel_is_still_a_mismatch_with_a_hint(tf1_side, inputs):
    transposed = parity.TF2Side(lambda: UnnamedPort((HIDDEN, FEATURES)), forward=lambda m, x: x)
    match = match_variables(tf1_side.inspect(inputs), transposed.inspect(inputs))
    assert not match.matched and match.mapping == {} and match.how == "names"
    assert ("missing", "hidden/kernel") in {(m.kind, m.name) for m in match.mismatches}
    assert "4 candidate variables have no name of their own" in match.hint
    assert "the reference has 1x (20, 8) float32 more, the candidate 1x (8, 20) float32 more" in match.hint
    assert "cannot be paired by creation order" in match.hint


def test_distinct_but_different_names_get_a_name_map_to_pass():
    candidate = specs(["w1", "b1", "w2", "b2"], SHAPES)
    match = match_variables(specs(TF1_NAMES, SHAPES), candidate)
    assert not match.matched and {m.kind for m in match.mismatches} == {"missing", "unexpected"}
    suggested = {"w1": "hidden/kernel", "b1": "hidden/bias", "w2": "logits/kernel", "b2": "logits/bias"}
    assert f"name_map={suggested!r}" in match.hint


def test_same_names_other_dtype_says_name_map_cannot_fix_it():
    match = match_variables(specs(TF1_NAMES, SHAPES), specs(TF1_NAMES, SHAPES, "float64"))
    assert [m.kind for m in match.mismatches] == ["dtype"] * 4
    assert "(name_map cannot fix that)" in match.hint and "shapes or dtypes differ" in match.hint


def test_a_variable_made_on_every_call_stays_a_mismatch_after_matching():
    candidate = specs(["Variable", "Variable#2", "Variable#3", "Variable#4"], SHAPES)
    candidate.recreated = ["kernel"]
    match = match_variables(specs(TF1_NAMES, SHAPES), candidate)
    assert match.how == "order and shape" and len(match.mapping) == 4
    assert [(m.kind, m.name) for m in match.mismatches] == [("recreated", "kernel")] and not match.matched
    assert "create each variable once" in match.hint


@pytest.mark.parametrize(
    "name, expected",
    [("Variable", True), ("Variable#3", True), ("Variable_12", True), ("dense/variable_1", True), ("kernel", False)],
)
def test_default_names(name, expected):
    assert unnamed(name) is expected


# --- RenamedSide -----------------------------------------------------------------------------


def test_renamed_side_forward_equals_the_reference_on_the_same_weights(tf1_side, port_side, inputs):
    reference = tf1_side.inspect(inputs)
    renamed = RenamedSide(port_side, match_variables(reference, port_side.inspect(inputs)).mapping)
    assert renamed.name == port_side.name
    found = renamed.inspect(inputs)
    assert [v.name for v in found.variables] == TF1_NAMES and set(found.initial) == set(TF1_NAMES)
    assert match_variables(reference, found).how == "names" and found.duplicates == []
    expected = tf1_side.forward(reference.initial, inputs)
    np.testing.assert_allclose(renamed.forward(reference.initial, inputs), expected, rtol=1e-5, atol=1e-5)
    # Swapping the two (8,) biases, as attribute order would, changes the outputs: the pairing matters.
    swapped = dict(reference.initial, **{"hidden/bias": reference.initial["logits/bias"]})
    swapped["logits/bias"] = reference.initial["hidden/bias"]
    assert not np.allclose(renamed.forward(swapped, inputs), expected, rtol=1e-5, atol=1e-5)


def test_renamed_side_trains_under_the_reference_names(tf1_side, port_side, inputs):
    reference = tf1_side.inspect(inputs)
    renamed = RenamedSide(port_side, match_variables(reference, port_side.inspect(inputs)).mapping)
    labels = np.random.default_rng(1).normal(size=(6, HIDDEN)).astype(np.float32)
    batches = [(inputs, labels)] * 3
    ours, theirs = renamed.train(reference.initial, batches), tf1_side.train(reference.initial, batches)
    assert set(ours.final) == set(TF1_NAMES) and ours.steps == 3
    assert all(np.array_equal(ours.weights[0][n], reference.initial[n]) for n in TF1_NAMES)
    for name in TF1_NAMES:
        np.testing.assert_allclose(ours.final[name], theirs.final[name], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.losses, theirs.losses, rtol=1e-4)
