"""The one registry: tfparity's styles, the modules that write them, and the idioms the benchmarks time.

`compare`, `parity`, `sidebyside` and the benchmark suite all read it. Styles are what users
migrate between (TF1 graph, eager, tf.function, keras.fit); each is taught by one module, and
`STYLES` runs that module's `train`. Idioms are the ways people really write a style, each
timed by the suite: the default one is what the tutorials and guides show, the tuned ones what
their performance guides recommend, never a strawman. Two tuned idioms have modules of their
own (`TUNED_MODULES`), which `tfparity sidebyside --tuned` shows side by side; so do the
data-parallel variants (`REPLICA_MODULES`: `sidebyside --styles towers mirrored`). The whole-epoch
idiom's further tuning (`FAST_MODULE`) is timed option by option and shown by no side-by-side. Every idiom
honours `train(data, config) -> RunResult` on the shared batch plan, so they train to the same
weights and the suite can hold each one to the TF1 reference's accuracy.

Nothing here imports a style: each is imported when first run (`imported`), so that listing the
styles and idioms (`tfparity bench --help`, reading a kept report) loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tfparity.compat import Datasets, RunResult, TrainConfig

TrainFn = Callable[[Datasets, TrainConfig], RunResult]


def imported(module: str, function: str, **options: Any) -> TrainFn:
    """`module.function(data, config, **options)`, the module imported at the first call."""

    def train(data: Datasets, config: TrainConfig) -> RunResult:
        return getattr(importlib.import_module(module), function)(data, config, **options)

    train.__qualname__ = f"{module}.{function}"
    return train


# --- styles and their modules -------------------------------------------------------------------

# style -> the module that teaches it: the tutorial's code, cut into stages (`# %% stage: ...`)
STYLE_MODULES: dict[str, str] = {
    "tf1_graph": "tfparity.tf1_graph.graph_style",
    "eager": "tfparity.tf2_eager.eager_style",
    "function": "tfparity.tf2_eager.function_style",
    "keras_fit": "tfparity.tf2_eager.keras_style",
}
# tuned idiom -> its module, cut into the same stages: TF1's tuned idiom first
TUNED_MODULES: dict[str, str] = {
    "in_graph": "tfparity.tf1_graph.in_graph",
    "whole_epoch": "tfparity.tf2_eager.whole_epoch",
}
# data-parallel variant (`replicas.VARIANTS`, `workers.VARIANTS`) -> its module, cut into the same stages:
# TF1's first. Each takes the model's own style module, so one module serves every model `replicas.MODELS` names.
REPLICA_MODULES: dict[str, str] = {
    "towers": "tfparity.tf1_graph.towers_style",
    "mirrored": "tfparity.tf2_eager.mirrored_style",
    "mirrored_keras": "tfparity.tf2_eager.mirrored_keras",
    "between_graph": "tfparity.tf1_graph.between_graph",
    "multi_worker": "tfparity.tf2_eager.multi_worker",
}
# every module `sidebyside` can show, by name
MODULES: dict[str, str] = {**STYLE_MODULES, **TUNED_MODULES, **REPLICA_MODULES}
REFERENCE = "tf1_graph"  # what users migrate from: every other style is compared against it
# model (compat.models) -> style -> the module that teaches it; the softmax model's are STYLE_MODULES
MODEL_MODULES: dict[str, dict[str, str]] = {
    "softmax": STYLE_MODULES,
    "mlp": {
        "tf1_graph": "tfparity.tf1_graph.mlp_graph",
        "eager": "tfparity.tf2_eager.mlp_eager",
        "function": "tfparity.tf2_eager.mlp_function",
        "keras_fit": "tfparity.tf2_eager.mlp_keras",
    },
    "cnn": {
        "tf1_graph": "tfparity.tf1_graph.cnn_graph",
        "eager": "tfparity.tf2_eager.cnn_eager",
        "function": "tfparity.tf2_eager.cnn_function",
        "keras_fit": "tfparity.tf2_eager.cnn_keras",
    },
    "linear_regression": {
        "tf1_graph": "tfparity.tf1_graph.regression_graph",
        "eager": "tfparity.tf2_eager.regression_eager",
        "function": "tfparity.tf2_eager.regression_function",
        "keras_fit": "tfparity.tf2_eager.regression_keras",
    },
}
MODEL_MODULES["mlp_dropout"] = MODEL_MODULES["mlp"]  # the same code: its width and dropout come from the config
MODEL_MODULES["logistic_regression"] = MODEL_MODULES["linear_regression"]  # the same code: the task says which


def style_train(style: str, **options: Any) -> TrainFn:
    """`style`'s `train(data, config, **options)` from the module of `config.model`, imported at the first call."""

    def train(data: Datasets, config: TrainConfig) -> RunResult:
        return importlib.import_module(MODEL_MODULES[config.model][style]).train(data, config, **options)

    train.__qualname__ = f"{style}.train"
    return train


