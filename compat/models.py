"""The models tfparity writes in every style: their variables, the run each reproduces, its published result.

One source for these facts: `TrainConfig.model` names a row, `initial_weights` draws the row's
variables, the styles' registry (`benchmarks.idioms`) finds the row's modules, and the commands'
`--model` lists the rows. Variables are named as the TF1 code names them, in creation order.

Dropout is random, and the styles must still agree: every style draws the masks Keras'
`Dropout(rate, seed=config.seed)` draws. Keras 3 makes its k-th training call's mask with
`tf.nn.experimental.stateless_dropout(x, rate, seed=[seed, k])`, a counter-based generator
with no hidden state, so the eager and `tf.function` styles call that op with the step their
optimizer has counted, and the TF1 graph with its global step (its `keep_prob` placeholder fed
`1 - rate` to train and 1 to evaluate, as TF1 code fed it). `tf.compat.v1.nn.dropout`'s own
masks come from a stateful op seeded per graph, which no TF2 code can replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NUM_FEATURES = 784
NUM_CLASSES = 10


@dataclass(frozen=True)
class ModelSpec:
    name: str
    what: str  # one line
    shapes: dict[str, tuple[int, ...]]  # variable name -> shape, in creation order
    optimizers: tuple[str, ...]  # what its styles train it with
    reference: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields of the run it reproduces
    published: str = ""  # the result that run reproduces, and where it was published
    dropout: bool = False  # a Dropout layer after the last hidden layer (TrainConfig.dropout_rate)
    dataset: str = "mnist"  # what it trains on (compat.data.load_dataset's name)
    # what its output is, and so its loss and metric: "classes" (10 logits, softmax cross-entropy,
    # accuracy), "regression" (one value, mean squared error) or "binary" (one probability, mean
    # binary cross-entropy, accuracy at 0.5)
    task: str = "classes"
    initial_values: dict[str, float] = field(default_factory=dict)  # variables the tutorial starts at a constant
    curve_epochs: tuple[int, ...] = ()  # the epochs whose mean loss the tutorial prints (compare's curve)


MODELS: dict[str, ModelSpec] = {
    "softmax": ModelSpec(
        "softmax",
        "softmax regression, 784 -> 10 (TensorFlow's 'MNIST for ML beginners')",
        {"W": (NUM_FEATURES, NUM_CLASSES), "b": (NUM_CLASSES,)},
        ("sgd", "adam"),
        published="test accuracy 0.9177 after 1,000 steps of SGD 0.5 at batch 100 (the tutorial's 'about 92%')",
    ),
    "mlp": ModelSpec(
        "mlp",
        "Dense(512, relu) -> Dense(10, softmax), RMSprop (Keras' 'first look at a neural network')",
        {
            "hidden/kernel": (NUM_FEATURES, 512),
            "hidden/bias": (512,),
            "output/kernel": (512, NUM_CLASSES),
            "output/bias": (NUM_CLASSES,),
        },
        ("rmsprop", "adam", "sgd"),
        reference={
            "optimizer": "rmsprop",
            "learning_rate": 0.001,
            "batch_size": 128,
            "steps": 2345,  # 5 epochs of 60,000 at batch 128
            "init": "glorot_uniform",
        },
        published="test accuracy 0.98 after 5 epochs (Chollet, Deep Learning with Python, section 2.1)",
    ),
    "mlp_dropout": ModelSpec(
        "mlp_dropout",
        "Dense(128, relu) -> Dropout(0.2) -> Dense(10), Adam (TensorFlow 2's beginner quickstart)",
        {
            "hidden/kernel": (NUM_FEATURES, 128),
            "hidden/bias": (128,),
            "output/kernel": (128, NUM_CLASSES),
            "output/bias": (NUM_CLASSES,),
        },
        ("adam", "rmsprop", "sgd"),
        reference={
            "optimizer": "adam",
            "learning_rate": 0.001,
            "adam_epsilon": 1e-7,  # the quickstart's Keras Adam default, stated to TF1's AdamOptimizer too
            "batch_size": 32,
            "steps": 9375,  # 5 epochs of 60,000 at batch 32
            "init": "glorot_uniform",
            "dropout_rate": 0.2,
        },
        published="test accuracy 0.9775 after 5 epochs (TensorFlow 2 quickstart for beginners)",
        dropout=True,
    ),
    "cnn": ModelSpec(
        "cnn",
        "conv 5x5x32, pool, conv 5x5x64, pool, Dense(1024, relu), dropout, Dense(10), Adam 1e-4 "
        "(TF1's 'Deep MNIST for experts')",
        {
            "conv1/kernel": (5, 5, 1, 32),
            "conv1/bias": (32,),
            "conv2/kernel": (5, 5, 32, 64),
            "conv2/bias": (64,),
            "fc1/kernel": (7 * 7 * 64, 1024),
            "fc1/bias": (1024,),
            "output/kernel": (1024, NUM_CLASSES),
            "output/bias": (NUM_CLASSES,),
        },
        ("adam", "sgd", "rmsprop"),
        reference={
            "optimizer": "adam",
            "learning_rate": 1e-4,
            "batch_size": 50,
            "steps": 20000,
            "init": "truncated_normal",
            "init_stddev": 0.1,
            "init_bias": 0.1,
            "dropout_rate": 0.5,  # the tutorial's keep_prob 0.5
        },
        published="test accuracy about 0.992 after 20,000 steps (TensorFlow's 'Deep MNIST for experts')",
        dropout=True,
    ),
    "linear_regression": ModelSpec(
        "linear_regression",
        "life expectancy = W * birth rate + b, squared error, SGD (Stanford CS20's birth_life regression)",
        {"W": (1, 1), "b": (1,)},
        ("sgd",),
        reference={
            "optimizer": "sgd",
            "learning_rate": 0.001,
            "batch_size": 1,  # one (x, y) pair per step, as CS20's Session.run fed them
            "steps": 19000,  # 100 epochs of the 190 countries
            "shuffle": False,  # the file's order, every epoch
        },
        published="mean squared error per epoch from about 1,657 (epoch 1) to about 30.0 (epoch 100) (CS20)",
        dataset="birth_life",
        task="regression",
        initial_values={"W": 0.1},  # the tutorial's w = 0.1, b = 0
        curve_epochs=(1, 10, 50, 100),
    ),
    "logistic_regression": ModelSpec(
        "logistic_regression",
        "diabetes = sigmoid(features @ W + b), 8 min-max scaled inputs, binary cross-entropy, SGD (Pima)",
        {"W": (8, 1), "b": (1,)},
        ("sgd",),
        reference={
            "optimizer": "sgd",
            "learning_rate": 0.1,
            "batch_size": 614,  # the whole training split, one batch through tf.data
            "steps": 1000,  # 1,000 epochs
            "shuffle": False,  # one batch: its order only decides the rounding of the sums
        },
        published="mean loss about 0.643 at epoch 100 (the TF2 tutorials, on all 768 rows)",
        dataset="pima",
        task="binary",
        curve_epochs=(1, 100, 1000),
    ),
}


def model_spec(name: str) -> ModelSpec:
    """The row `name`; an unknown name is a ValueError listing the models."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {list(MODELS)}")
    return MODELS[name]
