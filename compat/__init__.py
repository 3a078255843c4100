"""tfparity's ground floor: data, the batch plan, the training contract, metrics, devices, parity.

Nothing here imports the styles (`tf1_graph`, `tf2_eager`) or `benchmarks`; the styles and
the benchmarks import from here.
"""

from tfparity.compat.batches import BatchPlan, iterate_batches, make_batch_plan
from tfparity.compat.config import INITIALIZERS, LOSS_FORMS, OPTIMIZERS, RunResult, TrainConfig, weights_digest
from tfparity.compat.data import (
    DataError,
    DataFormatError,
    DataNotFoundError,
    DataSet,
    Datasets,
    Split,
    load_dataset,
    one_hot,
    read_data_sets,
)
from tfparity.compat.determinism import initial_weights, seed_everything
from tfparity.compat.devices import DeviceUnavailable, gpu_available, tf_device_name
from tfparity.compat.metrics import accuracy, max_abs_diff, step_timing
from tfparity.compat.models import MODELS, NUM_CLASSES, NUM_FEATURES, ModelSpec

__all__ = [
    "BatchPlan",
    "iterate_batches",
    "make_batch_plan",
    "INITIALIZERS",
    "LOSS_FORMS",
    "MODELS",
    "OPTIMIZERS",
    "ModelSpec",
    "NUM_CLASSES",
    "NUM_FEATURES",
    "RunResult",
    "TrainConfig",
    "weights_digest",
    "DataError",
    "DataFormatError",
    "DataNotFoundError",
    "Datasets",
    "DataSet",
    "Split",
    "load_dataset",
    "one_hot",
    "read_data_sets",
    "initial_weights",
    "seed_everything",
    "DeviceUnavailable",
    "gpu_available",
    "tf_device_name",
    "accuracy",
    "max_abs_diff",
    "step_timing",
]
