"""Numerical parity between a TF1 graph and its TF2 migration, as an API for CI.

This follows TensorFlow's guide "Validating correctness & numerical equivalence"
(tensorflow.org/guide/migrate/validate_correctness) step by step, and goes beyond it:

1. **Variables** (guide steps 1-2): count, names (after each side's `name_map`), shapes,
   dtypes, and variables a second forward call creates again. Every mismatch is listed.
2. **Initial values**: each side's own initializers, element by element (needs aligned
   randomness: `randomness`; pass `compare_initial_values=False` where it is not).
3. **Forward pass** (guide step 3): both sides set to the same weights, outputs compared with
   the guide's tolerances, rtol 1e-6 and atol 1e-5.
4. **Training trajectory** (beyond the guide): N steps on both sides from the same weights and
   batches; the first step that leaves the tolerance is reported with its worst element.
5. **Growth of a 1-ulp perturbation** (beyond the guide): tells a *sensitive problem* from a
   *bug* (`SENSITIVITY_RULE`).

Modules, one job each: `tolerance` (how far apart is too far), `variables` (names, specs,
values), `sides` (the `Side` protocol, `TF1GraphSide`, `TF2Side`), `trajectories` (training
runs and their comparison), `sensitivity` (the 1-ulp twin and the rule), `report`
(`ParityReport`, text and JSON), `randomness` (making random ops agree), `check` (the checks).
Everything public is importable from here.
"""

from tfparity.compat.batches import Batch, PlannedBatches, planned_batches
from tfparity.compat.metrics import abs_diff, accuracy, largest_abs_diff
from tfparity.compat.parity.check import assert_parity, check_many, check_parity
from tfparity.compat.parity.randomness import DeterministicOpSeeds, deterministic_op_seeds
from tfparity.compat.parity.report import (
    BUG,
    NONFINITE,
    PARITY,
    SENSITIVE,
    ForwardResult,
    MetricResult,
    ParityReport,
    Verdict,
    render_report,
    sample_steps,
)
from tfparity.compat.parity.sensitivity import (
    SENSITIVITY_FACTOR,
    SENSITIVITY_RULE,
    Envelope,
    GrowthEstimate,
    apply_sensitivity_rule,
    cumulative_envelope,
    estimate_growth,
    perturb_one_ulp,
    weight_scales,
)
from tfparity.compat.parity.sides import (
    Side,
    TF1Graph,
    TF1GraphSide,
    TF2Side,
    default_forward,
    device_scope,
    keras_train_step,
)
from tfparity.compat.parity.tolerance import (
    GUIDE_TOLERANCE,
    Difference,
    Tolerance,
    weights_differences,
    worst_difference,
)
from tfparity.compat.parity.trajectories import (
    Trajectory,
    TrajectoryResult,
    compare_trajectories,
    record_trajectory,
    recorded_steps,
)
from tfparity.compat.parity.variables import (
    Inspection,
    NameMap,
    VariableMismatch,
    VariableSpec,
    Weights,
    apply_name_map,
    assign,
    clean_name,
    compare_variables,
    named_variables,
    read,
    variable_name,
)

__all__ = [
    "Batch",
    "PlannedBatches",
    "planned_batches",
    "abs_diff",
    "accuracy",
    "largest_abs_diff",
    "assert_parity",
    "check_many",
    "check_parity",
    "DeterministicOpSeeds",
    "deterministic_op_seeds",
    "BUG",
    "NONFINITE",
    "PARITY",
    "SENSITIVE",
    "ForwardResult",
    "MetricResult",
    "ParityReport",
    "Verdict",
    "render_report",
    "sample_steps",
    "SENSITIVITY_FACTOR",
    "SENSITIVITY_RULE",
    "Envelope",
    "GrowthEstimate",
    "apply_sensitivity_rule",
    "cumulative_envelope",
    "estimate_growth",
    "perturb_one_ulp",
    "weight_scales",
    "Side",
    "TF1Graph",
    "TF1GraphSide",
    "TF2Side",
    "default_forward",
    "device_scope",
    "keras_train_step",
    "GUIDE_TOLERANCE",
    "Difference",
    "Tolerance",
    "weights_differences",
    "worst_difference",
    "Trajectory",
    "TrajectoryResult",
    "compare_trajectories",
    "record_trajectory",
    "recorded_steps",
    "Inspection",
    "NameMap",
    "VariableMismatch",
    "VariableSpec",
    "Weights",
    "apply_name_map",
    "assign",
    "clean_name",
    "compare_variables",
    "named_variables",
    "read",
    "variable_name",
]
