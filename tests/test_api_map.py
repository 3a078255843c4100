"""The one TF1 -> TF2 table (compat/api_map.py and its rows) against the installed TensorFlow and the style modules."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

from tfparity.benchmarks import idioms
from tfparity.compat.api_map import (
    AUDIT_TEXTS,
    BY_SYMBOL,
    MAPPINGS,
    STAGES,
    SymbolNotFound,
    code_only,
    find_mappings,
    mapping_for,
    resolve_symbol,
    symbols_with,
    tf_symbols_used,
)

# Every module `sidebyside` can show (the styles and the tuned idioms), and every model's style modules.
STYLE_SOURCES = {name: inspect.getsource(idioms.module(name)) for name in idioms.MODULES} | {
    f"{model}/{style}": inspect.getsource(idioms.style_module(style, model))
    for model, modules in idioms.MODEL_MODULES.items()
    for style in modules
}


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.tf1[:50])
def test_symbols_resolve_and_removed_ones_do_not(mapping):
    audited = {symbol.split("(")[0] for symbol in mapping.symbols}  # `name(function)`: a use of `name`
    for symbol in {*mapping.tf1_symbols, *mapping.tf2_symbols, *audited} - set(mapping.removed):
        resolve_symbol(symbol)  # raises SymbolNotFound naming the symbol
    for symbol in mapping.removed:
        with pytest.raises(SymbolNotFound, match=re.escape(symbol)):
            resolve_symbol(symbol)
    assert mapping.tf1_symbols or mapping.removed, "a mapping must name its TF1 API, present or removed"
    assert not (mapping.fix or mapping.raises) or audited.isdisjoint(mapping.removed), (
        "fix and raises are for names that resolve"
    )


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.tf1[:50])
def test_entries_are_complete(mapping):
    assert mapping.stage in STAGES and mapping.tf1 and mapping.tf2
    assert all(url.startswith("https://www.tensorflow.org/") for url in mapping.docs), mapping.docs
    for pattern in mapping.tf1_code + mapping.tf2_code:
        re.compile(pattern)
    texts = [getattr(mapping, text) for text in AUDIT_TEXTS]
    assert bool(mapping.symbols) == any(texts), "the upgrade audit's texts need the names they are about, and back"
    if mapping.in_styles:  # what `sidebyside` shows: reason, documentation, patterns to find it by
        assert mapping.why and mapping.docs
        assert mapping.tf1_code or mapping.tf2_code, "without patterns the mapping can never be found in code"


def test_a_name_has_one_row():
    named = [symbol for m in MAPPINGS for symbol in m.symbols]
    assert len(named) == len(set(named)) == len(BY_SYMBOL)
    assert mapping_for("tf.compat.v1.Session") is mapping_for("`tf.Graph()` + `tf.compat.v1.Session(graph=...)`")
    assert set(symbols_with("raises")) <= set(symbols_with("fix")) | set(symbols_with("tf2_way"))
    with pytest.raises(KeyError, match="tf.nothing"):
        mapping_for("tf.nothing")


def test_every_tf_compat_v1_symbol_the_styles_use_has_a_mapping():
    covered = {symbol for m in MAPPINGS for symbol in m.tf1_symbols}
    used = {
        symbol: f"{name}: lines {lines}"
        for name, source in STYLE_SOURCES.items()
        for symbol, lines in tf_symbols_used(source, "tf.compat.v1.").items()
    }
    assert used, "the TF1 style uses tf.compat.v1: the scan found nothing, so it is broken"
    missing = {symbol: where for symbol, where in used.items() if symbol not in covered}
    assert not missing, f"add these to compat/api_map.py MAPPINGS: {missing}"


def test_in_styles_says_which_mappings_the_styles_exercise():
    """`in_styles` rows are found in a style module, and every row found there says so; the
    other rows are for the upgrade audit, or name TF1 APIs the styles cannot use."""
    exercised = {m for source in STYLE_SOURCES.values() for m, _ in find_mappings(source)}
    claimed = {m for m in MAPPINGS if m.in_styles}
    assert not claimed - exercised, [f"{m.tf1} is found in no style module" for m in claimed - exercised]
    assert not exercised - claimed, [f"{m.tf1} is found in a style module: set in_styles" for m in exercised - claimed]


def test_the_table_imports_neither_tensorflow_nor_the_benchmarks():
    code = (
        "import sys, tfparity.compat.api_map; print(sorted(m for m in sys.modules if m.startswith(('tensorflow', "
        "'tfparity.b'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr[-2000:]


def test_the_issue_s_mappings_are_in_the_table():
    def entry(tf1: str):
        return next(m for m in MAPPINGS if m.tf1.startswith(tf1))

    assert "function argument" in entry("`tf.compat.v1.placeholder`").tf2
    assert "direct call" in entry("`sess.run(").tf2
    assert "keras.optimizers.SGD" in entry("`tf.compat.v1.train.GradientDescentOptimizer`").tf2_symbols
    assert "epsilon" in entry("`tf.compat.v1.train.AdamOptimizer`").why
    assert entry("`tf.compat.v1.global_variables_initializer").tf2.startswith("nothing")
    assert "from_logits=True" in entry("`-tf.reduce_sum(y_ * tf.log(tf.nn.softmax").tf2


def test_mappings_are_found_in_code_not_in_comments_or_docstrings():
    prose = '"""Uses tf.compat.v1.placeholder and feed_dict=..."""\n# GradientDescentOptimizer(0.5)\nx = 1\n'
    assert find_mappings(prose) == []
    code = 'def f():\n    """Doc."""\n    x = tf.compat.v1.placeholder(tf.float32)  # a comment\n'
    assert code_only(code).count("\n") == code.count("\n") and "Doc" not in code_only(code)
    [(mapping, lines)] = find_mappings(code)
    assert mapping.tf1_symbols == ("tf.compat.v1.placeholder",) and lines == [3]


def test_all_of_patterns_need_every_part():
    """`tf.log(tf.nn.softmax(...))` is one mapping: a log alone is not it."""
    both = "y = tf.nn.softmax(logits)\nloss = -tf.reduce_sum(labels * tf.math.log(y))\n"
    assert any("tf.nn.softmax" in m.tf1_symbols for m, _ in find_mappings(both))
    assert not any("tf.nn.softmax" in m.tf1_symbols for m, _ in find_mappings("loss = tf.math.log(y)\n"))


def test_resolve_symbol_reports_tensorflow_s_reason():
    with pytest.raises(SymbolNotFound, match="not available with Keras 3"):
        resolve_symbol("tf.compat.v1.layers.dense")
    with pytest.raises(SymbolNotFound, match="tensorflow.examples.tutorials"):
        resolve_symbol("tensorflow.examples.tutorials.mnist")
    assert resolve_symbol("tf.compat.v1.placeholder") is not None


def test_issue_16s_model_and_optimizer_changes_are_in_the_table():
    """conv2d, max_pool, keep_prob -> rate and RMSProp: where the MLPs' and the CNN's code changes."""
    tf2_by_tf1 = {symbol: m for m in MAPPINGS for symbol in m.tf1_symbols}
    assert "keras.layers.Conv2D" in tf2_by_tf1["tf.compat.v1.nn.conv2d"].tf2_symbols
    assert "padding='same'" in tf2_by_tf1["tf.compat.v1.nn.max_pool"].tf2
    assert "rate=1 - keep_prob" in tf2_by_tf1["tf.compat.v1.nn.dropout"].tf2
    assert "ones" in tf2_by_tf1["tf.compat.v1.train.RMSPropOptimizer"].tf2
    tf1 = "h = tf.compat.v1.nn.dropout(h, keep_prob)\nopt = tf.compat.v1.train.RMSPropOptimizer(0.001)\n"
    found = {m.tf1_symbols[0] for m, _ in find_mappings(tf1) if m.tf1_symbols}
    assert {"tf.compat.v1.nn.dropout", "tf.compat.v1.train.RMSPropOptimizer"} <= found
    tf2 = "h = tf.nn.dropout(h, rate=0.5)\n"
    assert any(m.tf1_symbols == ("tf.compat.v1.nn.dropout",) for m, _ in find_mappings(tf2))


# --- data-parallel training (issue 19): the side-by-side view and the upgrade audit read these rows too ----------

TF1_MULTI_DEVICE = """import tensorflow as tf
cluster = tf.train.ClusterSpec({"ps": ["ps0:2222"], "worker": ["worker0:2222", "worker1:2222"]})
server = tf.train.Server(cluster, job_name="worker", task_index=0)
with tf.device(tf.train.replica_device_setter(cluster=cluster)):
    w = tf.Variable(tf.zeros([784, 10]))
