"""The TF1 -> TF2 table's rows for data-parallel training (issue 19), placed in `api_table.STAGE_ROWS`.

TF1 replicated a model by hand: in one graph, a tower per device under `tf.device` with the
gradients averaged by hand (`tf1_graph/towers_style.py`), or between graphs, one process per
task of a `tf.train.ClusterSpec`, variables placed on parameter servers by
`replica_device_setter` and the updates made synchronous by `SyncReplicasOptimizer`. TF2 hands
all of it to a `tf.distribute` strategy. Each row was checked against TensorFlow's own
documentation (the pages in its `docs`) and the installed TensorFlow 2.21 (a test resolves every
symbol); apart from `api_table` only to keep each table module a readable length.
"""

from __future__ import annotations

from tfparity.compat.api_entry import API, GUIDE, SUMMARY_MERGE_RAISES, ApiMapping, symbol_row

TUTORIALS = "https://www.tensorflow.org/tutorials/"

DISTRIBUTED_ROWS: tuple[ApiMapping, ...] = (
    # --- data ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.split(x, N)`: a slice of the global batch for each tower",
        tf2="`strategy.experimental_distribute_dataset(dataset)`, or "
        "`strategy.experimental_distribute_values_from_function(fn)` to cut the slices yourself",
        why=(
            "the strategy feeds the replicas: a dataset batched by the global batch size is divided across them, "
            "or a function returns each replica's own value (its context gives the replica's index)"
        ),
        stage="data",
        docs=(
            API + "tf/distribute/Strategy#experimental_distribute_dataset",
            API + "tf/distribute/Strategy#experimental_distribute_values_from_function",
        ),
        tf1_symbols=("tf.split",),
        tf2_symbols=(
            "tf.distribute.Strategy.experimental_distribute_dataset",
            "tf.distribute.Strategy.experimental_distribute_values_from_function",
        ),
        tf1_code=(r"\btf\.split\(",),
        tf2_code=(r"\bexperimental_distribute_(?:dataset|values_from_function)\(",),
        in_styles=True,
    ),
    # --- model --------------------------------------------------------------------------------
    ApiMapping(
        tf1="the variables made once under `tf.device(<first device>)`, read by every tower",
        tf2="the model and its optimizer made under `with strategy.scope():`: mirrored variables",
        why=(
            "a variable made under a `MirroredStrategy`'s scope is a `MirroredVariable`, one copy per replica "
            "that the strategy keeps in sync with an all-reduce; one made outside the scope is a plain variable"
        ),
        stage="model",
        docs=(API + "tf/distribute/MirroredStrategy", API + "tf/distribute/Strategy#scope"),
        tf1_symbols=("tf.device",),
        tf2_symbols=("tf.distribute.MirroredStrategy", "tf.distribute.Strategy.scope"),
        tf2_code=(r"\bstrategy\.scope\(\)",),
        in_styles=True,
    ),
    ApiMapping(
        tf1="`with tf.device(tf.compat.v1.train.replica_device_setter(cluster=...)):` variables round-robin "
        "on the `ps` tasks",
        tf2="`tf.distribute.experimental.ParameterServerStrategy(cluster_resolver)`, the variables made under "
        "`strategy.scope()`; or no parameter servers: `tf.distribute.MultiWorkerMirroredStrategy`",
        why=(
            "TF2's `tf.device` takes no device function (with eager execution on it raises); a variable made under "
            "a `ParameterServerStrategy`'s scope is placed on the parameter servers, round-robin by default"
        ),
        stage="model",
        docs=(
            API + "tf/compat/v1/train/replica_device_setter",
            API + "tf/distribute/experimental/ParameterServerStrategy",
        ),
        tf1_symbols=("tf.compat.v1.train.replica_device_setter",),
        tf2_symbols=("tf.distribute.experimental.ParameterServerStrategy", "tf.distribute.MultiWorkerMirroredStrategy"),
        removed=("tf.train.replica_device_setter",),
        tf1_code=(r"\breplica_device_setter\(",),
        tf2_code=(r"\bParameterServerStrategy\(",),
        symbols=("tf.compat.v1.train.replica_device_setter",),
        fix=(
            "tf.distribute.experimental.ParameterServerStrategy, the variables made under strategy.scope(); "
            "for synchronous all-reduce training, tf.distribute.MultiWorkerMirroredStrategy"
        ),
        in_styles=True,
    ),
    # --- loss ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="each tower's `tf.reduce_mean` of its slice's losses, the towers' gradients averaged by hand",
        tf2="`tf.nn.compute_average_loss(per_example_loss, global_batch_size=B)` in each replica",
        why=(
            "the replicas' gradients are summed across replicas, not averaged, so each replica's loss is its "
            "per-example losses summed and divided by the global batch; a per-replica `tf.reduce_mean` makes the "
            "step N times too large"
        ),
        stage="loss",
        docs=(API + "tf/nn/compute_average_loss", TUTORIALS + "distribute/custom_training"),
        tf1_symbols=("tf.math.reduce_mean",),
        tf2_symbols=("tf.nn.compute_average_loss",),
        tf2_code=(r"\bcompute_average_loss\(",),
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.compat.v1.losses.get_regularization_loss()` (the `REGULARIZATION_LOSSES` collection) added to each "
        "tower's loss",
        tf2="`tf.nn.scale_regularization_loss(sum(model.losses))` added to each replica's `compute_average_loss`",
        why=(
            "the replicas' gradients are summed, so a regularization term each replica adds in full counts N times; "
            "`scale_regularization_loss` divides the sum of the regularization losses by the number of replicas"
        ),
        stage="loss",
        docs=(API + "tf/nn/scale_regularization_loss", TUTORIALS + "distribute/custom_training"),
        tf1_symbols=("tf.compat.v1.losses.get_regularization_loss", "tf.compat.v1.losses.get_regularization_losses"),
        tf2_symbols=("tf.nn.scale_regularization_loss", "keras.Model.losses"),
        tf1_code=(r"\bget_regularization_loss(?:es)?\(",),
        tf2_code=(r"\bscale_regularization_loss\(",),
        symbols=("tf.compat.v1.losses.get_regularization_loss", "tf.compat.v1.losses.get_regularization_losses"),
        fix=(
            "sum(model.losses), and under a distribution strategy tf.nn.scale_regularization_loss(...) "
            "added to each replica's compute_average_loss"
        ),
    ),
    # --- optimizer ----------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=N)` and its `make_session_run_hook`",
        tf2="`tf.distribute.MultiWorkerMirroredStrategy`: the workers' gradients all-reduced every step, the "
        "optimizer itself unchanged",
        why=(
            "TensorFlow deprecated the class for distribution strategies; a `MultiWorkerMirroredStrategy` is "
            "synchronous by construction (collective all-reduce), so no gradient accumulators or token queue remain"
        ),
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/SyncReplicasOptimizer", API + "tf/distribute/MultiWorkerMirroredStrategy"),
        tf1_symbols=("tf.compat.v1.train.SyncReplicasOptimizer",),
        tf2_symbols=("tf.distribute.MultiWorkerMirroredStrategy",),
        removed=("tf.train.SyncReplicasOptimizer",),
        tf1_code=(r"\bSyncReplicasOptimizer\(",),
        symbols=("tf.compat.v1.train.SyncReplicasOptimizer",),
        fix=(
            "tf.distribute.MultiWorkerMirroredStrategy: synchronous all-reduce of the gradients every step, "
            "no optimizer wrapper"
        ),
        in_styles=True,
    ),
    # --- train step ---------------------------------------------------------------------------
    ApiMapping(
        tf1="a tower per device: `with tf.device(d):` forward, loss and `optimizer.compute_gradients` on each slice, "
        "the gradients averaged by hand, one `apply_gradients`",
        tf2="`tf.distribute.MirroredStrategy(devices)` + `strategy.run(step, args=...)`",
        why=(
            "`MirroredStrategy` is TF2's synchronous training on the devices of one machine: `strategy.run` runs "
            "the step once per replica on its slice, and the gradients are all-reduced before the update"
        ),
        stage="train step",
        docs=(
            API + "tf/distribute/MirroredStrategy",
            GUIDE + "distributed_training",
            GUIDE + "migrate/mirrored_strategy",
        ),
        tf1_symbols=("tf.device", "tf.compat.v1.train.Optimizer.compute_gradients"),
        tf2_symbols=("tf.distribute.MirroredStrategy", "tf.distribute.Strategy.run"),
        tf1_code=(r"\.compute_gradients\(", r"\btf\.device\("),
        tf2_code=(r"\bstrategy\.run\(",),
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.compat.v1.name_scope(name, default_name, values)`",
        tf2="`tf.name_scope(name)`",
        why="TF2's `name_scope` takes the name alone: no `default_name`, no `values`",
        stage="train step",
        docs=(API + "tf/compat/v1/name_scope", API + "tf/name_scope"),
        tf1_symbols=("tf.compat.v1.name_scope",),
        tf2_symbols=("tf.name_scope",),
        tf1_code=(r"\bcompat\.v1\.name_scope\(",),
        in_styles=True,
        symbols=("tf.compat.v1.name_scope",),
        fix="tf.name_scope(name): the name alone",
    ),
    # --- loop ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.train.Server(cluster, job_name=..., task_index=...)` in each process of a "
        "`tf.train.ClusterSpec`",
        tf2="`TF_CONFIG` (the cluster, and this task's type and index, as JSON) in each worker's environment + "
        "`tf.distribute.MultiWorkerMirroredStrategy()`; `tf.distribute.Server` for a parameter-server cluster",
        why=(
            "a `MultiWorkerMirroredStrategy` reads the cluster from `TF_CONFIG` (`TFConfigClusterResolver`) and each "
            "worker runs the same program; `tf.distribute.Server`, the same class as TF1's, starts the workers and "
            "parameter servers a `ParameterServerStrategy` coordinator dispatches to"
        ),
        stage="loop",
        docs=(
            API + "tf/distribute/MultiWorkerMirroredStrategy",
            API + "tf/distribute/cluster_resolver/TFConfigClusterResolver",
            API + "tf/distribute/Server",
        ),
        tf1_symbols=("tf.compat.v1.train.Server", "tf.compat.v1.train.ClusterSpec"),
        tf2_symbols=(
            "tf.distribute.MultiWorkerMirroredStrategy",
            "tf.distribute.cluster_resolver.TFConfigClusterResolver",
            "tf.distribute.Server",
        ),
        removed=("tf.train.Server",),
        tf1_code=(r"\btrain\.Server\(",),
        tf2_code=(r"\bMultiWorkerMirroredStrategy\(",),
        symbols=("tf.compat.v1.train.Server",),
        fix=(
            "TF_CONFIG + tf.distribute.MultiWorkerMirroredStrategy() for synchronous training (every worker runs the "
            "same program); tf.distribute.Server, the same class, for a ParameterServerStrategy cluster"
        ),
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.MonitoredTrainingSession(master=..., is_chief=..., checkpoint_dir=..., hooks=...)`",
        tf2="a custom loop under the strategy, checkpoints by `tf.train.Checkpoint` + `tf.train.CheckpointManager` "
        "(with `fit`: `keras.callbacks.BackupAndRestore`)",
        why=(
            "it is not compatible with eager execution or `tf.function`; its checkpoint saving and restoring become "
            "a `CheckpointManager` the loop calls, its hooks plain code in the loop or Keras callbacks"
        ),
        stage="loop",
        docs=(
            API + "tf/compat/v1/train/MonitoredTrainingSession",
            API + "tf/train/CheckpointManager",
            GUIDE + "migrate/fault_tolerance",
        ),
        tf1_symbols=("tf.compat.v1.train.MonitoredTrainingSession",),
        tf2_symbols=("tf.train.Checkpoint", "tf.train.CheckpointManager", "keras.callbacks.BackupAndRestore"),
        removed=("tf.train.MonitoredTrainingSession",),
        tf1_code=(r"\bMonitoredTrainingSession\(",),
        symbols=("tf.compat.v1.train.MonitoredTrainingSession",),
        fix="a plain loop with tf.train.CheckpointManager",
        raises=SUMMARY_MERGE_RAISES,
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)` on a `TF_CONFIG` cluster",
        tf2="`model.fit(...)` with the model built and compiled under a strategy's scope "
        "(`MultiWorkerMirroredStrategy`, or `ParameterServerStrategy`)",
        why="`tf.estimator` was removed in TensorFlow 2.16; TensorFlow's migration guide moves multi-worker "
        "Estimator training to Keras `fit` (or a custom loop) under a strategy",
        stage="loop",
        docs=(GUIDE + "migrate/multi_worker_cpu_gpu_training", TUTORIALS + "distribute/multi_worker_with_keras"),
        tf2_symbols=("keras.Model.fit", "tf.distribute.MultiWorkerMirroredStrategy"),
        removed=("tf.estimator.train_and_evaluate",),
        tf1_code=(r"\btrain_and_evaluate\(",),
        symbols=("tf.estimator.train_and_evaluate",),
        gone=(
            "tf.estimator was removed in TF 2.16: build and compile the Keras model under "
            "tf.distribute.MultiWorkerMirroredStrategy().scope() (TF_CONFIG names the cluster), then model.fit"
        ),
    ),
    symbol_row(
        "loop",
        "tf.compat.v1.ConfigProto",
        fix="tf.config: tf.config.threading.set_intra_op_parallelism_threads, tf.config.set_visible_devices, "
        "tf.config.set_logical_device_configuration; a strategy sets its workers' device filters from TF_CONFIG",
    ),
    symbol_row(
        "loop",
        "tf.compat.v1.train.SessionRunHook",
        fix="plain code in the training loop, or a keras.callbacks.Callback with fit",
    ),
)
