"""Offline datasets bundled with their loss, metrics, model and training defaults.

A :class:`Task` holds numpy arrays (float32 inputs; int32 labels or float32
targets) and pure JAX functions of ``(outputs, targets)``. Nothing here
downloads: ``digits`` ships with scikit-learn, ``mnist1d`` is regenerated
locally, the rest are synthetic with fixed seeds.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import math
import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from initlab.models import PureModel, mlp

Kind = Literal["classification", "regression"]
LossFn = Callable[[jax.Array, jax.Array], jax.Array]
LOSSES = ("cross_entropy", "mse", "half_sse")


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """A dataset with what is needed to train and score a model on it.

    Attributes:
      name: label.
      x_train, y_train, x_test, y_test: read-only numpy arrays; inputs float32
        (N, ...), labels int32 (N,) for classification, targets float32 (N, out)
        for regression.
      kind: "classification" or "regression".
      num_classes: classes (classification) or None.
      loss: ``loss(outputs (B, out), targets (B, ...)) -> scalar``, pure JAX.
      metrics: ``metrics(outputs, targets) -> {"loss": ..., ...}`` of scalars;
        classification adds "accuracy", regression "r2".
      default_model: ``() -> PureModel``, the reference model for this task.
      defaults: training defaults: batch_size, steps, learning_rate,
        eval_every, optimizer (an optax name).
      correct: ``correct(outputs, targets) -> (B,) bool`` (classification), else
        None. With one output unit an output is correct on the right side of
        0.5; with several, when its argmax is the label.

    Example:
      >>> task = initlab.get_task("digits")
      >>> model = task.default_model()
      >>> params = model.init(jax.random.key(0))
      >>> task.metrics(model.apply(params, task.x_test), task.y_test)["accuracy"]
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    kind: Kind
    num_classes: int | None
    loss: LossFn
    metrics: Callable[[jax.Array, jax.Array], dict[str, jax.Array]]
    default_model: Callable[[], PureModel]
    defaults: Mapping[str, Any]
    correct: Callable[[jax.Array, jax.Array], jax.Array] | None = None


# --------------------------------------------------------------------------
# Losses and metrics: pure functions of (outputs (B, out), targets).