loss = tf.reduce_sum(w) + tf.losses.get_regularization_loss()
opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.5), replicas_to_aggregate=2)
train_op = opt.minimize(loss, global_step=tf.train.get_or_create_global_step())
with tf.train.MonitoredTrainingSession(master=server.target, is_chief=True) as sess:
    sess.run(train_op)
tf.estimator.train_and_evaluate(None, None, None)
"""


def test_the_multi_device_rows_are_found_in_both_columns_of_towers_vs_mirrored():
    from tfparity.benchmarks import sidebyside_stages

    view = sidebyside_stages.build_view(["towers", "mirrored"])
    expected = {"data": "tf.split", "train step": "tf.compat.v1.train.Optimizer.compute_gradients"}
    for stage, tf1_symbol in expected.items():
        [found] = [f for f in view.mappings[stage] if tf1_symbol in f.mapping.tf1_symbols]
        assert {style for style, _ in found.lines} == {"towers", "mirrored"}, (stage, found.lines)
    [loss] = [f for f in view.mappings["loss"] if "tf.nn.compute_average_loss" in f.mapping.tf2_symbols]
    assert {style for style, _ in loss.lines} == {"mirrored"} and "N times too large" in loss.mapping.why
    assert "tf.compat.v1.name_scope" in {s for f in view.mappings["train step"] for s in f.mapping.tf1_symbols}


def test_the_upgrade_audit_gives_each_multi_device_symbol_its_row_s_fix():
    from tfparity.benchmarks import upgrade

    converted = upgrade.convert(TF1_MULTI_DEVICE, "multi_device.py").converted
    fixes = {f.symbol: (f.kind, f.fix) for f in upgrade.audit(converted)}
    for symbol in (
        "tf.compat.v1.train.replica_device_setter",
        "tf.compat.v1.train.SyncReplicasOptimizer",
        "tf.compat.v1.train.MonitoredTrainingSession",
        "tf.compat.v1.losses.get_regularization_loss",
    ):
        assert fixes[symbol] == ("compat-v1", mapping_for(symbol).fix), symbol
    assert fixes["tf.estimator.train_and_evaluate"] == (
        "missing-symbol",
        mapping_for("tf.estimator.train_and_evaluate").gone,
    )
    assert "MultiWorkerMirroredStrategy" in fixes["tf.estimator.train_and_evaluate"][1]
    # tf_upgrade_v2 renames tf.train.Server to tf.distribute.Server (the same class); code on tf.compat.v1 keeps it.
    aliased = upgrade.audit("import tensorflow.compat.v1 as tf\nserver = tf.train.Server(None)\n")
    [server] = [f for f in aliased if f.kind == "compat-v1"]
    assert "TF_CONFIG" in server.fix and server.fix == mapping_for("tf.compat.v1.train.Server").fix
