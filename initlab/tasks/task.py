"""The Task bundle, and make_task: a task from your own arrays."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import jax
import numpy as np

from initlab.models import PureModel, mlp
from initlab.tasks.losses import (
    _LOSS_FNS,
    LOSSES,
    LossFn,
    _classification_metrics,
    _regression_metrics,
    correct,
)

Kind = Literal["classification", "regression"]


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
      augment: ``augment(key, x) -> x`` applied to every training minibatch
        with the restart's augmentation key for that step (None: no
        augmentation); pure JAX, shape-preserving. Evaluation never augments.

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
    augment: Callable[[jax.Array, jax.Array], jax.Array] | None = None

    def __post_init__(self) -> None:
        # However a Task is built (make_task, a built-in, dataclasses.replace),
        # data that would train into NaN or index out of range is refused.
        _check_task(self)


def _check_task(t: Task) -> None:
    where = f"Task {t.name!r}"
    if t.kind not in ("classification", "regression"):
        raise ValueError(
            f"{where}: kind must be 'classification' or 'regression'; got {t.kind!r}."
        )
    for split in ("train", "test"):
        x, y = getattr(t, f"x_{split}"), getattr(t, f"y_{split}")
        for name, a in ((f"x_{split}", x), (f"y_{split}", y)):
            if not isinstance(a, np.ndarray):
                raise TypeError(
                    f"{where}: {name} must be a numpy array; got {type(a).__name__}."
                )
        if x.ndim < 2 or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"{where}: x_{split} must be float (N, features...); got dtype "
                f"{x.dtype}, shape {x.shape}."
            )
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(
                f"{where}: x_{split} has {len(x)} examples and y_{split} {len(y)}; "
                "they must match and not be empty."
            )
        if not np.all(np.isfinite(x)):
            bad = int(np.sum(~np.isfinite(x)))
            raise ValueError(f"{where}: x_{split} has {bad} non-finite value(s).")
        if t.kind == "classification":
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(
                    f"{where}: y_{split} must be int labels (N,); got dtype "
                    f"{y.dtype}, shape {y.shape}."
                )
            n = t.num_classes
            if not isinstance(n, int) or isinstance(n, bool) or n < 2:
                raise ValueError(
                    f"{where}: num_classes must be an int >= 2; got {n!r}."
                )
            if y.min() < 0 or y.max() >= n:
                raise ValueError(
                    f"{where}: y_{split} has labels in [{y.min()}, {y.max()}], "
                    f"outside [0, {n}) for num_classes={n}."
                )
        else:
            if y.ndim != 2 or not np.issubdtype(y.dtype, np.floating):
                raise ValueError(
                    f"{where}: regression y_{split} must be float (N, out); got "
                    f"dtype {y.dtype}, shape {y.shape}."
                )
            if not np.all(np.isfinite(y)):
                bad = int(np.sum(~np.isfinite(y)))
                raise ValueError(f"{where}: y_{split} has {bad} non-finite value(s).")
    if t.augment is not None and not callable(t.augment):
        raise TypeError(
            f"{where}: augment must be a function augment(key, x) -> x; got "
            f"{type(t.augment).__name__}."
        )
    if t.x_train.shape[1:] != t.x_test.shape[1:]:
        raise ValueError(
            f"{where}: x_train and x_test feature shapes differ: "
            f"{t.x_train.shape[1:]} vs {t.x_test.shape[1:]}."
        )


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
    augment: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
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
      augment: ``augment(key, x_batch) -> x_batch`` for training minibatches
        (see :mod:`initlab.tasks.augment`), or None.

    Returns:
      the task.

    Raises:
      ValueError: unknown kind or loss, mismatched lengths or feature shapes,
        empty splits, non-integer or out-of-range labels.
      TypeError: a loss or model that is neither a name nor a callable.

    Example:
      >>> x = np.random.default_rng(0).normal(size=(1000, 2)).astype(np.float32)
      >>> y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)
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
        augment=augment,
    )