def memoized_reference(data_for: Callable[[TrainConfig], Datasets]) -> Callable[[TrainConfig], RunResult]:
    """`reference(config)`: the REFERENCE style's run of `config` on `data_for(config)`, trained once per config.

    The suites' session fixtures: every case of a config holds its weights and accuracy to one run."""
    runs: dict[TrainConfig, RunResult] = {}
    train = style_train(REFERENCE)

    def reference(config: TrainConfig) -> RunResult:
        if config not in runs:
            runs[config] = train(data_for(config), config)
        return runs[config]

    return reference


# style -> its `train`, as `compare` and `parity` run it. They compare runs step by step, so
# keras.fit records every step's own loss (its BatchLoss metric), which its timed idioms do not.
STYLES: dict[str, TrainFn] = {
    style: style_train(style, **({"batch_loss": True} if style == "keras_fit" else {})) for style in STYLE_MODULES
}


def module(name: str) -> ModuleType:
    """The module registered as `name` in MODULES (a style or a tuned idiom), imported."""
    return importlib.import_module(MODULES[name])


def style_module(style: str, model: str = "softmax") -> ModuleType:
    """The module that teaches `style` for `model` (MODEL_MODULES), imported."""
    return importlib.import_module(MODEL_MODULES[model][style])


def select_styles(names: Iterable[str] | None) -> list[str]:
    """Validate style names (None or empty: all, in registry order)."""
    if not names:
        return list(STYLES)
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise ValueError(f"unknown style(s) {unknown}; choose from {list(STYLES)}")
    return list(names)


# --- how long the benchmark suite runs ----------------------------------------------------------


@dataclass(frozen=True)
class BenchSettings:
    """How long the suite runs: plain `pytest` runs QUICK, `tfparity bench` FULL unless --quick."""

    mode: str
    steps: int  # training steps per round (batch 100: 1000 steps is the TF1 tutorial's run)
    rounds: int  # timed rounds behind each median, at least
    warmup_rounds: int  # untimed rounds first: imports, kernel caches, allocator
    max_rounds: int  # ... and at most, for the cases whose rounds are short
    seconds_per_case: float  # the time the rounds of a case fill, its anchor runs included

    def rounds_for(self, seconds_per_round: float) -> int:
        """Timed rounds for a case whose round, anchors included, takes `seconds_per_round`.

        A short round is noisy (its paired ratio moved by 15% from one round to the next on a
        shared 2-core VM), so cheap cases take more rounds: as many as fill `seconds_per_case`,
        between `rounds` and `max_rounds`.
        """
        wanted = math.ceil(self.seconds_per_case / max(seconds_per_round, 1e-9))
        return max(self.rounds, min(self.max_rounds, wanted))


QUICK = BenchSettings(mode="quick", steps=200, rounds=3, warmup_rounds=1, max_rounds=3, seconds_per_case=0.0)
FULL = BenchSettings(mode="full", steps=1000, rounds=10, warmup_rounds=1, max_rounds=40, seconds_per_case=20.0)
TARGET_ACCURACY = 0.91  # the "time to 0.91" column: the tutorial model's usual MNIST mark
TARGET_SEARCH_STEPS = 3000  # how far the search for the target's step count may go


def bench_settings(full: bool, steps: int | None = None, rounds: int | None = None) -> BenchSettings:
    """FULL or QUICK, `steps` overriding and `rounds` fixing the rounds; ValueError for lengths that cannot be timed."""
    base = FULL if full else QUICK
    steps = steps or base.steps
    if steps <= STEPS_PER_CALL or (rounds is not None and rounds < 1):
        # The tuned idioms run STEPS_PER_CALL steps per call: fewer steps leave them no steady state to time.
        raise ValueError(
            f"steps must exceed {STEPS_PER_CALL} and rounds be at least 1, got steps={steps} and rounds={rounds}"
        )
    if rounds is None:
        return dataclasses.replace(base, steps=steps)
    return dataclasses.replace(base, steps=steps, rounds=rounds, max_rounds=rounds)


# Steps per Session.run (TF1 in-graph) and per execution (keras.fit): 100 divides the quick
# (200) and full (1000) step counts, and beyond it the per-call overhead is small
# next to the steps themselves.
STEPS_PER_CALL = 100


