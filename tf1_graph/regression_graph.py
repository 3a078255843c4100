"""TF1 graph style, the regression tutorials: birth_life's linear regression and Pima's logistic one.

As Stanford CS20 and the TF1 tutorials wrote them: `X` and `Y` placeholders, `W` and `b`
variables, `prediction = X @ W + b` (through `tf.sigmoid` for Pima), the squared error or the
hand-written binary cross-entropy `-mean(Y log h + (1 - Y) log(1 - h))`, and
`GradientDescentOptimizer`, one `Session.run` per step in a private `tf.Graph`. CS20's `w` was
a scalar; here it is a (1, 1) matrix, the very variable Keras' `Dense(1)` holds, so that every
style's `W` has one shape (a scalar multiplies each example exactly as the 1x1 `matmul` does).

Two input idioms, as the tutorials show both: `feed_dict` (each step's rows fed to the
placeholders) and `tf.data` (an iterator whose `get_next()` replaces the placeholders). Read it
beside `tf2_eager/regression_eager.py`: the stages (`# %% stage: ...`) line up one to one.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfparity.compat import BatchPlan, Datasets, RunResult, TrainConfig, initial_weights, tf_device_name
from tfparity.compat.tasks import task_of, test_measures
from tfparity.compat.timing import StepClock
from tfparity.tf1_graph import graph_style

STYLE = "tf1_graph"


# %% stage: data
def make_inputs(num_features: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The placeholders every `Session.run` feeds: a batch of rows and their targets."""
    x = tf.compat.v1.placeholder(tf.float32, [None, num_features], name="X")
    y = tf.compat.v1.placeholder(tf.float32, [None, 1], name="Y")
    return x, y


def dataset_inputs(plan: BatchPlan, data: Datasets) -> tuple[tf.Tensor, tf.Tensor]:
    """The `tf.data` idiom: each planned batch from an iterator, in place of the placeholders."""
    batches = (data.train.images[plan.indices], data.train.labels[plan.indices])
    iterator = tf.compat.v1.data.make_one_shot_iterator(tf.data.Dataset.from_tensor_slices(batches))
    return iterator.get_next()


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, tf.Variable]:
    return {name: tf.compat.v1.Variable(value, name=name) for name, value in init.items()}


def forward(params: dict[str, tf.Variable], x: tf.Tensor, task: str) -> tf.Tensor:
    """The prediction; Pima's is a probability (`tf.sigmoid`)."""
    z = tf.matmul(x, params["W"]) + params["b"]
    return tf.sigmoid(z) if task == "binary" else z


# %% stage: loss
def loss_fn(prediction: tf.Tensor, y: tf.Tensor, task: str) -> tf.Tensor:
    if task == "binary":  # the tutorials' own formula, on the probability
        return -tf.reduce_mean(y * tf.compat.v1.log(prediction) + (1 - y) * tf.compat.v1.log(1 - prediction))
    return tf.reduce_mean(tf.square(y - prediction))


# %% stage: optimizer
def make_optimizer(config: TrainConfig) -> tf.compat.v1.train.Optimizer:
    return tf.compat.v1.train.GradientDescentOptimizer(config.learning_rate)


# %% stage: train step
def build_graph(config: TrainConfig, inputs: tuple[tf.Tensor, tf.Tensor] | None = None) -> graph_style.TrainGraph:
    """Inputs (the placeholders unless `inputs` are given), model, loss and the `minimize` op."""
    task = task_of(config.model)
    init = initial_weights(config)
    x, y = inputs if inputs is not None else make_inputs(init["W"].shape[0])
    params = build_model(init)
    prediction = forward(params, x, task)
    loss = loss_fn(prediction, y, task)
    train_op = make_optimizer(config).minimize(loss)
    return graph_style.TrainGraph(x, y, params, prediction, loss, train_op, accuracy=prediction)


train_step = graph_style.train_step  # unchanged: one Session.run per step


# %% stage: loop
def train(data: Datasets, config: TrainConfig, *, pipeline: str = "feed_dict") -> RunResult:
    """`pipeline`: "feed_dict" (placeholders) or "tf_data" (an iterator in the graph)."""
    clock = StepClock()
    plan = config.batch_plan(data.train.num_examples)
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf_device_name(config.device)):
        iterated = dataset_inputs(plan, data) if pipeline == "tf_data" else None
        g = build_graph(config, iterated)
        test_prediction = forward(g.params, tf.constant(data.test.images), task_of(config.model))
        init_op = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init_op)
        if iterated is None:
            feeds = (({g.x: data.train.images[idx], g.y_: data.train.labels[idx]},) for idx in plan.indices)
        else:  # the iterator feeds the graph itself
            feeds = [({},)] * plan.steps
        losses = clock.loop(lambda feed: train_step(sess, g.train_op, g.loss, feed), feeds)
        measures = evaluate(sess, test_prediction, data.test.labels, config.model)
        weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, losses, **measures, pipeline=pipeline)


# %% stage: evaluate
def evaluate(sess: tf.compat.v1.Session, test_prediction: tf.Tensor, targets: np.ndarray, model: str) -> dict:
    """The test accuracy (Pima) or mean squared error (birth_life) of the test rows' predictions."""
    return test_measures(model, sess.run(test_prediction), targets)
