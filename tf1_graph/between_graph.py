"""TF1 between-graph replication: parameter-server and worker processes, `SyncReplicasOptimizer`.

How TF1 trained across machines: every task runs a `tf.compat.v1.train.Server` of one cluster
(`ps` tasks hold the variables, `worker` tasks compute); each worker builds its own copy of the
graph (hence "between-graph") with `replica_device_setter` placing the variables on the ps; a
`SyncReplicasOptimizer` collects one gradient per worker, averages them and applies the mean once
per global step; `MonitoredTrainingSession` initialises on the chief (worker 0) and starts the
optimizer's queue runner. Worker w trains slice w of every global batch of the shared plan, so
the average of the workers' slice-mean gradients is the one-device mean gradient.

`SyncReplicasOptimizer` aggregates the first M gradients that arrive, from any worker, and drops
those stamped with an older step: a fast worker could fill a step alone with two of its own, and
the tokens it starts with carry step 0, so a worker's second gradient is dropped as stale. Each
worker therefore waits for the global step to reach its own, then stamps its gradient with it
(`wait_for_step`, `local_step_init_op`): every step is exactly one gradient per worker. Read it
beside `tf2_eager/multi_worker.py`; `graph_module` is the model's TF1 style module (`graph_style`
for softmax, `mlp_graph` for the MLP), used unchanged.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights
from tfparity.compat.timing import StepClock
from tfparity.tf1_graph import graph_style

STYLE = "tf1_between_graph"
POLL_S = 0.0005  # the global-step barrier's poll: well under one step's time


def session_config(job: str, index: int) -> tf.compat.v1.ConfigProto:
    """A worker sees only the ps and itself, so it never waits on another worker's devices."""
    return tf.compat.v1.ConfigProto(device_filters=["/job:ps", f"/job:{job}/task:{index}"])


def start_server(cluster: dict[str, list[str]], job: str, index: int) -> tf.compat.v1.train.Server:
    """This task's server in the cluster (a dict as TF_CONFIG writes it: job -> ["host:port", ...])."""
    config = session_config(job, index)
    return tf.compat.v1.train.Server(tf.train.ClusterSpec(cluster), job_name=job, task_index=index, config=config)


def serve_parameters(cluster: dict[str, list[str]], index: int = 0) -> None:
    """A ps task: hold the variables until the run's launcher stops this process."""
    start_server(cluster, "ps", index).join()


# %% stage: data
def make_inputs() -> tuple[tf.Tensor, tf.Tensor]:
    return graph_style.make_inputs()


def worker_slice(indices: np.ndarray, worker: int, workers: int) -> np.ndarray:
    """Worker w's rows of the global batch: the w-th of `workers` equal slices, in order."""
    share = len(indices) // workers
    return indices[worker * share : (worker + 1) * share]


# %% stage: model
def build_model(graph_module: ModuleType, config: TrainConfig) -> dict[str, tf.Variable]:
    """Made under `replica_device_setter` (in `build_graph`): the variables on the ps, the ops here."""
    return graph_module.build_model(initial_weights(config))


# %% stage: loss
loss_fn = graph_style.loss_fn  # unchanged: each worker's mean over its slice


# %% stage: optimizer
def make_optimizer(graph_module: ModuleType, config: TrainConfig, workers: int):
    """The model's optimizer, wrapped: one gradient from each worker, averaged, applied once per step."""
    return tf.compat.v1.train.SyncReplicasOptimizer(
        graph_module.make_optimizer(config), replicas_to_aggregate=workers, total_num_replicas=workers
    )


# %% stage: train step
class WorkerGraph(NamedTuple):
    train: graph_style.TrainGraph
    global_step: tf.Variable
    stamp_step: tf.Operation  # the optimizer's local_step_init_op: this worker's step := the global step
    sync_hook: tf.compat.v1.train.SessionRunHook


def build_graph(graph_module: ModuleType, config: TrainConfig, cluster: dict, worker: int) -> WorkerGraph:
    workers = len(cluster["worker"])
    if config.batch_size % workers:
        raise ValueError(f"batch_size {config.batch_size} does not split over {workers} workers; make it a multiple")
    setter = tf.compat.v1.train.replica_device_setter(
        worker_device=f"/job:worker/task:{worker}", cluster=tf.train.ClusterSpec(cluster)
    )
    with tf.compat.v1.device(setter):
        x, y_ = make_inputs()
        params = build_model(graph_module, config)
        global_step = tf.compat.v1.train.get_or_create_global_step()
        optimizer = make_optimizer(graph_module, config, workers)
        logits = graph_module.forward(params, x)
        loss = loss_fn(logits, y_, config.loss)
        train_op = optimizer.minimize(loss, global_step=global_step, var_list=list(params.values()))
    train = graph_style.TrainGraph(x, y_, params, logits, loss, train_op, graph_style.accuracy_op(logits, y_))
    hook = optimizer.make_session_run_hook(is_chief=worker == 0)
    return WorkerGraph(train, global_step, optimizer.local_step_init_op, hook)


def wait_for_step(sess, global_step: tf.Variable, step: int) -> None:
    """The barrier: push step t's gradient only once the global step is t (see the module's docstring)."""
    while sess.run(global_step) < step:
        time.sleep(POLL_S)


def train_step(sess, wg: WorkerGraph, step: int, feed: dict) -> float:
    wait_for_step(sess, wg.global_step, step)
    sess.run(wg.stamp_step)
    _, loss = sess.run([wg.train.train_op, wg.train.loss], feed_dict=feed)
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig, graph_module: ModuleType, cluster: dict, worker: int) -> RunResult:
    """Worker `worker`'s run; every worker returns the shared variables as the last step left them."""
    if config.loss != "mean" or config.dropout_rate:
        raise ValueError("the between-graph style trains the mean cross-entropy of a model without dropout")
    clock, workers = StepClock(), len(cluster["worker"])
    server = start_server(cluster, "worker", worker)
    plan = config.batch_plan(data.train.num_examples)
    graph = tf.Graph()
    with graph.as_default():
        wg = build_graph(graph_module, config, cluster, worker)
        g = wg.train
        session = tf.compat.v1.train.MonitoredTrainingSession(
            master=server.target, is_chief=worker == 0, hooks=[wg.sync_hook], config=session_config("worker", worker),
            save_checkpoint_secs=None, save_summaries_steps=None, log_step_count_steps=None,
            stop_grace_period_secs=1,  # the chief's queue runner is left waiting for a step that never comes
        )  # fmt: skip
        with session as sess:
            rows = (worker_slice(idx, worker, workers) for idx in plan.indices)
            feeds = ((t, {g.x: data.train.images[r], g.y_: data.train.one_hot[r]}) for t, r in enumerate(rows))
            losses = clock.loop(lambda t, feed: train_step(sess, wg, t, feed), feeds)
            wait_for_step(sess, wg.global_step, plan.steps)  # the last update, whoever pushed last
            test_accuracy = evaluate(sess, g.accuracy, {g.x: data.test.images, g.y_: data.test.one_hot})
            weights = sess.run(g.params)
    return clock.result(STYLE, config, plan, weights, np.asarray(losses), test_accuracy, replicas=workers)


# %% stage: evaluate
evaluate = graph_style.evaluate  # unchanged