# --- the idioms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Idiom:
    style: str
    name: str
    train: TrainFn
    summary: str
    devices: tuple[str, ...] = ("cpu", "gpu")

    @property
    def key(self) -> str:
        return f"{self.style}/{self.name}"


FAST_MODULE = "tfparity.tf2_eager.whole_epoch_fast"  # the whole-epoch idiom's further tuning, one option per idiom
UNROLL = 4  # unrolled_xla: steps per iteration of the compiled loop
# What every idiom's case asserts against TF1 feed_dict (bench_styles.py; the report states them, read from
# here so that rendering a report never imports the suite, which asks TensorFlow for GPUs at collection).
ACCURACY_TOLERANCE = 0.001  # 0.1 percentage point
WEIGHT_TOLERANCE = 1e-5  # max |dW|, |db|: on the CPU every idiom lands within 6e-7 of it, full length, any batch
FLOOR_STYLE = "numpy"  # the floor's RunResult style: not a style users migrate between, so not in STYLES
IDIOMS: tuple[Idiom, ...] = (
    Idiom(
        "tf1_graph",
        "feed_dict",
        imported(STYLE_MODULES["tf1_graph"], "train"),
        "the TF1 tutorial: placeholders and one Session.run with a feed_dict per step",
    ),
    Idiom(
        "tf1_graph",
        "in_graph",
        imported(TUNED_MODULES["in_graph"], "train", steps_per_run=STEPS_PER_CALL),
        f"data preloaded into graph variables, {STEPS_PER_CALL} steps per Session.run in a tf.while_loop",
    ),
    Idiom(
        "eager",
        "gradient_tape",
        imported(STYLE_MODULES["eager"], "train"),
        "the TF2 tutorial: GradientTape and optimizer.apply_gradients, one Python call per op",
    ),
    Idiom(
        "function",
        "per_step",
        imported(STYLE_MODULES["function"], "train"),
        "the tf.function guide: one compiled step per batch, called from a Python loop",
    ),
    Idiom(
        "function",
        "whole_epoch",
        imported(TUNED_MODULES["whole_epoch"], "train", jit_compile=False),
        "every batch pre-stacked as [steps, batch, 784]; the whole loop in one tf.function call",
    ),
    Idiom(
        "function",
        "whole_epoch_xla",
        imported(TUNED_MODULES["whole_epoch"], "train", jit_compile=True),
        "the same, compiled by XLA (jit_compile=True)",
    ),
    # The whole-epoch loop tuned further (issue 20): each idiom one option of `whole_epoch_fast.train` more.
    Idiom(
        "function",
        "unrolled_xla",
        imported(FAST_MODULE, "train", unroll=UNROLL),
        f"whole_epoch_xla with {UNROLL} steps per iteration of the compiled while loop, then the remainder one by one",
    ),
    Idiom(
        "function",
        "closed_form",
        imported(FAST_MODULE, "train", jit_compile=False, closed_form=True),
        "whole_epoch with the gradient written out (the fused softmax cross-entropy kernel's own gradient, "
        "dW = x^T dlogits) and SGD as one assign_sub per variable, no Keras optimizer",
    ),
    Idiom(
        "function",
        "closed_form_xla",
        imported(FAST_MODULE, "train", closed_form=True),
        "the same, compiled by XLA",
    ),
    Idiom(
        "function",
        "transposed_xla",
        imported(FAST_MODULE, "train", transposed=True),
        "whole_epoch_xla with W kept transposed, [10, 784]: both products take the batch as stored",
    ),
    Idiom(
        "function",
        "closed_form_transposed_xla",
        imported(FAST_MODULE, "train", closed_form=True, transposed=True),
        "closed_form_xla with W kept transposed: every option above but the unrolling",
    ),
    Idiom(
        "function",
        "closed_form_transposed_uint8_xla",
        imported(FAST_MODULE, "train", closed_form=True, transposed=True, uint8_images=True),
        "closed_form_transposed_xla with the stacked epoch kept as uint8 pixels, scaled to float32 inside "
        "the step by the data layer's own multiply: a quarter of the bytes",
    ),
    Idiom(
        "keras_fit",
        "default",
        imported(STYLE_MODULES["keras_fit"], "train"),
        "model.compile(optimizer, loss) with Keras' defaults (no metrics), then model.fit(); accuracy measured apart",
    ),
    Idiom(
        "keras_fit",
        "steps_per_execution",
        imported(STYLE_MODULES["keras_fit"], "train", steps_per_execution=STEPS_PER_CALL),
        f"compile(steps_per_execution={STEPS_PER_CALL}): {STEPS_PER_CALL} steps per call into the compiled "
        "train function",
    ),
    Idiom(
        FLOOR_STYLE,
        "floor",
        imported("tfparity.benchmarks.numpy_floor", "train"),
        "the same step in float32 NumPy, no framework: the floor every ratio is read against",
        devices=("cpu",),
    ),
)

