"""The training-config flags every command that trains shares: `--model` and one flag per `TrainConfig` field.

A flag left out takes the model's own run (`compat.models`); `config_from_args` turns the flags
into a checked `TrainConfig` before any work starts.
"""

from __future__ import annotations

import argparse

from tfparity.benchmarks.errors import UsageError
from tfparity.compat import tf_logs


def add_config_arguments(parser: argparse.ArgumentParser, *, every_model: bool = False) -> None:
    """`--model` and one flag per TrainConfig field; a flag left out takes the model's own run (`compat.models`).
    `every_model`: `--model all` too, every model one after another."""
    from tfparity.compat import INITIALIZERS, LOSS_FORMS, MODELS, OPTIMIZERS, TrainConfig

    g = parser.add_argument_group(
        "training config (every field of compat.TrainConfig; a flag left out keeps the --model's own run)"
    )
    every = {"all": "every model in turn, each at its own run where a flag does not say"} if every_model else {}
    models = {name: spec.what for name, spec in MODELS.items()} | every
    g.add_argument(
        "--model", choices=list(models), default="softmax", help="; ".join(f"{k}: {v}" for k, v in models.items())
    )
    g.add_argument("--steps", type=int, default=None, help="training steps (batches)")
    g.add_argument("--batch-size", type=int, default=None, help="examples per step")
    g.add_argument("--learning-rate", "--lr", type=float, default=None, help="the optimizer's step size")
    g.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        default=None,
        help="tf.compat.v1.train's GradientDescent / Adam / RMSProp and their TF2 counterparts (as the model allows)",
    )
    g.add_argument("--adam-beta1", type=float, default=None, help="Adam's first-moment decay")
    g.add_argument("--adam-beta2", type=float, default=None, help="Adam's second-moment decay")
    g.add_argument(
        "--adam-epsilon",
        type=float,
        default=None,
        help="Adam's epsilon, stated on both sides (TF1 defaults to 1e-8, Keras to 1e-7)",
    )
    g.add_argument(
        "--loss",
        choices=list(LOSS_FORMS),
        default=None,
        help="; ".join(f"{k}: {v}" for k, v in LOSS_FORMS.items()),
    )
    g.add_argument(
        "--init",
        choices=list(INITIALIZERS),
        default=None,
        help="initial weights, drawn once in NumPy and given to every style",
    )
    g.add_argument(
        "--init-stddev", type=float, default=None, help="standard deviation of --init normal and truncated_normal"
    )
    g.add_argument("--init-bias", type=float, default=None, help="every bias's initial value")
    g.add_argument(
        "--dropout-rate",
        type=float,
        default=None,
        help="fraction of hidden units dropped while training (TF1 fed keep_prob = 1 - rate); models with dropout",
    )
    g.add_argument("--rmsprop-rho", type=float, default=None, help="RMSProp's decay (TF1's and Keras' 0.9)")
    g.add_argument(
        "--rmsprop-epsilon", type=float, default=None, help="RMSProp's epsilon, stated on both sides (TF1: 1e-10)"
    )
    g.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the initial weights and the batch plan (a parity target's: the plan only)",
    )
    g.add_argument(
        "--shuffle",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a fresh permutation of the examples each epoch; --no-shuffle: the file's order (the regression models)",
    )
    g.add_argument(
        "--device",
        choices=["cpu", "gpu"],
        default=None,
        help="where every style runs (gpu: checked up front)",
    )
    for action in g._group_actions:  # a left-out flag takes the model's run: say what that is, model by model
        if action.default is None and action.dest in TrainConfig.__dataclass_fields__:
            action.help = f"{action.help} {model_defaults(action.dest)}"
    g.add_argument(
        "--tutorial",
        action="store_true",
        help="the seed-faithful TF1 tutorial config (summed log-softmax loss, SGD 0.01); overrides --loss and --lr",
    )


def model_defaults(field: str) -> str:
    """'(default: 1000; mlp 2345)': a field's value in the softmax run, then where another model's run differs."""
    from tfparity.compat import MODELS, TrainConfig

    values = {model: getattr(TrainConfig.for_model(model), field) for model in MODELS}
    base = values.pop("softmax")
    others = ", ".join(f"{model} {value}" for model, value in values.items() if value != base)
    return f"(default: {base}{'; ' + others if others else ''})"


def config_from_args(args: argparse.Namespace, model: str | None = None):
    """The TrainConfig the flags describe (for `model`, default `--model`); a device that is not there is an
    error before any work."""
    from tfparity.compat import TrainConfig, tf_device_name

    given = dict(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        adam_beta1=args.adam_beta1,
        adam_beta2=args.adam_beta2,
        adam_epsilon=args.adam_epsilon,
        rmsprop_rho=args.rmsprop_rho,
        rmsprop_epsilon=args.rmsprop_epsilon,
        loss=args.loss,
        init=args.init,
        init_stddev=args.init_stddev,
        init_bias=args.init_bias,
        dropout_rate=args.dropout_rate,
        seed=args.seed,
        shuffle=args.shuffle,
        device=args.device,
    )
    fields = {name: value for name, value in given.items() if value is not None}
    model = model or args.model
    if getattr(args, "tutorial", False):
        if model != "softmax":
            raise UsageError(f"--tutorial is the softmax model's TF1 tutorial run; drop it or --model {args.model}")
        config = TrainConfig.tutorial(**{k: v for k, v in fields.items() if k not in ("loss", "learning_rate")})
    else:
        config = TrainConfig.for_model(model, **fields)
    if config.device == "gpu":
        tf_logs.import_tensorflow()
        tf_device_name("gpu")  # DeviceUnavailable: one line, exit 2, before any style runs
    return config
