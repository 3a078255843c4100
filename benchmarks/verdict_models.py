"""The verdict-accuracy experiment's three architectures, each written twice: TF1 reference and TF2 port.

`build_reference(arch, training)` is TF1 code (placeholders, `get_variable`, a
`tf.compat.v1.train` optimizer) returning a `parity.TF1Graph`; `CandidateModel(arch,
training, variant)` is its TF2 port, a `tf.Module` trained with `tf.GradientTape` and a Keras
optimizer, that plants one variant at a time (the registry of variants is in `verdict_pairs`).

Both sides' own initializers are zeros: the experiment starts both from the same seeded
weights through `check_many(initial_weights=...)`, and equal initializers keep the check's
comparison of each side's own initial values out of the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import parity

Arch = Literal["softmax", "mlp", "cnn"]

# Variable name -> shape, in the reference's order. The softmax names are the shipped styles' own.
SHAPES: dict[str, dict[str, tuple[int, ...]]] = {
    "softmax": {"W": (784, 10), "b": (10,)},
    "mlp": {
        "hidden1/kernel": (784, 256),
        "hidden1/bias": (256,),
        "hidden2/kernel": (256, 256),
        "hidden2/bias": (256,),
        "logits/kernel": (256, 10),
        "logits/bias": (10,),
    },
    "cnn": {"conv/kernel": (5, 5, 1, 8), "conv/bias": (8,), "logits/kernel": (14 * 14 * 8, 10), "logits/bias": (10,)},
}
# The dense layers as (kernel, bias), input first; the CNN's one dense layer follows its conv block.
DENSE: dict[str, tuple[tuple[str, str], ...]] = {
    "softmax": (("W", "b"),),
    "mlp": (("hidden1/kernel", "hidden1/bias"), ("hidden2/kernel", "hidden2/bias"), ("logits/kernel", "logits/bias")),
    "cnn": (("logits/kernel", "logits/bias"),),
}
# What `transposed` uses transposed: the MLP's square hidden kernel; elsewhere a mis-shaped variable.
TRANSPOSED = {"softmax": "W", "mlp": "hidden2/kernel", "cnn": "logits/kernel"}
DROPOUT_RATE, BUGGY_DROPOUT_RATE = 0.25, 0.5
DROPOUT_SEED, BUGGY_DROPOUT_SEED = 1234, 4321
LABEL_SMOOTHING = 0.1
PERMUTATION_SEED = 20240  # `reordered_sum`'s fixed permutation of the input features
NUM_CLASSES = 10


@dataclass(frozen=True)
class Training:
    """The optimizer both sides state: TF1's GradientDescent or Adam, Keras' SGD or Adam."""

    optimizer: Literal["sgd", "adam"]
    learning_rate: float
    adam_epsilon: float = 1e-8


# --- TF1: the reference ------------------------------------------------------------------


def build_reference(arch: Arch, training: Training) -> parity.TF1Graph:
    """The TF1 graph of `arch`: one `Session.run(train_op)` per step; `outputs` are eval logits."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 784], name="x")
    y = tf.compat.v1.placeholder(tf.float32, [None, NUM_CLASSES], name="y")
    params = {}
    for name, shape in SHAPES[arch].items():
        scope, _, leaf = name.rpartition("/")
        with tf.compat.v1.variable_scope(scope or tf.compat.v1.get_variable_scope()):
            params[name] = tf.compat.v1.get_variable(leaf, shape, initializer=tf.compat.v1.zeros_initializer())
    step = None
    if arch == "cnn":  # the dropout masks' step counter, not trained
        step = tf.compat.v1.get_variable(
            "step", [], tf.int64, initializer=tf.compat.v1.zeros_initializer(), trainable=False
        )
    logits = _tf1_logits(arch, params, x, step)
    loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    if training.optimizer == "adam":
        optimizer = tf.compat.v1.train.AdamOptimizer(training.learning_rate, epsilon=training.adam_epsilon)
    else:
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(training.learning_rate)
    train_op = optimizer.minimize(loss)
    if step is not None:
        with tf.control_dependencies([train_op]):  # the next step's masks, once this update is done
            train_op = tf.compat.v1.assign_add(step, 1)
    outputs = _tf1_logits(arch, params, x, None)
    return parity.TF1Graph(
        inputs=x, outputs=outputs, labels=y, loss=loss, train_op=train_op, variables=list(params.values())
    )


