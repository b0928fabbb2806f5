"""Deprecated: the MLP as a list of ``(kernel, bias)`` layers.

initlab has one MLP, :class:`initlab.models.MLP`; :func:`initlab.models.mlp`
is its pure form, and its parameter tree (``layers/<i>/kernel|bias``) is what
every diagnostic and LSUV takes. The three functions here keep code written
for the list form running: each warns (``DeprecationWarning``, naming the
replacement) and calls that one MLP. Their draws are
``initlab.models.mlp(...).init``'s, which are the old list MLP's bit for bit
(layer ``l``'s kernel from ``fold_in(key, 2 l)``, its bias from
``fold_in(key, 2 l + 1)``: Flax's per-layer keys; a test checks it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from initlab import _checks, models, tree_paths
from initlab._types import PRNGKey, PyTree
from initlab.models import ACTIVATIONS

Layer = tuple[jax.Array, jax.Array]

__all__ = ["ACTIVATIONS", "Layer", "mlp_apply", "mlp_init", "mlp_preactivations"]


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(
        f"initlab.diagnostics.{name} is deprecated (initlab has one MLP, "
        f"initlab.models.MLP); use {replacement}.",
        DeprecationWarning,
        stacklevel=3,
    )


def _is_layer_list(params: Any) -> bool:
    """Whether ``params`` is the list form ``[(kernel, bias), ...]``."""
    return (
        isinstance(params, list | tuple)
        and len(params) > 0
        and all(isinstance(lay, list | tuple) and len(lay) == 2 for lay in params)
    )


def _as_params(layers: Sequence[Layer]) -> dict:
    """``[(W, b), ...]`` as the MLP's parameter tree ``layers/<i>/kernel|bias``."""
    return {"layers": {i: {"kernel": w, "bias": b} for i, (w, b) in enumerate(layers)}}


def _as_layers(params: PyTree) -> list[Layer]:
    """The MLP's parameter tree as ``[(W, b), ...]``, first layer first."""
    models.mlp_from_params(params)  # checks that it is one MLP's tree
    return [(lay.kernel, lay.bias) for lay in tree_paths.layers(params)]


def _widths(widths: Any, where: str) -> tuple[int, ...]:
    if isinstance(widths, int | str) or not isinstance(widths, Sequence):
        raise TypeError(
            f"{where}: widths must be a sequence (in_features, hidden..., "
            f"out_features) such as (784, 256, 10); got {widths!r:.60}."
        )
    widths = tuple(_checks.positive_int(w, "every width", where=where) for w in widths)
    if len(widths) < 2:
        raise ValueError(
            f"{where}: widths must have >= 2 entries (in_features, hidden..., "
            f"out_features); got {widths!r}."
        )
    return widths


def mlp_init(
    key: PRNGKey,
    widths: Sequence[int],
    kernel_init: Callable,
    bias_init: Callable | None = None,
    dtype: Any = jnp.float32,
) -> list[Layer]:
    """Deprecated: the layers of ``initlab.models.mlp(...).init(key, ...)``.

    Use ``initlab.models.mlp(widths[1:-1], widths[0], widths[-1]).init(key,
    kernel_init, bias_init)`` and pass its params tree to the diagnostics.
    Layer ``l``'s kernel is drawn with ``fold_in(key, 2 l)`` and its bias
    with ``fold_in(key, 2 l + 1)`` (the MLP's own draws, as before).

    Args:
      key: a typed PRNG key.
      widths: ``(in_features, hidden..., out_features)``, at least two entries.
      kernel_init: ``init(key, shape, dtype)`` for every kernel.
      bias_init: for every bias (default zeros).
      dtype: parameter dtype (default float32).

    Returns:
      ``[(W_1, b_1), ..., (W_L, b_L)]``, kernel (in, out), bias (out,).

    Raises:
      ValueError, TypeError: fewer than two widths or a non-positive width.

    Example:
      >>> key = jax.random.key(0)
      >>> params = initlab.models.mlp((256,), 784, 10).init(key, initlab.he_normal())
    """
    _deprecated(
        "mlp_init",
        "initlab.models.mlp(widths[1:-1], widths[0], widths[-1]).init(key, "
        "kernel_init, bias_init)",
    )
    widths = _widths(widths, "mlp_init")
    model = models.mlp(widths[1:-1], widths[0], widths[-1], param_dtype=dtype)
    return _as_layers(model.init(key, kernel_init, bias_init))


def mlp_preactivations(
    params: Sequence[Layer] | PyTree, x: jax.Array, activation: str | Callable = "relu"
) -> list[jax.Array]:
    """Deprecated: every layer's pre-activation, the output last.

    Use ``out, values = initlab.models.mlp_from_params(params,
    activation).intermediates(params, x)``: ``[*values["preactivations"],
    out]`` is this list.

    Args:
      params: ``[(W, b), ...]`` (or the MLP's params tree).
      x: inputs (batch, in_features).
      activation: a name from ``ACTIVATIONS`` or an elementwise callable.

    Returns:
      ``[h_1, ..., h_L]``, each (batch, width_l); ``h_l = phi(h_{l-1}) W_l +
      b_l`` with ``h_0 = x`` (no activation on the input or the output).

    Example:
      >>> model = initlab.models.mlp((16,), 4, 2, "tanh")
      >>> params = model.init(jax.random.key(0))
      >>> x = jnp.ones((3, 4))
      >>> out, values = model.intermediates(params, x)
    """
    _deprecated(
        "mlp_preactivations",
        "initlab.models.mlp_from_params(params, activation).intermediates(params, x)",
    )
    tree = _as_params(params) if _is_layer_list(params) else params
    out, values = models.mlp_from_params(tree, activation).intermediates(tree, x)
    return [*values.get("preactivations", ()), out]


def mlp_apply(
    params: Sequence[Layer] | PyTree, x: jax.Array, activation: str | Callable = "relu"
) -> jax.Array:
    """Deprecated: the MLP's output (the last pre-activation).

    Use ``initlab.models.mlp_from_params(params, activation).apply(params, x)``
    (or the ``apply`` of the ``initlab.models.mlp`` that drew ``params``).

    Example:
      >>> params = initlab.models.mlp((16,), 4, 2).init(jax.random.key(0))
      >>> x = jnp.ones((3, 4))
      >>> y = initlab.models.mlp_from_params(params, "relu").apply(params, x)
    """
    _deprecated("mlp_apply", "initlab.models.mlp_from_params(params, activation).apply")
    tree = _as_params(params) if _is_layer_list(params) else params
    return models.mlp_from_params(tree, activation).apply(tree, x)
