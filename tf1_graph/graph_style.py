"""TF1 graph style: placeholders, `Session.run` and `feed_dict`, through `tf.compat.v1`.

This is the "MNIST for ML beginners" tutorial as TF1 code wrote it, with one change that lets
it live beside TF2 code: the graph is a private `tf.Graph` run by `Session(graph=...)`, never
the process-global `tf.compat.v1.disable_eager_execution()`, which would break every eager
and Keras run that follows in the same process.

Two idioms: `train`, the tutorial's one `Session.run` with a `feed_dict` per step, and
`train_in_graph`, how tuned TF1 code avoided that per-step cost: the data preloaded into the
graph ("preloaded data" in TF1's reading-data guide) and many steps per `Session.run` in a
`tf.while_loop`.

Read it beside `tf2_eager/eager_style.py`: the stages (`# %% stage: ...`) line up one to one.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfparity.compat import BatchPlan, Datasets, RunResult, TrainConfig, initial_weights, iterate_batches, make_batch_plan, step_timing, tf_device_name

STYLE = "tf1_graph"


# %% stage: data
def make_inputs() -> tuple[tf.Tensor, tf.Tensor]:
    """Placeholders: the graph's inputs, filled by `feed_dict` on every `Session.run`."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 784], name="x")
    y_ = tf.compat.v1.placeholder(tf.float32, [None, 10], name="y_")
    return x, y_


def preload_inputs(data: Datasets, plan: BatchPlan) -> tuple[dict[str, tf.Variable], dict[tf.Tensor, np.ndarray]]:
    """The tuned idiom's inputs: training set and batch plan held in the graph.

    TF1's "preloaded data" recipe (`fully_connected_preloaded_var.py`): non-trainable variables
    filled once from placeholders, so the 188 MB of images never enter the GraphDef and no
    training step feeds anything. `position` counts the steps taken across `Session.run`s.
    Returns the variables and the feed for their one-off initializer.
    """
    arrays = {"images": data.train.images, "labels": data.train.one_hot, "plan": plan.indices}
    holders = {name: tf.compat.v1.placeholder(a.dtype, a.shape, name=f"{name}_init") for name, a in arrays.items()}
    # collections=[] keeps them out of global_variables_initializer(): they need the feed.
    preloaded = {name: tf.compat.v1.Variable(h, trainable=False, collections=[], name=f"train_{name}") for name, h in holders.items()}
    preloaded["position"] = tf.compat.v1.Variable(tf.constant(0, tf.int64), trainable=False, collections=[], name="position")
    feed = {holders[name]: arrays[name] for name in arrays}
    return preloaded, feed


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    """W and b as graph variables; they hold no value until the initializer op runs."""
    return {
        "W": tf.compat.v1.Variable(init["W"], name="W"),
        "b": tf.compat.v1.Variable(init["b"], name="b"),
    }


