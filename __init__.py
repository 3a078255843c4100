"""tfparity: TensorFlow 1 and TensorFlow 2 side by side, benchmarked, and checked for numerical parity.

The public API, importable from here (TensorFlow loads on first use, not on `import tfparity`,
so the pytest plugin loads no TensorFlow into a test run that does not use it):

    from tfparity import assert_parity, check_parity, TF1GraphSide, TF2Side
    from tfparity import load_dataset, read_data_sets, TrainConfig

Subpackages: `tfparity.compat` (data, batch plan, config, metrics, devices, parity),
`tfparity.tf1_graph` and `tfparity.tf2_eager` (the styles), `tfparity.benchmarks` (the suite
and the `tfparity` command).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# name -> the module that defines it
PUBLIC_API = {
    "assert_parity": "tfparity.compat.parity",
    "check_parity": "tfparity.compat.parity",
    "TF1GraphSide": "tfparity.compat.parity",
    "TF2Side": "tfparity.compat.parity",
    "TF1Graph": "tfparity.compat.parity",
    "ParityReport": "tfparity.compat.parity",
    "Tolerance": "tfparity.compat.parity",
    "planned_batches": "tfparity.compat.parity",
    "load_dataset": "tfparity.compat.data",
    "read_data_sets": "tfparity.compat.data",
    "DataError": "tfparity.compat.data",
    "TrainConfig": "tfparity.compat.config",
    "RunResult": "tfparity.compat.config",
}
__all__ = sorted(PUBLIC_API)


def __getattr__(name: str) -> Any:
    if name in PUBLIC_API:
        return getattr(importlib.import_module(PUBLIC_API[name]), name)
    raise AttributeError(f"module 'tfparity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(PUBLIC_API))
