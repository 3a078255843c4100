"""TF1 in-graph style: the data preloaded into the graph, many steps per `Session.run` in a `tf.while_loop`.

How tuned TF1 code avoided the tutorial's per-step cost (`graph_style.py`: one `Session.run` and
one `feed_dict` per batch): the training set held in graph variables ("preloaded data" in TF1's
reading-data guide) and a `tf.while_loop` that takes `steps_per_run` steps, each gathering its
own batch, in one `Session.run`. Model, loss, optimizer and evaluation are the tutorial's.

Same batch plan, weights and losses as `graph_style.train`, bit for bit. Read it beside
`tf2_eager/whole_epoch.py`, TF2's tuned idiom: the stages (`# %% stage: ...`) line up.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfparity.compat import (
    BatchPlan,
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    make_batch_plan,
    tf_device_name,
)
from tfparity.compat.timing import StepClock
from tfparity.tf1_graph import graph_style

STYLE = graph_style.STYLE  # the same model trained to the same weights: its results are the TF1 style's


# %% stage: data
def preload_inputs(data: Datasets, plan: BatchPlan) -> tuple[dict[str, tf.Variable], dict[tf.Tensor, np.ndarray]]:
    """The training set and the batch plan held in the graph, and the feed of their one-off initializer.

    TF1's "preloaded data" recipe (`fully_connected_preloaded_var.py`): non-trainable variables
    filled once from placeholders, so the 188 MB of images never enter the GraphDef and no
    training step feeds anything. `position` counts the steps taken across `Session.run`s.
    """
    arrays = {"images": data.train.images, "labels": data.train.one_hot, "plan": plan.indices}
    holders = {name: tf.compat.v1.placeholder(a.dtype, a.shape, name=f"{name}_init") for name, a in arrays.items()}
    # collections=[] keeps them out of global_variables_initializer(): they need the feed.
    preloaded = {
        name: tf.compat.v1.Variable(h, trainable=False, collections=[], name=f"train_{name}")
        for name, h in holders.items()
    }
    position = tf.compat.v1.Variable(tf.constant(0, tf.int64), trainable=False, collections=[], name="position")
    preloaded["position"] = position
    return preloaded, {holders[name]: arrays[name] for name in arrays}


# %% stage: model
build_model = graph_style.build_model  # unchanged: W and b as graph variables
forward = graph_style.forward  # unchanged: built once, into the loop's body


# %% stage: loss
loss_fn = graph_style.loss_fn  # unchanged: each step's loss, inside the loop


# %% stage: optimizer
make_optimizer = graph_style.make_optimizer  # unchanged: its `minimize` op goes into the loop's body


# %% stage: train step
def in_graph_steps(
    preloaded: dict[str, tf.Variable],
    params: dict[str, tf.Variable],
    optimizer: tf.compat.v1.train.Optimizer,
    loss_form: str,
    steps_this_run: tf.Tensor,
) -> tuple[tf.Tensor, tf.Operation]:
    """A `tf.while_loop` of training steps, each gathering its batch in the graph.

    Runs the plan's steps `position .. position + steps_this_run` (never past its end) and returns
    their losses and the op that advances `position`. The loop variables wait on the update, so
    each step reads the weights the previous step wrote.
    """
    start = tf.identity(preloaded["position"])
    stop = tf.minimum(start + steps_this_run, tf.shape(preloaded["plan"], out_type=tf.int64)[0])

    def step_body(step: tf.Tensor, losses: tf.TensorArray) -> tuple[tf.Tensor, tf.TensorArray]:
        batch = tf.gather(preloaded["plan"], step)
        logits = forward(params, tf.gather(preloaded["images"], batch))
        loss = loss_fn(logits, tf.gather(preloaded["labels"], batch), loss_form)
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
def steps_per_call(steps: int, steps_per_run: int) -> list[int]:
    """1, then `steps_per_run` at a time: the first `Session.run` takes one step alone, so that its
    cost (graph optimisation on first use) is reported apart as `first_step_ms`, as in every style."""
    rest = steps - 1
    return [1] + [steps_per_run] * (rest // steps_per_run) + ([rest % steps_per_run] if rest % steps_per_run else [])


def train(data: Datasets, config: TrainConfig, *, steps_per_run: int = 100) -> RunResult:
    """The tuned TF1 idiom: data in the graph, up to `steps_per_run` training steps per `Session.run`."""
    if steps_per_run < 1:
        raise ValueError(f"steps_per_run must be a positive integer, got {steps_per_run!r}")
    clock = StepClock()
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        preloaded, preload_feed = preload_inputs(data, plan)
        params = build_model(initial_weights(config))
        steps_this_run = tf.compat.v1.placeholder(tf.int64, [], name="steps_this_run")
        run_losses, advance = in_graph_steps(preloaded, params, make_optimizer(config), config.loss, steps_this_run)
        x, y_ = make_inputs()  # evaluation only: the test set is fed once, as in graph_style
        accuracy = accuracy_op(forward(params, x), y_)
        init_ops = [tf.compat.v1.global_variables_initializer()] + [v.initializer for v in preloaded.values()]

    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_ops, feed_dict=preload_feed)
        losses = clock.loop(
            lambda n: sess.run([run_losses, advance], feed_dict={steps_this_run: n})[0],
            [(n,) for n in steps_per_call(config.steps, steps_per_run)],
            finish=np.concatenate,
        )
        test_accuracy = evaluate(sess, accuracy, {x: data.test.images, y_: data.test.one_hot})
        weights = sess.run(params)
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, steps_per_run=steps_per_run)


# %% stage: evaluate
make_inputs = graph_style.make_inputs  # unchanged: placeholders, here for the test set only
accuracy_op = graph_style.accuracy_op  # unchanged
evaluate = graph_style.evaluate  # unchanged: one Session.run on the whole test set
