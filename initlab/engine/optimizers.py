"""Optimizers from specs: optax names, dicts, factories, and hyper-parameter axes.

Every optimizer is an optax transformation, never re-implemented here. A
named optimizer is built once per (name, learning rate, arguments), so
repeated runs reuse their compiled loop; list-valued hyper-parameters become
axes through ``optax.inject_hyperparams`` (the values live in each restart's
optimizer state).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import optax

from initlab import _checks
from initlab.engine.specs import OPTIMIZERS, thawed


def build_optimizer_axes(
    spec: Any, learning_rate: float | tuple[float, ...]
) -> tuple[optax.GradientTransformation, dict[str, tuple[float, ...]]]:
    """The optimizer and its hyper-parameter axes (list-valued arguments).

    Without axes this is :func:`build_optimizer`. With some, the optax factory
    is wrapped in ``optax.inject_hyperparams``: the hyper-parameters live in
    the optimizer's state, so each restart's state holds its own values and
    one compiled loop trains every combination.

    Example:
      >>> opt, axes = build_optimizer_axes("sgd", (0.1, 0.3))
      >>> axes
      {'learning_rate': (0.1, 0.3)}
    """
    if callable(spec) and not isinstance(spec, optax.GradientTransformation):
        factory, kwargs = spec, {}
    elif isinstance(spec, Mapping):
        factory = getattr(optax, spec["name"])
        kwargs = {k: v for k, v in thawed(spec).items() if k != "name"}
    else:
        factory, kwargs = getattr(optax, spec), {}
    values = {"learning_rate": learning_rate, **kwargs}
    axes = {k: tuple(v) for k, v in values.items() if isinstance(v, list | tuple)}
    if not axes and not callable(spec):
        return build_optimizer(spec, learning_rate), {}
    if not axes:  # a factory of the user's, one setting
        return factory(learning_rate, **kwargs), {}
    first = {k: (v[0] if k in axes else v) for k, v in values.items()}
    try:
        return optax.inject_hyperparams(factory)(**first), axes
    except TypeError as err:
        raise ValueError(f"optimizer with axes {sorted(axes)}: {err}.") from None


def build_optimizer(spec: Any, learning_rate: float) -> optax.GradientTransformation:
    """An optax optimizer from a name or ``{"name": ..., **arguments}``.

    Example:
      >>> opt = build_optimizer({"name": "sgd", "momentum": 0.9}, 0.1)
    """
    if isinstance(spec, optax.GradientTransformation):
        return spec
    if isinstance(spec, Mapping):
        name = spec.get("name")
        kwargs = {k: v for k, v in spec.items() if k != "name"}
    else:
        name, kwargs = spec, {}
    return make_optimizer(name, learning_rate, **thawed(kwargs))


def make_optimizer(
    name: str | optax.GradientTransformation, learning_rate: float, **kwargs
) -> optax.GradientTransformation:
    """An optax optimizer by name (``"sgd"``, ``"adam"``, ...) or passed through.

    Args:
      name: one of ``initlab.OPTIMIZERS`` (optax functions that take the
        learning rate first), or an optax ``GradientTransformation`` (returned
        as is).
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
    if name not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}.{_checks.closest(name, OPTIMIZERS)} "
            f"Valid: {', '.join(OPTIMIZERS)}."
        )
    try:
        frozen = tuple(sorted(kwargs.items()))
        hash(frozen)
    except TypeError:
        return getattr(optax, name)(float(learning_rate), **kwargs)
    return _named_optimizer(name, float(learning_rate), frozen)


@functools.lru_cache(maxsize=32)
def _named_optimizer(name: str, learning_rate: float, kwargs: tuple):
    # One object per (name, lr, kwargs), so repeated runs reuse the compiled loop.
    try:
        return getattr(optax, name)(learning_rate, **dict(kwargs))
    except TypeError as err:
        raise ValueError(f"optimizer {name!r}: {err}.") from None
