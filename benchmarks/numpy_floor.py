"""The NumPy floor: the same softmax-regression step with no framework at all.

Forward pass, loss, hand-written gradient and update in float32 NumPy, one batch of the
shared batch plan per step: what a step costs when nothing but the arithmetic is left. The
batches are gathered into one `[steps, batch, 784]` array before the clock starts, as the
whole-epoch idioms stack theirs: a per-step gather of 100 random rows of the 172 MB training
set is memory-latency bound, added 0.05 to 0.1 ms a step, and was the part of the step that
varied most with the load of the shared VM. The benchmark suite reports every
style as a ratio against this floor. It honours the same `train(data, config) -> RunResult`
contract, so it trains to the TF1 weights (to float32 rounding) and its accuracy is checked
like any style's.

Stages line up with the style modules (`# %% stage: ...`); only the loss stage has more to
say, because the gradient that TensorFlow derives is written out here.

A step allocates no array: every intermediate (logits, the softmax, the gradients, Adam's
temporaries) lives in a `Workspace` allocated once per run, and NumPy's ufuncs and `matmul`
write into it (`out=`), so the floor times arithmetic, not the allocator. The softmax's
exponentials are computed once per step and serve both the loss and the gradient. Only the
`tutorial` loss form, which the suite never times, takes the allocating path that follows
TensorFlow's chain rule (`loss_and_logit_grad`). `SETTINGS` states all this for the reports.

NumPy's BLAS runs on one thread up to batch 100 and on every core above it. A batch-100 step
is about 3 MFLOP, too little to split: two threads were no faster here (0.17 against 0.18
ms/step, with three times the spread), and when another process shares the cores OpenBLAS'
spin-waiting threads made steps 10 to 50 times slower and erratic. From batch 1,000 the
matrix products are big enough to share: two threads took 1.0 against 1.3 ms a step at
batch 1,000 and 12 against 17 at 10,000, and TensorFlow uses both cores too; a one-thread
floor would be no floor there.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from tfparity.compat import (
    BatchPlan,
    Datasets,
    RunResult,
    TrainConfig,
    accuracy,
    initial_weights,
    iterate_batches,
    make_batch_plan,
)
from tfparity.compat.timing import StepClock

STYLE = "numpy"
SINGLE_THREAD_MAX_BATCH = 100  # BLAS on one thread up to this batch size, on every core above it (see above)
# What the floor is, in words, for the reports' context lines (conftest records `settings()` in the suite's JSON).
SETTINGS = (
    f"float32 throughout; BLAS on 1 thread up to batch {SINGLE_THREAD_MAX_BATCH} and on every core above "
    "(threadpoolctl); every array a step writes allocated once per run (no per-step allocation); "
    "batches gathered into one array before the clock starts"
)


def settings() -> str:
    """SETTINGS and the BLAS NumPy calls here: its library, version, CPU kernels and default threads."""
    from threadpoolctl import threadpool_info

    blas = [
        f"{pool['internal_api']} {pool.get('version') or '?'} ({pool.get('architecture') or '?'} kernels, "
        f"{pool['num_threads']} threads by default)"
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    ]
    return f"{SETTINGS}; BLAS: {', '.join(blas) or 'not found by threadpoolctl'}"


def blas_threads(batch_size: int) -> int | None:
    """The BLAS thread limit for a batch size: 1, or None for the library's default (every core)."""
    return 1 if batch_size <= SINGLE_THREAD_MAX_BATCH else None


# %% stage: data
def make_plan(data: Datasets, config: TrainConfig) -> BatchPlan:
    if config.device != "cpu":
        raise ValueError(f"the NumPy floor runs on the CPU only, got device={config.device!r}")
    return make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)


def make_inputs(data: Datasets, config: TrainConfig) -> tuple[BatchPlan, np.ndarray, np.ndarray]:
    """The shared batch plan, every batch gathered up front: images [steps, batch, 784], labels [steps, batch, 10]."""
    plan = make_plan(data, config)
    images, labels = plan.gather(data.train.images, data.train.one_hot)
    return plan, images, labels