def _tf1_logits(arch: Arch, params: dict, x, step) -> tf.Tensor:
    """The forward pass as TF1 wrote it; dropout only when `step` (training) is given."""
    h = x
    if arch == "cnn":
        h = tf.reshape(x, [-1, 28, 28, 1])
        h = tf.compat.v1.nn.conv2d(h, params["conv/kernel"], strides=[1, 1, 1, 1], padding="SAME")
        h = tf.compat.v1.nn.max_pool(tf.nn.relu(h + params["conv/bias"]), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        h = tf.reshape(h, [-1, SHAPES["cnn"]["logits/kernel"][0]])
        if step is not None:
            seed = tf.stack([step, tf.constant(DROPOUT_SEED, tf.int64)])
            h = tf.nn.experimental.stateless_dropout(h, DROPOUT_RATE, seed=seed)
    layers = DENSE[arch]
    for i, (kernel, bias) in enumerate(layers):
        h = tf.matmul(h, params[kernel]) + params[bias]
        if i < len(layers) - 1:
            h = tf.nn.relu(h)
    return h


# --- TF2: the candidate ------------------------------------------------------------------


class CandidateModel(tf.Module):
    """The TF2 port of `arch` with one planted `variant` ("correct" plants nothing).

    `model(x)` is the evaluation forward pass (no dropout); `model.train_step(x, y)` is one
    update, returning that batch's loss. Keyed on `variant` names from `verdict_pairs.VARIANTS`.
    """

    def __init__(self, arch: Arch, training: Training, variant: str = "correct"):
        super().__init__(name=f"{arch}_{variant}")
        self.arch, self.training, self.variant = arch, training, variant
        self.params = {
            name: tf.Variable(tf.zeros(self._stored_shape(name, shape)), name=name)
            for name, shape in SHAPES[arch].items()
        }
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        first_kernel = DENSE[arch][0][0]
        self.permutation = np.random.default_rng(PERMUTATION_SEED).permutation(SHAPES[arch][first_kernel][0])
        self.optimizer = self.make_optimizer()
        self.optimizer.build(list(self.trainable_variables))  # its slots exist before the step is traced
        # A compiled step, as TF2 code writes it (and 8x faster than eager here); `new_optimizer`
        # stays eager: a tf.function cannot make new variables on every call.
        self._compiled_step = tf.function(self._step, autograph=False)  # no tensor-dependent Python control flow

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        return tuple(self.params.values())

    def _stored_shape(self, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[::-1] if self.variant == "transposed" and name == TRANSPOSED[self.arch] else shape

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        """Keras' optimizer with TF1's hyperparameters stated (Keras' Adam epsilon defaults to 1e-7)."""
        rate = self.training.learning_rate * (10 if self.variant == "lr_10x" else 1)
        if self.training.optimizer == "sgd":
            return keras.optimizers.SGD(rate)
        epsilon = 1e-7 if self.variant == "adam_epsilon" else self.training.adam_epsilon
        return keras.optimizers.Adam(rate, epsilon=epsilon)

    def _dense(self, h, kernel: str, bias: str, first: bool) -> tf.Tensor:
        w = self.params[kernel]
        if self.variant == "transposed" and kernel == TRANSPOSED[self.arch]:
            z = h @ tf.transpose(w)
        elif first and self.variant == "reordered_sum":
            z = tf.gather(h, self.permutation, axis=1) @ tf.gather(w, self.permutation)
        elif first and self.variant == "split_sum":
            half = int(w.shape[0]) // 2
            z = h[:, :half] @ w[:half] + h[:, half:] @ w[half:]
        else:
            z = h @ w
        return z + self.params[bias]

    def _features(self, x, training: bool) -> tf.Tensor:
        """The CNN's conv block, flattened, with the step's dropout mask in training; else `x`."""
        if self.arch != "cnn":
            return tf.convert_to_tensor(x)
        h = tf.nn.conv2d(tf.reshape(x, [-1, 28, 28, 1]), self.params["conv/kernel"], strides=1, padding="SAME")
        h = tf.nn.max_pool2d(tf.nn.relu(h + self.params["conv/bias"]), 2, 2, "VALID")
        h = tf.reshape(h, [-1, SHAPES["cnn"]["logits/kernel"][0]])
        if not training:
            return h
        rate = BUGGY_DROPOUT_RATE if self.variant == "dropout_rate" else DROPOUT_RATE
        seed = BUGGY_DROPOUT_SEED if self.variant == "dropout_mask" else DROPOUT_SEED
        return tf.nn.experimental.stateless_dropout(h, rate, seed=tf.stack([self.step, tf.constant(seed, tf.int64)]))

    def logits(self, x, training: bool = False) -> tf.Tensor:
        h = self._features(x, training)
        layers = DENSE[self.arch]
        for i, (kernel, bias) in enumerate(layers):
            h = self._dense(h, kernel, bias, first=i == 0)
            if i < len(layers) - 1:
                h = tf.nn.relu(h)
        return tf.nn.softmax(h) if self.variant == "probs_as_logits" else h

    def __call__(self, x) -> tf.Tensor:
        return self.logits(x, training=False)

    def loss(self, logits, labels) -> tf.Tensor:
        if self.variant == "softmax_twice":
            logits = tf.nn.softmax(logits)
        if self.variant == "label_smoothing":
            labels = labels * (1 - LABEL_SMOOTHING) + LABEL_SMOOTHING / NUM_CLASSES
        xent = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.reduce_sum(xent) if self.variant == "sum_loss" else tf.reduce_mean(xent)

    def train_step(self, x, y) -> tf.Tensor:
        """One update on the batch (x, y); returns the batch's loss before the update."""
        return (self._step if self.variant == "new_optimizer" else self._compiled_step)(x, y)

    def _step(self, x, y) -> tf.Tensor:
        variables = list(self.trainable_variables)
        with tf.GradientTape() as tape:
            loss = self.loss(self.logits(x, training=True), y)
        # Dense gradients: `reordered_sum`'s gather gives IndexedSlices, which Keras' Adam would update sparsely.
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        optimizer = self.make_optimizer() if self.variant == "new_optimizer" else self.optimizer
        optimizer.apply_gradients(zip(grads, variables))
        self.step.assign_add(1)
        return loss