def _like_outputs(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Targets (B,) against outputs (B, 1) -> (B, 1); shapes must then agree."""
    targets = jnp.asarray(targets, outputs.dtype)
    if targets.shape != outputs.shape and targets.size == outputs.size:
        targets = targets.reshape(outputs.shape)
    if targets.shape != outputs.shape:
        raise ValueError(
            f"targets of shape {targets.shape} do not match outputs of shape "
            f"{outputs.shape}."
        )
    return targets


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of logits (B, C) against int labels (B,).

    Example:
      >>> cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3]))   # log 4
      Array(1.3862944, dtype=float32)
    """
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(log_probs, labels[:, None].astype(jnp.int32), -1)
    return -jnp.mean(picked)


def mse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean over examples and outputs of ``(y - t)^2``.

    Example:
      >>> mse(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0]))
      Array(2.5, dtype=float32)
    """
    return jnp.mean((outputs - _like_outputs(outputs, targets)) ** 2)


def half_sse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """``1/2 * sum over the batch (and outputs) of (y - t)^2``, the classic loss.

    A *sum*, not a mean: the learning rate of the classic XOR experiments is per
    this sum (Rumelhart et al. 1986).

    Example:
      >>> half_sse(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0]))
      Array(2.5, dtype=float32)
    """
    return 0.5 * jnp.sum((outputs - _like_outputs(outputs, targets)) ** 2)


_LOSS_FNS: dict[str, LossFn] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "half_sse": half_sse,
}


def correct(outputs: jax.Array, labels: jax.Array, threshold: float = 0.5):
    """Per-example correctness (B,) bool.

    One output unit: the output is on the label's side of ``threshold``
    (label 1 above, label 0 at or below); several: argmax equals the label.

    Example:
      >>> correct(jnp.array([[0.7], [0.7]]), jnp.array([1, 0]))
      Array([ True, False], dtype=bool)
    """
    labels = jnp.asarray(labels).reshape(outputs.shape[0])
    if outputs.shape[-1] == 1:
        return (outputs[:, 0] > threshold) == (labels == 1)
    return jnp.argmax(outputs, axis=-1) == labels


def _classification_metrics(loss: LossFn, solved: bool):
    def metrics(outputs: jax.Array, labels: jax.Array) -> dict[str, jax.Array]:
        ok = correct(outputs, labels)
        out = {"loss": loss(outputs, labels), "accuracy": jnp.mean(ok)}
        if solved:
            out["solved"] = jnp.all(ok).astype(jnp.float32)
        return out

    return metrics


def _regression_metrics(loss: LossFn):
    def metrics(outputs: jax.Array, targets: jax.Array) -> dict[str, jax.Array]:
        t = _like_outputs(outputs, targets)
        sse = jnp.sum((outputs - t) ** 2)
        sst = jnp.sum((t - jnp.mean(t, axis=0, keepdims=True)) ** 2)
        return {"loss": loss(outputs, targets), "r2": 1.0 - sse / sst}

    return metrics


# --------------------------------------------------------------------------
# Building a task from arrays.


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)  # a private copy: cached arrays are shared between calls
    a.flags.writeable = False
    return a


def _as_inputs(x: Any, what: str) -> np.ndarray:
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or x.ndim < 2:
        raise ValueError(
            f"make_task: {what} must be a numeric array (N, features...) with at "
            f"least 2 axes; got dtype {x.dtype}, shape {x.shape}. Reshape a 1-D "
            "input to (N, 1)."
        )
    if np.iscomplexobj(x) or not np.all(np.isfinite(x)):
        raise ValueError(f"make_task: {what} must be real and finite.")
    return x.astype(np.float32)


def _as_labels(y: Any, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"make_task: classification {what} must be 1-D int labels (N,); got "
            f"shape {y.shape}. One-hot labels: pass y.argmax(-1)."
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise ValueError(
                f"make_task: classification {what} must be integer labels; got "
                f"dtype {y.dtype}."
            )
    if y.size and y.min() < 0:
        raise ValueError(f"make_task: {what} has negative labels ({y.min()}).")
    return y.astype(np.int32)


def _as_targets(y: Any, what: str) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.number) or y.ndim not in (1, 2):
        raise ValueError(
            f"make_task: regression {what} must be numeric (N,) or (N, out); got "
            f"dtype {y.dtype}, shape {y.shape}."
        )
    return (y[:, None] if y.ndim == 1 else y).astype(np.float32)


def make_task(
    name: str,
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    *,
    kind: Kind,
    loss: Literal["cross_entropy", "mse", "half_sse"] | LossFn | None = None,
    model: PureModel | Callable[[], PureModel] | None = None,
    num_classes: int | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Task:
    """A :class:`Task` from your own arrays.

    Args:
      name: label.
      x_train, x_test: inputs (N, features...), cast to float32.
      y_train, y_test: classification: int labels (N,) in [0, num_classes);
        regression: targets (N,) or (N, out), cast to float32 (N, out).
      kind: "classification" or "regression".
      loss: "cross_entropy" (default for classification; logits (B, C)),
        "mse" (default for regression), "half_sse" (1/2 sum of squares), or a
        callable ``loss(outputs, targets) -> scalar``.
      model: a PureModel or ``() -> PureModel``; default an MLP (64, 64) with
        ReLU over the flattened inputs, num_classes outputs for cross-entropy,
        one for a squared loss on labels, ``out`` for regression.
      num_classes: default ``max label + 1`` over train and test.
      defaults: overrides of the training defaults (batch_size 128, steps 1000,
        learning_rate 0.1, eval_every 100, optimizer "sgd").

    Returns:
      the task.

    Raises:
      ValueError: unknown kind or loss, mismatched lengths or feature shapes,
        empty splits, non-integer or out-of-range labels.
      TypeError: a loss or model that is neither a name nor a callable.

    Example:
      >>> task = make_task("blobs", x[:800], y[:800], x[800:], y[800:],
      ...                  kind="classification")
    """
    if kind not in ("classification", "regression"):
        raise ValueError(
            f"make_task: kind must be 'classification' or 'regression'; got {kind!r}."
        )
    xs = [_as_inputs(x_train, "x_train"), _as_inputs(x_test, "x_test")]
    if xs[0].shape[1:] != xs[1].shape[1:]:
        raise ValueError(
            f"make_task: x_train and x_test must have the same feature shape; got "
            f"{xs[0].shape} and {xs[1].shape}."
        )
    convert = _as_labels if kind == "classification" else _as_targets
    ys = [convert(y_train, "y_train"), convert(y_test, "y_test")]
    for split, x, y in zip(("train", "test"), xs, ys, strict=True):
        if len(x) != len(y):
            raise ValueError(
                f"make_task: x_{split} has {len(x)} examples but y_{split} has "
                f"{len(y)}; they must match."
            )
        if len(x) == 0:
            raise ValueError(f"make_task: the {split} split is empty.")
    if kind == "regression" and ys[0].shape[1:] != ys[1].shape[1:]:
        raise ValueError(
            f"make_task: y_train and y_test shapes differ after the sample axis: "
            f"{ys[0].shape} vs {ys[1].shape}."
        )

    if loss is None:
        loss = "cross_entropy" if kind == "classification" else "mse"
    if isinstance(loss, str):
        if loss not in _LOSS_FNS:
            raise ValueError(
                f"make_task: unknown loss {loss!r}; allowed: {', '.join(LOSSES)} or "
                "a callable loss(outputs, targets) -> scalar."
            )
        if loss == "cross_entropy" and kind == "regression":
            raise ValueError("make_task: cross_entropy needs kind='classification'.")
        loss_name, loss_fn = loss, _LOSS_FNS[loss]
    elif callable(loss):
        loss_name, loss_fn = "custom", loss
    else:
        raise TypeError(
            f"make_task: loss must be a name ({', '.join(LOSSES)}) or a callable; "
            f"got {type(loss).__name__}."
        )

    if kind == "classification":
        seen = int(max(ys[0].max(), ys[1].max())) + 1
        if num_classes is None:
            num_classes = max(seen, 2)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int):
            raise TypeError(
                f"make_task: num_classes must be an int; got {num_classes!r}."
            )
        if seen > num_classes:
            raise ValueError(
                f"make_task: labels go up to {seen - 1} but num_classes is "
                f"{num_classes}; labels must lie in [0, num_classes)."
            )
        if loss_name == "cross_entropy":
            out_features = num_classes
        elif num_classes == 2:
            out_features = 1  # a squared loss on 0/1 targets: one output unit
        else:
            raise ValueError(
                f"make_task: loss {loss_name!r} on {num_classes} classes needs "
                "one-hot targets; use loss='cross_entropy' (or kind='regression' "
                "with one-hot targets)."
            )
        metrics = _classification_metrics(loss_fn, solved=False)
        correct_fn = correct
    else:
        num_classes = None
        out_features = ys[0].shape[1]
        metrics = _regression_metrics(loss_fn)
        correct_fn = None

    in_features = math.prod(xs[0].shape[1:])
    if model is None:

        def default_model() -> PureModel:
            return mlp((64, 64), in_features, out_features)

    elif isinstance(model, PureModel):

        def default_model() -> PureModel:
            return model

    elif callable(model):
        default_model = model
    else:
        raise TypeError(
            f"make_task: model must be a PureModel or a () -> PureModel callable; "
            f"got {type(model).__name__}."
        )

    all_defaults = dict(
        batch_size=128, steps=1000, learning_rate=0.1, eval_every=100, optimizer="sgd"
    )
    all_defaults.update(defaults or {})
    return Task(
        name=name,
        x_train=_readonly(xs[0]),
        y_train=_readonly(ys[0]),
        x_test=_readonly(xs[1]),
        y_test=_readonly(ys[1]),
        kind=kind,
        num_classes=num_classes,
        loss=loss_fn,
        metrics=metrics,
        default_model=default_model,
        defaults=MappingProxyType(all_defaults),
        correct=correct_fn,
    )


# --------------------------------------------------------------------------
# The built-in tasks.


def xor() -> Task:
    """The four XOR points; a 2-2-1 sigmoid net; ``loss = 1/2 sum_4 (y - t)^2``.

    Train = test = {(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0}. The default model
    has sigmoid hidden *and* output units; the loss is half the *sum* (not the
    mean) of squared errors over the four examples; defaults are full-batch
    (batch_size 4) gradient descent (optimizer "sgd") at learning rate 0.5 for
    10 000 steps. Metrics: loss, accuracy (outputs on the correct side of 0.5)
    and solved (1.0 when all four are). These are the settings of the classic
    restart figures (about 17 % stuck for weights and biases from U(-1, 1));
    zero biases or a mean instead of the sum change the rates a lot.

    Example:
      >>> task = initlab.get_task("xor")
      >>> model = task.default_model()
      >>> params = model.init(key, initlab.random_uniform(-1.0, 1.0),
      ...                     initlab.random_uniform(-1.0, 1.0))

    References:
      Rumelhart, Hinton & Williams, "Learning internal representations by error
      propagation", 1986.
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0], np.int32)
    task = make_task(
        "xor",
        x,
        y,
        x,
        y,
        kind="classification",
        loss="half_sse",
        model=lambda: mlp((2,), 2, 1, "sigmoid", "sigmoid"),
        defaults=dict(batch_size=4, steps=10_000, learning_rate=0.5, eval_every=100),
    )
    return dataclasses.replace(
        task, metrics=_classification_metrics(half_sse, solved=True)
    )


