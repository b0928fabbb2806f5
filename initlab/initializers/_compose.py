"""Helpers for initializers built on other initializers (objects, names or configs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import get


def _resolve(init: Any, what: str, name: str) -> Callable[..., jax.Array]:
    """An initializer from an initializer, a registry name or a config dict."""
    if callable(init):
        return init
    if isinstance(init, str | dict):
        return get(init)
    raise TypeError(
        f"{name}: {what} must be an initializer such as initlab.he_normal(), a "
        f"registered name or a config dict; got {type(init).__name__} {init!r:.60}."
    )


def _describe(init: Callable[..., jax.Array]) -> Any:
    """The config of an initlab initializer (JSON-safe), else the object itself."""
    if isinstance(init, InitFn):
        return {"name": init.name, **init.config}
    return init


def _scaled(name: str, config: dict[str, Any], init: Any, scale: float) -> InitFn:
    """``scale * init(key, shape, dtype)``; the multiply is in >= float32."""

    def draw(key, shape, dtype):
        w = init(key, shape, dtype)
        return (w.astype(sample_dtype(dtype)) * scale).astype(dtype)

    inner = getattr(init, "_max_abs", None) if isinstance(init, InitFn) else None
    max_abs = None if inner is None else (lambda shape: abs(scale) * inner(shape))
    return InitFn(name, config, draw, max_abs=max_abs)