# %% stage: model
def build_model(init: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value.copy() for name, value in init.items()}


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return x @ params["W"] + params["b"]


class Workspace:
    """Every array a step writes, allocated once per run for its batch size: the steps allocate none."""

    def __init__(self, batch_size: int, params: dict[str, np.ndarray]):
        shape = (batch_size, params["b"].shape[0])
        self.logits = np.empty(shape, np.float32)  # then shifted by the row maxima
        self.probs = np.empty(shape, np.float32)  # exp(shifted), then the softmax, then d loss / d logits
        self.scratch = np.empty(shape, np.float32)  # log-probabilities times labels
        self.row = np.empty((batch_size, 1), np.float32)  # the row maxima, then log of the row sums
        self.row_sum = np.empty((batch_size, 1), np.float32)
        # The same two as vectors, for the reductions' `out`: made once, as a view made per step would be an object.
        self.row_vector, self.row_sum_vector = self.row[:, 0], self.row_sum[:, 0]
        self.grads = {name: np.empty_like(value) for name, value in params.items()}
        self.inv_batch = np.float32(1) / np.float32(batch_size)  # the mean's gradient, multiplied in as TF does


def forward_into(work: Workspace, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """`forward`, written into `work.logits`."""
    np.matmul(x, params["W"], out=work.logits)
    work.logits += params["b"]
    return work.logits


# %% stage: loss
def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def loss_and_logit_grad(logits: np.ndarray, labels: np.ndarray, form: str) -> tuple[np.float32, np.ndarray]:
    """The loss of `form` and its gradient with respect to the logits.

    The stable forms use the closed form (softmax - labels), scaled by 1/batch for `mean`.
    `tutorial` follows TensorFlow's chain rule through `log(softmax)` instead, so that a
    probability that underflows to 0 turns into NaN here exactly as it does in TF1.
    """
    probs = softmax(logits)
    if form == "tutorial":
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = -np.sum(labels * np.log(probs), dtype=np.float32)
            grad_probs = -labels / probs
            grad = probs * (grad_probs - np.sum(grad_probs * probs, axis=1, keepdims=True))
        return loss, grad.astype(np.float32)
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    per_example = -np.sum(labels * log_probs, axis=1)
    grad = probs - labels
    if form == "mean":
        return np.float32(per_example.mean(dtype=np.float32)), grad / np.float32(logits.shape[0])
    return np.float32(per_example.sum(dtype=np.float32)), grad


def loss_and_logit_grad_into(work: Workspace, labels: np.ndarray, form: str) -> np.float32:
    """The stable forms' loss, from `work.logits`; their gradient (softmax - labels, times 1/batch for `mean`)
    into `work.probs`. One max, one exp and one sum per row serve both."""
    z = work.logits
    np.max(z, axis=1, out=work.row_vector)
    z -= work.row  # shifted logits
    np.exp(z, out=work.probs)
    np.sum(work.probs, axis=1, out=work.row_sum_vector)
    np.log(work.row_sum, out=work.row)
    np.subtract(z, work.row, out=work.scratch)  # log-probabilities
    loss = -np.float32(np.multiply(work.scratch, labels, out=work.scratch).sum(dtype=np.float32))
    work.probs /= work.row_sum
    work.probs -= labels
    if form == "mean":
        work.probs *= work.inv_batch
        return np.float32(loss / np.float32(z.shape[0]))
    return loss


# %% stage: optimizer
class Adam:
    """TF1 `AdamOptimizer`'s update (epsilon outside the square root, bias correction in the step size), in place."""

    def __init__(self, config: TrainConfig, params: dict[str, np.ndarray]):
        self.config = config
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.scratch = {k: (np.empty_like(v), np.empty_like(v)) for k, v in params.items()}
        self.t = 0

    def apply(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; p -= step_size m / (sqrt(v) + eps): each product in
        the order the expressions read, written into the two scratch arrays of the variable."""
        c = self.config
        self.t += 1
        step_size = np.float32(c.learning_rate * np.sqrt(1 - c.adam_beta2**self.t) / (1 - c.adam_beta1**self.t))
        b1, b2 = np.float32(c.adam_beta1), np.float32(c.adam_beta2)
        for name, grad in grads.items():
            m, v, (a, b) = self.m[name], self.v[name], self.scratch[name]
            m *= b1
            m += np.multiply(1 - b1, grad, out=a)
            v *= b2
            np.multiply(1 - b2, grad, out=a)
            v += np.multiply(a, grad, out=a)
            np.sqrt(v, out=b)
            b += np.float32(c.adam_epsilon)
            np.multiply(step_size, m, out=a)
            params[name] -= np.divide(a, b, out=a)


class SGD:
    def __init__(self, config: TrainConfig, params: dict[str, np.ndarray]):
        self.learning_rate = np.float32(config.learning_rate)

    def apply(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """p -= lr g, with lr g written over the gradient (the step's own buffer)."""
        for name, grad in grads.items():
            grad *= self.learning_rate
            params[name] -= grad


def make_optimizer(config: TrainConfig, params: dict[str, np.ndarray]) -> SGD | Adam:
    return SGD(config, params) if config.optimizer == "sgd" else Adam(config, params)


# %% stage: train step
def train_step(
    params: dict[str, np.ndarray],
    optimizer: SGD | Adam,
    images: np.ndarray,
    labels: np.ndarray,
    loss_form: str,
    work: Workspace | None = None,
) -> np.float32:
    """Forward, loss, backward (written out: dW = x^T dlogits, db = sum of dlogits), update.

    With a `work`space (what `train` passes), the stable loss forms allocate nothing; without one, or for the
    `tutorial` form, the step allocates its arrays as plain NumPy expressions do."""
    if work is None or loss_form == "tutorial":
        loss, grad_logits = loss_and_logit_grad(forward(params, images), labels, loss_form)
        optimizer.apply(params, {"W": images.T @ grad_logits, "b": grad_logits.sum(axis=0)})
        return loss
    forward_into(work, params, images)
    loss = loss_and_logit_grad_into(work, labels, loss_form)
    np.matmul(images.T, work.probs, out=work.grads["W"])
    np.sum(work.probs, axis=0, out=work.grads["b"])
    optimizer.apply(params, work.grads)
    return loss


# %% stage: loop
def train(data: Datasets, config: TrainConfig) -> RunResult:
    clock = StepClock()
    plan, images, labels = make_inputs(data, config)
    params = build_model(initial_weights(config))
    optimizer = make_optimizer(config, params)
    work = Workspace(config.batch_size, params)
    with threadpool_limits(limits=blas_threads(config.batch_size), user_api="blas"):
        # `train_step` is looked up at each call, so a test can wrap it; zip yields views, no copies.
        losses = clock.loop(
            lambda xs, ys: train_step(params, optimizer, xs, ys, config.loss, work), zip(images, labels, strict=True)
        )
    test_accuracy = evaluate(params, data.test.images, data.test.labels)
    return clock.result(STYLE, config, plan, params, losses, test_accuracy)


def steps_to_accuracy(data: Datasets, config: TrainConfig, target: float, every: int = 10) -> tuple[int, float] | None:
    """The first multiple of `every` steps (up to `config.steps`) whose test accuracy reaches `target`.

    Returns (steps, accuracy), or None when `config.steps` are not enough. Every style follows
    the same batch plan to the same weights, so the step count found here holds for all of them.
    """
    # Gathered step by step: up to TARGET_SEARCH_STEPS batches would not all fit in memory at once.
    batches = iterate_batches(make_plan(data, config), data.train.images, data.train.one_hot)
    params = build_model(initial_weights(config))
    optimizer = make_optimizer(config, params)
    work = Workspace(config.batch_size, params)
    with threadpool_limits(limits=blas_threads(config.batch_size), user_api="blas"):
        for step, (batch_xs, batch_ys) in enumerate(batches, start=1):
            train_step(params, optimizer, batch_xs, batch_ys, config.loss, work)
            if step % every == 0:
                reached = evaluate(params, data.test.images, data.test.labels)
                if reached >= target:
                    return step, reached
    return None


# %% stage: evaluate
def evaluate(params: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray) -> float:
    return accuracy(forward(params, images), labels)