def _positive(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive int; got {value!r}.")
    return value


def _nonnegative(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where}: {what} must be a number >= 0; got {value!r}.")
    return float(value)


def spirals(
    n_points: int = 200, noise: float = 0.05, turns: float = 1.5, seed: int = 0
) -> Task:
    """Two interleaved spirals (binary classification in 2-D).

    Each class is one arm: angle ``theta = turns * 2 pi * sqrt(u)``, ``u ~
    U(0, 1)``, radius ``theta / (turns * 2 pi)``, class 1 rotated by pi, plus
    Gaussian noise of std ``noise``. Train and test have ``n_points`` per class
    each, drawn from ``np.random.default_rng(seed)``.

    Args:
      n_points: points per class in each split.
      noise: std of the added Gaussian noise.
      turns: turns of each arm.
      seed: numpy seed (the data is fixed by it).

    Returns:
      the task: x float32 (2 n_points, 2), labels int32; default model MLP
      2-64-64-2 ReLU with cross-entropy.

    Raises:
      ValueError: non-positive n_points or turns, negative noise.

    Example:
      >>> task = initlab.get_task("spirals", n_points=100, noise=0.1)
    """
    _positive(n_points, "n_points", "spirals")
    noise = _nonnegative(noise, "noise", "spirals")
    if _nonnegative(turns, "turns", "spirals") == 0:
        raise ValueError("spirals: turns must be > 0.")
    rng = np.random.default_rng(seed)

    def draw() -> tuple[np.ndarray, np.ndarray]:
        theta = turns * 2 * np.pi * np.sqrt(rng.uniform(size=(2, n_points)))
        radius = theta / (turns * 2 * np.pi)
        phase = np.pi * np.arange(2)[:, None]
        x = np.stack(
            [radius * np.cos(theta + phase), radius * np.sin(theta + phase)], -1
        ).reshape(-1, 2)
        x = x + noise * rng.standard_normal(x.shape)
        return x, np.repeat(np.arange(2), n_points)

    (x_tr, y_tr), (x_te, y_te) = draw(), draw()
    return make_task(
        "spirals",
        x_tr,
        y_tr,
        x_te,
        y_te,
        kind="classification",
        model=lambda: mlp((64, 64), 2, 2),
        defaults=dict(batch_size=64, steps=3000, learning_rate=0.1, eval_every=100),
    )


@functools.lru_cache(maxsize=2)
def _digits_arrays(test_size: float, seed: int):
    from sklearn.datasets import load_digits  # lazy: sklearn is slow to import
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    mean, std = x_tr.mean(0), x_tr.std(0)
    std = np.where(std > 0, std, 1.0)  # border pixels are always 0 in train
    return (x_tr - mean) / std, y_tr, (x_te - mean) / std, y_te


def digits(test_size: float = 0.3, seed: int = 0) -> Task:
    """scikit-learn's 8x8 digits (1797 images, bundled, no download).

    A stratified split (``train_test_split(test_size, stratify=y,
    random_state=seed)``), standardized per pixel with the *train* mean and std
    (pixels constant in train are only centred). Inputs float32 (N, 64), labels
    int32 in 0..9; default model MLP 64-128-128-10 ReLU with softmax
    cross-entropy; defaults batch 128, lr 0.1, SGD, 1000 steps.

    Args:
      test_size: fraction held out, in (0, 1).
      seed: the split's random_state.

    Raises:
      ValueError: test_size outside (0, 1).

    Example:
      >>> task = initlab.get_task("digits")
      >>> task.x_train.shape
      (1257, 64)

    References:
      Alpaydin & Kaynak, UCI optical recognition of handwritten digits, 1998.
    """
    if not (isinstance(test_size, float) and 0 < test_size < 1):
        raise ValueError(
            f"digits: test_size must be a float in (0, 1); got {test_size!r}."
        )
    x_tr, y_tr, x_te, y_te = _digits_arrays(test_size, seed)
    return make_task(
        "digits",
        x_tr,
        y_tr,
        x_te,
        y_te,
        kind="classification",
        model=lambda: mlp((128, 128), 64, 10),
        defaults=dict(batch_size=128, steps=1000, learning_rate=0.1, eval_every=100),
    )


@functools.lru_cache(maxsize=2)
def _mnist1d_arrays(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Lazy: importing mnist1d pulls in matplotlib and requests.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    # make_dataset reseeds NumPy's and Python's global RNGs: put them back.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([data["x"], data["x_test"]])
    y = np.concatenate([data["y"], data["y_test"]])
    return x, y


def mnist1d(
    n_train: int = 4000, n_test: int = 1000, seed: int = 42, channels: bool = False
) -> Task:
    """MNIST-1D (Greydanus 2020), regenerated locally with ``mnist1d.make_dataset``.

    ``n_train + n_test`` examples (rounded up to a multiple of 10: one tenth per
    class) are generated with the package's default arguments and ``seed``; the
    first ``n_train`` (in the package's shuffled order) are the training set,
    the next ``n_test`` the test set. The defaults reproduce the package's own
    4000 / 1000 split; other sizes are a different draw, not a subset (the
    generator's sequence depends on the number of samples). Length-40 signals,
    standardized by the package; labels int32 0..9. Default model MLP
    40-100-100-10 ReLU; defaults batch 100, lr 0.1, SGD, 3000 steps. The arrays
    are cached; NumPy's and Python's global random states are left as they were.

    Args:
      n_train, n_test: split sizes.
      seed: the generator's seed (the package's default is 42).
      channels: x as (N, 40, 1) for CNN1D / RNN models instead of (N, 40).

    Raises:
      ValueError: non-positive sizes.

    Example:
      >>> task = initlab.get_task("mnist1d", channels=True)
      >>> model = initlab.models.cnn1d(40, 1, (32, 32), 10)

    References:
      Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024.
    """
    _positive(n_train, "n_train", "mnist1d")
    _positive(n_test, "n_test", "mnist1d")
    total = -(-(n_train + n_test) // 10) * 10
    x, y = _mnist1d_arrays(total, seed)
    if channels:
        x = x[..., None]
    return make_task(
        "mnist1d",
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + n_test],
        y[n_train : n_train + n_test],
        kind="classification",
        model=lambda: mlp((100, 100), 40, 10),
        defaults=dict(batch_size=100, steps=3000, learning_rate=0.1, eval_every=100),
    )


def teacher(
    in_features: int = 10,
    hidden: int = 32,
    n_train: int = 1000,
    n_test: int = 1000,
    noise: float = 0.1,
    seed: int = 0,
) -> Task:
    """Regression on a planted random teacher: a one-hidden-layer tanh MLP.

    ``x ~ N(0, I)``; teacher weights ``W1 ~ N(0, 1/in_features)``, ``W2 ~
    N(0, 1/hidden)``, biases 0; the teacher's outputs are scaled to unit std on
    the training set, then ``noise * N(0, 1)`` is added (so the best reachable
    r2 is about ``1 / (1 + noise^2)``). Targets float32 (N, 1); loss MSE;
    metrics loss and r2; default student MLP in-64-64-1 tanh.

    Args:
      in_features, hidden: teacher sizes.
      n_train, n_test: split sizes.
      noise: label noise std (relative to the unit-std signal).
      seed: numpy seed fixing teacher and data.

    Raises:
      ValueError: non-positive sizes or negative noise.

    Example:
      >>> task = initlab.get_task("teacher", noise=0.0)
    """
    for what, v in (("in_features", in_features), ("hidden", hidden),
                    ("n_train", n_train), ("n_test", n_test)):  # fmt: skip
        _positive(v, what, "teacher")
    noise = _nonnegative(noise, "noise", "teacher")
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((in_features, hidden)) / np.sqrt(in_features)
    w2 = rng.standard_normal((hidden, 1)) / np.sqrt(hidden)
    x = rng.standard_normal((n_train + n_test, in_features))
    signal = np.tanh(x @ w1) @ w2
    signal = signal / signal[:n_train].std()
    y = signal + noise * rng.standard_normal(signal.shape)
    return make_task(
        "teacher",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        kind="regression",
        model=lambda: mlp((64, 64), in_features, 1, "tanh"),
        defaults=dict(batch_size=64, steps=2000, learning_rate=0.05, eval_every=100),
    )


TASKS: Mapping[str, Callable[..., Task]] = {
    "xor": xor,
    "spirals": spirals,
    "digits": digits,
    "mnist1d": mnist1d,
    "teacher": teacher,
}


def get_task(name: str, **options: Any) -> Task:
    """A built-in task by name, with its options.

    Args:
      name: one of ``TASKS`` ("xor", "spirals", "digits", "mnist1d", "teacher").
      **options: keyword arguments of that task's function.

    Returns:
      the task.

    Raises:
      ValueError: an unknown name (with the closest match) or option.

    Example:
      >>> task = initlab.get_task("mnist1d", n_train=1000, n_test=500)
    """
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown task {name!r}.{hint} Valid names: {', '.join(TASKS)}. "
            "For your own data use initlab.make_task(...)."
        )
    allowed = inspect.signature(TASKS[name]).parameters
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"get_task({name!r}): unknown option(s) {unknown}; allowed: "
            f"{list(allowed) or 'none'}."
        )
    return TASKS[name](**options)
