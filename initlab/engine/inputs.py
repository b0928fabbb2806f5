"""Inputs: initializers, optimizers and model/task checks, before anything compiles."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np
import optax

from initlab.models import PureModel
from initlab.registry import get, to_config
from initlab.tasks import Task


def _int_at_least(value, low: int, what: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or (value < low)
    ):
        raise ValueError(f"{what} must be an int >= {low}; got {value!r}.")
    return int(value)


def _positive_int(value, what: str) -> int:
    return _int_at_least(value, 1, what)


def _label(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, Mapping):
        name = x.get("name") or x.get("class_name") or "init"
        rest = {k: v for k, v in x.items() if k not in ("name", "class_name")}
        return (
            name
            if not rest
            else f"{name}({', '.join(f'{k}={v}' for k, v in rest.items())})"
        )
    return getattr(x, "name", None) or getattr(x, "__name__", None) or repr(x)


def _resolve_initializers(initializers) -> dict[str, Callable]:
    """label -> initializer, from a name, config, callable, list or dict."""
    is_config = isinstance(initializers, Mapping) and bool(
        {"name", "class_name"} & set(initializers)
    )
    if isinstance(initializers, str) or is_config:  # one initializer
        initializers = [initializers]
    if isinstance(initializers, Mapping):
        items = list(initializers.items())
    elif callable(initializers):
        items = [(_label(initializers), initializers)]
    else:
        try:
            items = [(_label(x), x) for x in initializers]
        except TypeError:
            raise TypeError(
                "initializers must be a name, a config dict, an initializer, a list "
                f"of those, or a dict label -> initializer; got {initializers!r:.80}."
            ) from None
    if not items:
        raise ValueError("initializers: give at least one initializer.")
    out = {}
    for label, x in items:
        init = get(x)
        if not callable(init):
            raise TypeError(f"initializer {label!r} is not callable: {init!r:.60}.")
        if str(label) in out:
            raise ValueError(
                f"initializer label {label!r} appears twice; give a dict "
                "{label: initializer} to tell them apart."
            )
        out[str(label)] = init
    return out


def make_optimizer(
    name: str | optax.GradientTransformation, learning_rate: float, **kwargs
) -> optax.GradientTransformation:
    """An optax optimizer by name (``"sgd"``, ``"adam"``, ...) or passed through.

    Args:
      name: any optax optimizer function name taking ``learning_rate`` first, or
        an optax ``GradientTransformation`` (returned as is).
      learning_rate: positive step size.
      **kwargs: extra arguments for the optax factory (e.g. ``momentum=0.9``).

    Raises:
      ValueError: an unknown name or a non-positive learning rate.
      TypeError: neither a name nor an optax transformation.

    Example:
      >>> opt = make_optimizer("sgd", 0.1, momentum=0.9)
    """
    if isinstance(name, optax.GradientTransformation):
        return name
    if not isinstance(name, str):
        raise TypeError(
            "optimizer must be an optax GradientTransformation (e.g. optax.sgd(0.1)) "
            f"or an optax name such as 'sgd'; got {type(name).__name__}."
        )
    if isinstance(learning_rate, bool) or not (
        isinstance(learning_rate, int | float) and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be > 0; got {learning_rate!r}.")
    factory = getattr(optax, name, None)
    valid = sorted(OPTIMIZERS)
    if name not in OPTIMIZERS or factory is None:
        import difflib

        close = difflib.get_close_matches(name, valid, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown optimizer {name!r}.{hint} Valid: {', '.join(valid)}."
        )
    return _named_optimizer(name, float(learning_rate), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=32)
def _named_optimizer(name: str, learning_rate: float, kwargs: tuple):
    # One object per (name, lr, kwargs), so repeated runs reuse the compiled loop.
    return getattr(optax, name)(learning_rate, **dict(kwargs))


OPTIMIZERS = (
    "sgd", "adam", "adamw", "adagrad", "adadelta", "adamax", "adabelief", "lamb",
    "lars", "lion", "nadam", "nadamw", "noisy_sgd", "novograd", "radam", "rmsprop",
    "sm3", "yogi", "fromage", "lamb", "sign_sgd", "adan", "amsgrad", "polyak_sgd",
)  # fmt: skip


def _describe(init) -> Any:
    if isinstance(init, str):
        return init
    try:
        return to_config(init)
    except TypeError:
        return repr(init)


def _check_shapes(task: Task, model: PureModel) -> list[str]:
    """Catches a model/data mismatch with abstract evaluation (nothing compiles).

    Returns:
      The names of the metrics a run records ("train_loss", "test_accuracy"...).
    """
    try:
        params = jax.eval_shape(model.init, jax.random.key(0))
        x = jax.ShapeDtypeStruct((2, *task.x_train.shape[1:]), task.x_train.dtype)
        out = jax.eval_shape(model.apply, params, x)
        y = jax.ShapeDtypeStruct((2, *task.y_train.shape[1:]), task.y_train.dtype)
        jax.eval_shape(task.loss, out, y)
        names = list(jax.eval_shape(task.metrics, out, y))
    except Exception as err:  # noqa: BLE001 - re-raised with the context a user needs
        raise ValueError(
            f"model {model.name!r} does not fit task {task.name!r}: inputs have shape "
            f"{task.x_train.shape[1:]} per example ({task.kind}"
            f"{f', {task.num_classes} classes' if task.num_classes else ''}). "
            f"JAX said: {type(err).__name__}: {str(err).splitlines()[0][:300]}"
        ) from err
    return [f"{split}_{name}" for split in ("train", "test") for name in names]