def forward(params: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    return tf.matmul(x, params["W"]) + params["b"]


# %% stage: loss
def loss_fn(logits: tf.Tensor, labels: tf.Tensor, form: str) -> tf.Tensor:
    if form == "tutorial":
        # The tutorial's own line: log(softmax) is -inf once a probability underflows to 0.
        y = tf.nn.softmax(logits)
        return -tf.reduce_sum(labels * tf.compat.v1.log(y))
    xent = tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    return tf.reduce_mean(xent) if form == "mean" else tf.reduce_sum(xent)


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> tf.compat.v1.train.Optimizer:
    if config.optimizer == "sgd":
        return tf.compat.v1.train.GradientDescentOptimizer(config.learning_rate)
    return tf.compat.v1.train.AdamOptimizer(
        config.learning_rate, beta1=config.adam_beta1, beta2=config.adam_beta2, epsilon=config.adam_epsilon
    )


# %% stage: train step
class TrainGraph(NamedTuple):
    """The graph's handles: what `Session.run` feeds (`x`, `y_`) and fetches."""

    x: tf.Tensor
    y_: tf.Tensor
    params: dict[str, tf.Variable]
    logits: tf.Tensor
    loss: tf.Tensor
    train_op: tf.Operation
    accuracy: tf.Tensor


def build_graph(config: TrainConfig) -> TrainGraph:
    """Placeholders, model, loss and the `minimize` op, built into the current default graph.

    The caller owns the graph (`with tf.Graph().as_default():`) and the variables initializer,
    so the same wiring serves `train` and anything that builds into a graph of its own.
    """
    x, y_ = make_inputs()
    params = build_model(initial_weights(config))
    logits = forward(params, x)
    loss = loss_fn(logits, y_, config.loss)
    train_op = make_optimizer(config).minimize(loss)
    return TrainGraph(x, y_, params, logits, loss, train_op, accuracy_op(logits, y_))


def train_step(sess: tf.compat.v1.Session, train_op: tf.Operation, loss: tf.Tensor, feed: dict) -> float:
    """One `Session.run`: the update and the batch's loss, fed through `feed_dict`."""
    _, loss_value = sess.run([train_op, loss], feed_dict=feed)
    return loss_value


def in_graph_steps(
    preloaded: dict[str, tf.Variable], params: dict[str, tf.Variable], optimizer: tf.compat.v1.train.Optimizer,
    loss_form: str, steps_this_run: tf.Tensor, total_steps: int,
) -> tuple[tf.Tensor, tf.Operation]:
    """A `tf.while_loop` of training steps, each gathering its batch in the graph.

    Runs steps `position .. min(position + steps_this_run, total_steps)` of the batch plan and
    returns their losses and the op that advances `position`. The loop variables wait on the
    update, so each step reads the weights the previous step wrote.
    """
    start = tf.identity(preloaded["position"])
    stop = tf.minimum(start + steps_this_run, total_steps)

    def step_body(step: tf.Tensor, losses: tf.TensorArray):
        batch = tf.gather(preloaded["plan"], step)
        loss = loss_fn(forward(params, tf.gather(preloaded["images"], batch)), tf.gather(preloaded["labels"], batch), loss_form)
        update = optimizer.minimize(loss, var_list=list(params.values()))
        with tf.control_dependencies([update]):
            return step + 1, losses.write(tf.cast(step - start, tf.int32), loss)

    empty = tf.TensorArray(tf.float32, size=tf.cast(stop - start, tf.int32))
    _, losses = tf.while_loop(lambda step, _: step < stop, step_body, [start, empty])
    run_losses = losses.stack()
    with tf.control_dependencies([run_losses]):
        advance = preloaded["position"].assign(stop)
    return run_losses, advance


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    t_begin = time.perf_counter()
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        g = build_graph(config)
        init_op = tf.compat.v1.global_variables_initializer()

    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        losses = np.empty(config.steps, dtype=np.float32)
        t_start = t_first = time.perf_counter()
        for step, (batch_xs, batch_ys) in enumerate(iterate_batches(plan, data.train.images, data.train.one_hot)):
            losses[step] = train_step(sess, g.train_op, g.loss, {g.x: batch_xs, g.y_: batch_ys})
            if step == 0:
                t_first = time.perf_counter()
        t_end = time.perf_counter()
        test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
        weights = sess.run(g.params)

    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights=weights, losses=losses, test_accuracy=test_accuracy,
        steps=config.steps, seconds=time.perf_counter() - t_begin, ms_per_step=ms_per_step,
        plan_fingerprint=plan.fingerprint, device=config.device, extra={"first_step_ms": first_ms},
    )


def train_in_graph(data: Datasets, config: TrainConfig, *, steps_per_run: int = 100) -> RunResult:
    """The tuned TF1 idiom: data in the graph, `steps_per_run` training steps per `Session.run`.

    Same batch plan, weights and losses as `train`. The first `Session.run` does one step
    alone, so that its cost (graph optimisation on first use) is reported apart as
    `first_step_ms`, as in every other style.
    """
    if steps_per_run < 1:
        raise ValueError(f"steps_per_run must be a positive integer, got {steps_per_run!r}")
    t_begin = time.perf_counter()
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        preloaded, preload_feed = preload_inputs(data, plan)
        params = build_model(initial_weights(config))
        steps_this_run = tf.compat.v1.placeholder_with_default(tf.constant(steps_per_run, tf.int64), [], name="steps_this_run")
        run_losses, advance = in_graph_steps(preloaded, params, make_optimizer(config), config.loss, steps_this_run, plan.steps)
        x, y_ = make_inputs()  # evaluation only: the test set is fed once, as in `train`
        accuracy = accuracy_op(forward(params, x), y_)
        init_ops = [tf.compat.v1.global_variables_initializer()] + [v.initializer for v in preloaded.values()]

    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_ops, feed_dict=preload_feed)
        chunks = []
        t_start = time.perf_counter()
        chunks.append(sess.run([run_losses, advance], feed_dict={steps_this_run: 1})[0])
        t_first = time.perf_counter()
        while sum(len(c) for c in chunks) < config.steps:
            chunks.append(sess.run([run_losses, advance])[0])
        t_end = time.perf_counter()
        test_accuracy = evaluate(sess, accuracy, {x: data.test.images, y_: data.test.one_hot})
        weights = sess.run(params)

    first_ms, ms_per_step = step_timing(t_start, t_first, t_end, config.steps)
    return RunResult(
        style=STYLE, config=config, weights=weights, losses=np.concatenate(chunks), test_accuracy=test_accuracy,
        steps=config.steps, seconds=time.perf_counter() - t_begin, ms_per_step=ms_per_step,
        plan_fingerprint=plan.fingerprint, device=config.device,
        extra={"first_step_ms": first_ms, "steps_per_run": steps_per_run},
    )


# %% stage: evaluate
def accuracy_op(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def evaluate(sess: tf.compat.v1.Session, accuracy: tf.Tensor, feed: dict) -> float:
    return float(sess.run(accuracy, feed_dict=feed))