BASELINE = ("tf1_graph", "feed_dict")  # what users migrate from: every ratio "vs TF1" is against it
FLOOR = (FLOOR_STYLE, "floor")
DEVICES = ("cpu", "gpu")
# The batch-scaling cases: where the GPU overtakes the CPU as the batch grows. Each round trains
# on as many examples as a batch-100 round, so the steps shrink as the batch grows (the idioms
# that run STEPS_PER_CALL steps per call would have no steady state left, and stay at batch 100).
BATCH_SIZE = 100  # the TF1 tutorial's batch: every idiom runs at it
BATCH_SIZES = (BATCH_SIZE, 1_000, 10_000)
TUNED_TF2 = ("function", "closed_form_transposed_uint8_xla")  # every whole_epoch_fast option but unrolling
SCALING_IDIOMS = (BASELINE, ("function", "whole_epoch_xla"), TUNED_TF2, ("keras_fit", "default"), FLOOR)
MIN_SCALING_STEPS = 10  # steady state needs a few steps after the first
QUICK_BATCH_LIMIT = 1_000  # a plain `pytest` of the project runs the scaling cases up to this batch
# Every report's two ratios and the idiom each is read against.
RATIO_ANCHORS = {"ratio_vs_tf1_feed_dict": BASELINE, "ratio_vs_numpy_floor": FLOOR}


def get(style: str, name: str) -> Idiom:
    for idiom in IDIOMS:
        if (idiom.style, idiom.name) == (style, name):
            return idiom
    raise KeyError(f"no idiom {style}/{name}; known: {[i.key for i in IDIOMS]}")


def case_id(style: str, idiom: str, device: str, batch_size: int = BATCH_SIZE) -> str:
    """The pytest id: `style-idiom-device`, with `-b<batch>` for the batch-scaling cases."""
    base = f"{style}-{idiom}-{device}"
    return base if batch_size == BATCH_SIZE else f"{base}-b{batch_size}"


@dataclass(frozen=True)
class Case:
    """One benchmark case: an idiom on a device at a batch size."""

    idiom: Idiom
    device: str
    batch_size: int = BATCH_SIZE

    @property
    def id(self) -> str:
        return case_id(self.idiom.style, self.idiom.name, self.device, self.batch_size)

    def steps(self, settings: BenchSettings) -> int:
        """Steps per round: the same examples per round at every batch size, at least MIN_SCALING_STEPS."""
        return max(settings.steps * BATCH_SIZE // self.batch_size, MIN_SCALING_STEPS)


def select(
    styles: Iterable[str] | None = None,
    idioms: Iterable[str] | None = None,
    devices: Iterable[str] | None = None,
    batch_sizes: Iterable[int] | None = None,
) -> list[Case]:
    """The cases that match every filter (None or empty: no filter; batch sizes default to BATCH_SIZES).

    Every idiom runs at BATCH_SIZE; the larger batch sizes run the SCALING_IDIOMS only. Unknown
    names raise ValueError listing the known ones, so a typo never selects nothing.
    """
    styles, idioms, devices = (set(x) if x else None for x in (styles, idioms, devices))
    batch_sizes = sorted(set(batch_sizes or BATCH_SIZES))
    for given, known, what in (
        (styles, {i.style for i in IDIOMS}, "style"),
        (idioms, {i.name for i in IDIOMS}, "idiom"),
        (devices, set(DEVICES), "device"),
    ):
        if given and given - known:
            raise ValueError(f"unknown {what}(s) {sorted(given - known)}; choose from {sorted(known)}")
    if batch_sizes[0] < 1:
        raise ValueError(f"batch sizes must be positive, got {batch_sizes}")
    return [
        Case(idiom, device, batch)
        for batch in batch_sizes
        for idiom in IDIOMS
        for device in idiom.devices
        if (batch == BATCH_SIZE or (idiom.style, idiom.name) in SCALING_IDIOMS)
        and (not styles or idiom.style in styles)
        and (not idioms or idiom.name in idioms)
        and (not devices or device in devices)
    ]
