"""Numerical parity between a TF1 graph and its TF2 migration, as an API for CI.

This follows TensorFlow's guide "Validating correctness & numerical equivalence"
(tensorflow.org/guide/migrate/validate_correctness) step by step, and goes beyond it:

1. **Variables** (guide steps 1-2): count, names (after each side's `name_map`), shapes,
   dtypes, and variables a second forward call creates again. Variables without names of their
   own (TF2's 'Variable') are matched by creation order and shape, with the hint to name them.
2. **Start**: both sides start from the same values: the reference's own when its builds
   agree, else drawn under a seed the check sets (said in the report). Each side's own
   initializers are compared when both are seeded; unseeded ones are a note, not a bug.
3. **Forward pass** (guide step 3): both sides at the same weights; each output may differ by
   the guide's tolerance or by what float32 summation can produce for it (`forward`).
4. **Training trajectory** (beyond the guide): N steps on both sides from the same weights and
   batches; every step beyond tolerance is judged against the spread of the rounding family,
   twins perturbed by 1 ulp (`SENSITIVITY_RULE`): a *sensitive problem* or a *bug*, with its margin.

Modules, one job each: `tolerance` (how far apart is too far, margins), `variables` (names,
specs, values), `matching` (names or creation order), `initial` (a reproducible start), `sides`
(the `Side` protocol, `TF1GraphSide`, `TF2Side`), `forward` (the rounding bound of the outputs),
`trajectories` (training runs), `sensitivity` (twins and their spread), `envelope` (the rule),
`reference` and `candidate` (the checks), `report` (`ParityReport`, text and JSON), `case`
(`ParityCase`, what `tfparity parity FILE:FACTORY` loads), `randomness` (making random ops
agree), `check` (the entry points). Everything public is importable from here.
"""

from tfparity.compat.batches import Batch, PlannedBatches, planned_batches
from tfparity.compat.metrics import abs_diff, accuracy, largest_abs_diff
from tfparity.compat.parity.case import ParityCase, as_case
from tfparity.compat.parity.check import assert_parity, check_many, check_parity
from tfparity.compat.parity.envelope import SENSITIVITY_FACTOR, SENSITIVITY_RULE, Envelope, apply_sensitivity_rule
from tfparity.compat.parity.forward import (
    RoundingBound,
    forward_margin,
    probe_weights,
    rounding_bound,
    summation_length,
)
from tfparity.compat.parity.initial import Start, builds_agree, reproducible_start
from tfparity.compat.parity.matching import RenamedSide, VariableMatch, match_variables
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
    DEFAULT_TWINS,
    GrowthEstimate,
    estimate_growth,
    keras_update_scale,
    perturb_inputs,
    perturb_one_ulp,
    rounding_after_each_step,
    rounds_every_step,
    trains_concurrently,
    twin_run,
    twin_runs,
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
    Margin,
    Tolerance,
    largest_ratio,
    weights_differences,
    worst_difference,
)
from tfparity.compat.parity.trajectories import (
    RECORDED_BYTES,
    Trajectory,
    TrajectoryResult,
    compare_trajectories,
    record_every_within,
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
    "ParityCase",
    "as_case",
    "SENSITIVITY_FACTOR",
    "SENSITIVITY_RULE",
    "Envelope",
    "apply_sensitivity_rule",
    "RoundingBound",
    "forward_margin",
    "probe_weights",
    "rounding_bound",
    "summation_length",
    "Start",
    "builds_agree",
    "reproducible_start",
    "RenamedSide",
    "VariableMatch",
    "match_variables",
    "DEFAULT_TWINS",
    "GrowthEstimate",
    "estimate_growth",
    "perturb_inputs",
    "perturb_one_ulp",
    "keras_update_scale",
    "rounding_after_each_step",
    "rounds_every_step",
    "trains_concurrently",
    "twin_run",
    "twin_runs",
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
    "Margin",
    "Tolerance",
    "largest_ratio",
    "weights_differences",
    "worst_difference",
    "Trajectory",
    "TrajectoryResult",
    "compare_trajectories",
    "RECORDED_BYTES",
    "record_every_within",
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
