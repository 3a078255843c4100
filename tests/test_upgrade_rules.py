"""`tfparity upgrade`'s audit: its static rules on small programs, and its tables of symbols checked
against the installed TensorFlow.
"""

from __future__ import annotations

import re

import pytest
from upgrade_support import REPO

from tfparity.benchmarks import upgrade

# --- the audit's static rules on small programs -----------------------------------------------
# Each line that should be reported ends with `# expect: KIND`; the test reads the expectation there.

SNIPPETS = {
    "compat_v1_alias": """
import tensorflow.compat.v1 as tf
x = tf.placeholder(tf.float32, [None, 3])  # expect: eager-conflict
""",
    "compat_v1_alias_disabled": """
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
x = tf.placeholder(tf.float32, [None, 3])
sess = tf.Session()
""",
    "disabled_too_late": """
import tensorflow as tf
x = tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
tf.compat.v1.disable_eager_execution()
""",
    "from_import": """
from tensorflow.compat.v1 import placeholder
x = placeholder("float32")  # expect: eager-conflict
""",
    "graph_context": """
import tensorflow as tf
def inputs():
    return tf.compat.v1.placeholder(tf.float32)
def unused():
    return tf.compat.v1.placeholder(tf.float32)  # expect: graph-only
g = tf.Graph()
with g.as_default():
    x = inputs()
with tf.Graph().as_default():
    y = tf.compat.v1.placeholder(tf.float32)
with tf.compat.v1.Session(graph=g) as sess:
    pass
""",
    "passed_to_a_runner": """
import tensorflow as tf
def main(_):
    return tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
def in_a_graph():
    return tf.compat.v1.placeholder(tf.float32)
with tf.Graph().as_default():
    tf.compat.v1.wrap_function(in_a_graph, [])
tf.compat.v1.app.run(main=main)
""",
    "class_init_is_called": """
import tensorflow as tf
class Model:
    def __init__(self):
        self.x = tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
    def unused(self):
        return tf.compat.v1.placeholder(tf.float32)  # expect: graph-only
model = Model()
""",
    "app_run_without_main_calls_main": """
import tensorflow as tf
def main(_):
    return tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
tf.compat.v1.app.run()
""",
    "graph_era_loops_and_metrics": """
import tensorflow as tf
acc, update = tf.compat.v1.metrics.accuracy(tf.constant([1]), tf.constant([1]))  # expect: eager-conflict
sv = tf.compat.v1.train.Supervisor(logdir="/tmp/logs")  # expect: eager-conflict
g = tf.Graph()
sv = tf.compat.v1.train.Supervisor(graph=g, logdir="/tmp/logs")  # expect: eager-conflict
sess = tf.compat.v1.Session(graph=g)
sess = tf.compat.v1.train.SingularMonitoredSession()  # expect: eager-conflict
class Trainer:
    def __init__(self, loss):
        self.opt = tf.compat.v1.train.AdamOptimizer()
        self.grads = self.opt.compute_gradients(loss)  # expect: eager-conflict
        self.ok = self.opt.compute_gradients(lambda: loss)
Trainer(tf.constant(1.0))
""",
    "collections_are_empty_when_eager": """
import tensorflow as tf
updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)  # expect: silent-change
weights = tf.compat.v1.trainable_variables()  # expect: silent-change
with tf.Graph().as_default():
    inside = tf.compat.v1.trainable_variables()
""",
    "collections_after_disable": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
""",
    "v2_shapes_and_resource_variables": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
x = tf.compat.v1.placeholder(tf.float32, [None, 3])
n = x.get_shape()[1].value  # expect: changed-api
m = x.shape[-1].value  # expect: changed-api
d = x.shape.dims[1].value
k = x.get_shape().as_list()[1]
w = tf.compat.v1.get_variable("w", [3])
r = tf.compat.v1.get_default_graph().get_tensor_by_name("w/read:0")  # expect: changed-api
o = tf.compat.v1.get_default_graph().get_operation_by_name(w.op.name + "/read")  # expect: changed-api
fine = tf.compat.v1.get_default_graph().get_tensor_by_name("w:0")
""",
    "v2_behavior_off": """
import tensorflow as tf
tf.compat.v1.disable_v2_behavior()
x = tf.compat.v1.placeholder(tf.float32, [None, 3])
n = x.get_shape()[1].value
r = tf.compat.v1.get_default_graph().get_tensor_by_name("w/read:0")
""",
    "tf2_names_that_return_something_else": """
import tensorflow as tf
tf.compat.v1.set_random_seed(1)
i = tf.while_loop(lambda i: i < 10, lambda i: i + 1, [tf.constant(0)])  # expect: silent-change
(j,) = tf.while_loop(lambda i: i < 10, lambda i: i + 1, [tf.constant(0)])
k, m = tf.while_loop(lambda a, b: a < 10, lambda a, b: (a + 1, b), [tf.constant(0), tf.constant(1)])
c = tf.cond(tf.constant(True), lambda: [tf.constant(1.0)], lambda: [tf.constant(2.0)])  # expect: silent-change
d = tf.cond(tf.constant(True), lambda: tf.constant(1.0), lambda: tf.constant(2.0))
v = tf.Variable(0, collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])  # expect: silent-change
init = tf.compat.v1.keras.initializers.VarianceScaling(scale=1.0, mode="fan_avg")  # expect: silent-change
small = tf.image.resize(tf.zeros([1, 4, 4, 1]), [2, 2])  # expect: silent-change
smooth = tf.image.resize(tf.zeros([1, 4, 4, 1]), [2, 2], antialias=True)
""",
    "keras_initializers_without_a_seed": """
import tensorflow as tf
init = tf.compat.v1.keras.initializers.VarianceScaling(scale=1.0, mode="fan_avg")
""",
    "imports_in_blocks_and_one_graph_with": """
try:
    import tensorflow as tf
except ImportError:
    tf = None
def build(graph):
    with graph.as_default():
        return tf.compat.v1.placeholder(tf.float32)
with tf.Graph().as_default() as g, tf.compat.v1.Session() as sess:
    sess.run(tf.constant(1))
""",
    "keras3_meets_tf1": """
import numpy as np
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.compat.v1.train.AdamOptimizer(0.01), loss="mse")  # expect: changed-api
opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)
model.compile(opt, loss="mse")  # expect: changed-api
model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
model.fit(np.ones((4, 1)), np.ones((4, 1)))
tf.compat.v1.disable_eager_execution()
model.fit(np.ones((4, 1)), np.ones((4, 1)))  # expect: changed-api
""",
    "keras3_layers_in_a_session": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
x = tf.compat.v1.placeholder(tf.float32, [None, 3])
dense = tf.keras.layers.Dense(2)
bn = tf.keras.layers.BatchNormalization()  # expect: silent-change
y = bn(dense(x), training=True)
with tf.compat.v1.Session() as sess:
    w = sess.run(dense.kernel)  # expect: changed-api
    w, m = sess.run([dense.kernel.value, bn.moving_mean])  # expect: changed-api
    out = sess.run(y, {x: [[1.0, 2.0, 3.0]]})
""",
    "keras3_batch_norm_in_tf2_code": """
import tensorflow as tf
bn = tf.keras.layers.BatchNormalization()
""",
    "keras3_regularizers_and_device_factories": """
import tensorflow as tf
def assign_to_device(device):
    def _assign(op):
        return device
    return _assign
reg = tf.keras.regularizers.l2(l=0.5 * 0.1)  # expect: changed-api
fine = tf.keras.regularizers.l2(0.05)
with tf.device(assign_to_device("/cpu:0")):  # expect: changed-api
    pass
with tf.device("/cpu:0"):
    pass
""",
    "reshaping_assign": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
v = tf.compat.v1.Variable(tf.zeros([2]), validate_shape=False)
grow = tf.compat.v1.assign(v, tf.zeros([5]), validate_shape=False)  # expect: changed-api
same = tf.compat.v1.assign(v, tf.zeros([2]))
""",
    "called_outside_graph": """
import tensorflow as tf
def inputs():
    return tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
with tf.Graph().as_default():
    x = inputs()
z = inputs()
""",
    "minimize": """
import tensorflow as tf
v = tf.Variable(1.0)
opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)
opt.minimize(lambda: v * v)
opt.minimize(v * v)  # expect: eager-conflict
""",
    "removed_and_missing": """
import tensorflow as tf
import tensorflow.contrib.slim as slim  # expect: removed-import
y = slim.fully_connected(None, 3)
est = tf.estimator.Estimator  # expect: missing-symbol
ok = tf.keras.layers.Dense
""",
    "device_functions": """
import tensorflow as tf
def place(op):
    return "/cpu:0"
setter = tf.compat.v1.train.replica_device_setter(ps_tasks=1)
with tf.device(place):  # expect: changed-api
    pass
with tf.device(lambda op: "/cpu:0"):  # expect: changed-api
    pass
with tf.device(setter):  # expect: changed-api
    pass
with tf.device(tf.compat.v1.train.replica_device_setter(ps_tasks=1)):  # expect: changed-api
    pass
with tf.device("/cpu:0"):
    pass
with tf.compat.v1.device(place):  # expect: eager-conflict
    pass
""",
    "v1_device_function_in_a_graph": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
with tf.compat.v1.device(lambda op: "/cpu:0"):
    pass
""",
    "session_eval": """
import tensorflow as tf
t = tf.constant(1.0)
sess = tf.compat.v1.Session()
print(t.eval(session=sess))  # expect: eager-conflict
""",
    "session_made_eagerly_runs_after_disable": """
import tensorflow as tf
sess = tf.compat.v1.Session()
tf.compat.v1.disable_eager_execution()
c = tf.constant(1.0)
sess.run(c)
""",
    "capture_in_a_graph_context": """
import tensorflow as tf
lr = tf.constant(0.1)
with tf.Graph().as_default():
    step = lr * 2.0  # expect: eager-capture
    local = tf.constant(0.1)
    other = local * 2.0
""",
    "capture_after_disable_in_main": """
import tensorflow as tf
W = tf.Variable(tf.ones([2, 2]))
b = W * 2.0
def main():
    tf.compat.v1.disable_eager_execution()
    x = tf.compat.v1.placeholder(tf.float32, [None, 2])
    return tf.matmul(x, W)  # expect: eager-capture
main()
""",
    "no_capture_when_remade": """
import tensorflow as tf
scale = tf.constant(2.0)
tf.compat.v1.disable_eager_execution()
scale = tf.constant(3.0)
x = tf.compat.v1.placeholder(tf.float32)
y = x * scale
""",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_static_rules(name):
    code = SNIPPETS[name]
    expected = sorted(
        (i, m.group(1)) for i, line in enumerate(code.splitlines(), 1) if (m := re.search(r"# expect: (\S+)", line))
    )
    found = sorted((f.line, f.kind) for f in upgrade.audit(code) if f.kind != "compat-v1")
    assert found == expected


def test_a_session_in_an_uncalled_function_says_once_what_raises():
    code = "import tensorflow as tf\ndef train():\n    sess = tf.compat.v1.Session()\n    sess.run(tf.constant(1))\n"
    [finding] = [f for f in upgrade.audit(code) if f.kind == "graph-only"]
    assert finding.line == 4 and finding.problem.startswith("`sess.run(tf.constant(1))` (the session made at line 3)")
    assert finding.problem.count(" raises ") == 1, finding.problem


def test_tf1_initializers_point_at_the_keras_class_that_exists():
    import keras

    from tfparity.compat.api_table_symbols import V1_INITIALIZERS

    for tf1_name, keras_name in V1_INITIALIZERS.items():
        assert callable(getattr(keras.initializers, keras_name)), keras_name
        [finding] = upgrade.audit(f"import tensorflow as tf\ninit = tf.compat.v1.{tf1_name}()\n")
        assert finding.kind == "compat-v1" and finding.fix.startswith(f"tf.keras.initializers.{keras_name}(")


def test_compat_v1_alias_debt_points_at_the_same_tf2_object():
    findings = upgrade.audit("import tensorflow.compat.v1 as tf\nx = tf.zeros([2], tf.float32)\n")
    fixes = {f.symbol: f.fix for f in findings if f.kind == "compat-v1"}
    assert fixes["tf.float32"].startswith("tf.float32: the same object")


def test_no_false_alarm_on_graph_built_tf1_code():
    """tfparity's own TF1 style builds under a private tf.Graph and runs Session(graph=...)."""
    findings = upgrade.audit((REPO / "tf1_graph" / "graph_style.py").read_text())
    assert not [f for f in findings if f.kind != "compat-v1"], [f for f in findings if f.kind != "compat-v1"]
    assert any(f.symbol == "tf.compat.v1.placeholder" for f in findings)  # still counted as debt


def test_audit_tables_name_symbols_the_installed_tensorflow_has():
    import tensorflow as tf

    for name in [*upgrade.GRAPH_ONLY, *upgrade.EAGER_OFF, *upgrade.GRAPH_SOURCES]:
        real = name.split("(")[0]  # `tf.compat.v1.device(function)`: a use of tf.compat.v1.device
        assert upgrade.resolve_chain(upgrade.Binding("tf", "tensorflow"), tuple(real.split(".")[1:])) is None, name
    for name in upgrade.DEBT_FIXES:
        if not name.startswith(("layers", "nn.rnn_cell")):
            assert (
                upgrade.resolve_chain(upgrade.Binding("tf.compat.v1", "tensorflow.compat.v1"), tuple(name.split(".")))
                is None
            ), name
    assert tf.executing_eagerly()  # the audit resolved names without touching eager execution


def test_the_fixes_keep_the_tf1_meaning_of_while_loop_variable_and_initializers():
    code = SNIPPETS["tf2_names_that_return_something_else"]
    fixed = upgrade.apply_fixes(code, upgrade.audit(code))
    assert "i = tf.compat.v1.while_loop(" in fixed and "(j,) = tf.while_loop(" in fixed
    assert "v = tf.compat.v1.Variable(0, collections=" in fixed
    assert "init = tf.compat.v1.variance_scaling_initializer(scale=1.0" in fixed
    assert "small = tf.compat.v1.image.resize(" in fixed
    assert not [f for f in upgrade.audit(fixed) if f.kind == "silent-change" and "cond" not in f.symbol]


@pytest.mark.parametrize(
    "imports",
    [
        "try:\n    import tensorflow as tf\nexcept ImportError:\n    tf = None\n",
        "def main():\n    import tensorflow as tf\n",
    ],
    ids=["in_try", "in_a_function"],
)
def test_the_eager_switch_goes_where_tf_is_bound_indented_as_its_import(imports):
    body = "    " if imports.startswith("def") else ""
    code = f"{imports}{body}x = tf.compat.v1.placeholder(tf.float32)\n" + ("main()\n" if body else "")
    fixed = upgrade.apply_fixes(code, upgrade.audit(code))
    lines = fixed.splitlines()
    switch = next(i for i, line in enumerate(lines) if "disable_eager_execution()" in line)
    assert "import tensorflow as tf" in lines[switch - 1]
    indent = lines[switch - 1][: len(lines[switch - 1]) - len(lines[switch - 1].lstrip())]
    assert lines[switch] == f"{indent}tf.compat.v1.disable_eager_execution()"
    compile(fixed, "fixed.py", "exec")
    assert not [f for f in upgrade.audit(fixed) if f.fatal]


@pytest.mark.parametrize(
    "code",
    [
        "try: import tensorflow as tf\nexcept ImportError: tf = None\nx = tf.compat.v1.placeholder(tf.float32)\n",
        "import numpy as np; import tensorflow as tf  # both\nx = tf.compat.v1.placeholder(tf.float32)\n",
        "import tensorflow as tf",  # the import alone, no newline at the end
    ],
    ids=["one_line_try", "semicolon_and_comment", "no_final_newline"],
)
def test_the_eager_switch_keeps_the_code_valid_python(code):
    if "placeholder" not in code:
        code += "\nx = tf.compat.v1.placeholder(tf.float32)"
    fixed = upgrade.apply_fixes(code, upgrade.audit(code))
    compile(fixed, "fixed.py", "exec")
    assert "disable_eager_execution()" in fixed and not [f for f in upgrade.audit(fixed) if f.fatal], fixed


def test_each_class_has_its_own_constructor():
    """Config() at module level does not make GraphModel.__init__ run eagerly: it is built in a graph."""
    code = (
        "import tensorflow as tf\n"
        "class GraphModel:\n    def __init__(self):\n        self.x = tf.compat.v1.placeholder(tf.float32)\n"
        "class Config:\n    def __init__(self):\n        self.lr = 0.1\n"
        "class Unused:\n    def __init__(self):\n        self.x = tf.compat.v1.placeholder(tf.float32)\n"
        "cfg = Config()\nwith tf.Graph().as_default():\n    model = GraphModel()\n"
    )
    kinds = [(f.line, f.kind) for f in upgrade.audit(code) if f.kind != "compat-v1"]
    assert kinds == [(10, "graph-only")]


def test_only_graphs_count_as_graph_contexts():
    """A summary writer named like a graph is bound in the file: its as_default() is no graph."""
    code = (
        "import tensorflow as tf\nloss = tf.constant(1.0)\n"
        "graph_writer = tf.summary.create_file_writer('logs')\n"
        "with graph_writer.as_default():\n    tf.summary.scalar('loss', loss, step=0)\n"
    )
    assert not [f for f in upgrade.audit(code) if f.kind.startswith("eager")]


def test_tf2_spellings_are_left_alone():
    code = (
        "import tensorflow as tf\nimg = tf.zeros([1, 4, 4, 1])\n"
        "a = tf.image.resize(img, [2, 2], method='lanczos3')\n"
        "b = tf.image.resize(img, [2, 2], 'bilinear', True)\n"
        "c = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])[0]\n"
    )
    assert not [f for f in upgrade.audit(code) if f.kind == "silent-change"]


def test_a_keras_3_variable_is_fetched_through_its_value():
    code = SNIPPETS["keras3_layers_in_a_session"]
    fixed = upgrade.apply_fixes(code, upgrade.audit(code))
    assert "w = sess.run(dense.kernel.value)" in fixed and "[dense.kernel.value, bn.moving_mean.value]" in fixed
    assert not [f for f in upgrade.audit(fixed) if f.fatal]


def test_keras_3_regularizers_get_their_keyword_and_device_factories_the_v1_device():
    code = SNIPPETS["keras3_regularizers_and_device_factories"]
    fixed = upgrade.apply_fixes(code, upgrade.audit(code))
    assert (
        "tf.keras.regularizers.l2(l2=0.5 * 0.1)" in fixed and 'tf.compat.v1.device(assign_to_device("/cpu:0"))' in fixed
    )
    assert not [f for f in upgrade.audit(fixed) if f.kind == "changed-api"]
