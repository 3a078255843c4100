"""tf.distribute across processes: `MultiWorkerMirroredStrategy`, configured by `TF_CONFIG`.

TF2's replacement for between-graph replication: no parameter servers and no per-worker graph.
Every worker process runs the same program; `TF_CONFIG` (the cluster's addresses and this task's
place in it) tells the strategy who it is, and the replicas' gradients are all-reduced across the
workers, every step, synchronously. The training code is the mirrored custom loop's
(`tf2_eager/mirrored_style.py`) unchanged: only the strategy differs, which is the point of
`tf.distribute`. Read it beside `tf1_graph/between_graph.py`.
"""

from __future__ import annotations

import os
from types import ModuleType

import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig
from tfparity.tf2_eager import mirrored_style

STYLE = "multi_worker"
PIPELINE = "values"  # the mirrored loop's input pipeline here, for `make_inputs` and `train` alike


# %% stage: data
def make_inputs(data: Datasets, config: TrainConfig, strategy: tf.distribute.Strategy):
    """Replica r of the whole cluster gets slice r of each global batch, handed over by a function.

    Not `experimental_distribute_dataset`: across workers it shards the dataset first (by file, by
    element, or not at all), so which rows a worker sees is the sharding's choice, not the plan's."""
    return mirrored_style.make_inputs(data, config, strategy, pipeline=PIPELINE)


# %% stage: model
def make_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """Reads TF_CONFIG; made first thing in the process, before any other TensorFlow op."""
    if "TF_CONFIG" not in os.environ:
        raise RuntimeError("MultiWorkerMirroredStrategy needs TF_CONFIG: the cluster and this task's place in it")
    # No CommunicationOptions(timeout_seconds=...): in TensorFlow 2.21 it starts a thread per collective that
    # sleeps out the timeout, thousands of threads within a minute. A dead peer is caught by the coordination
    # service and, above it, by the launcher (benchmarks/cluster.py).
    return tf.distribute.MultiWorkerMirroredStrategy()


build_model = mirrored_style.build_model


# %% stage: loss
loss_fn = mirrored_style.loss_fn  # compute_average_loss over the global batch, across every worker


# %% stage: optimizer
make_optimizer = mirrored_style.make_optimizer


# %% stage: train step
make_train_step = mirrored_style.make_train_step


# %% stage: loop
def train(data: Datasets, config: TrainConfig, eager_module: ModuleType, strategy=None) -> RunResult:
    """This worker's run of the mirrored loop; every worker ends with the same variables."""
    result = mirrored_style.train(data, config, eager_module, strategy or make_strategy(), pipeline=PIPELINE)
    result.style = STYLE
    return result


# %% stage: evaluate
evaluate = mirrored_style.evaluate
