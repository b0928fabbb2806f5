"""A plain deep MLP as a list of (kernel, bias) layers: activations, init, apply."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab._types import PRNGKey
from initlab.initializers import zeros
from initlab.models.modules import ACTIVATIONS, get_activation

Layer = tuple[jax.Array, jax.Array]

__all__ = ["ACTIVATIONS", "Layer", "mlp_apply", "mlp_init", "mlp_preactivations"]


def _activation(activation: str | Callable) -> tuple[str, Callable]:
    """``(name, fn)`` from a name in ``ACTIVATIONS`` or a callable.

    The table is :data:`initlab.models.modules.ACTIVATIONS` (one table for
    the models and the diagnostics); errors as :func:`get_activation`.
    """
    fn = get_activation(activation)
    if isinstance(activation, str):
        return activation, fn
    return getattr(activation, "__name__", "custom"), fn


def mlp_init(
    key: PRNGKey,
    widths: Sequence[int],
    kernel_init: Callable,
    bias_init: Callable | None = None,
    dtype: Any = jnp.float32,
) -> list[Layer]:
    """Draws an MLP's ``(kernel, bias)`` layers; kernel (in, out), bias (out,).

    Layer ``l`` (0-based) draws its kernel with ``fold_in(key, 2 l)`` and its
    bias with ``fold_in(key, 2 l + 1)``, so a layer's draw does not depend on
    the depth of the network.

    Args:
      key: a typed PRNG key.
      widths: ``(in_features, hidden..., out_features)``, at least two entries.
      kernel_init: ``init(key, shape, dtype)`` for every kernel.
      bias_init: for every bias (default zeros).
      dtype: parameter dtype (default float32).

    Returns:
      ``[(W_1, b_1), ..., (W_L, b_L)]``.

    Raises:
      ValueError: fewer than two widths or a non-positive width.

    Example:
      >>> params = mlp_init(jax.random.key(0), (784, 256, 10), initlab.he_normal())
    """
    widths = tuple(widths)
    if len(widths) < 2 or any(
        isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1
        for w in widths
    ):
        raise ValueError(
            f"mlp_init: widths must be >= 2 positive ints (in, hidden..., out); "
            f"got {widths!r}."
        )
    bias_init = zeros() if bias_init is None else bias_init
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        w = kernel_init(jax.random.fold_in(key, 2 * i), (n_in, n_out), dtype)
        b = bias_init(jax.random.fold_in(key, 2 * i + 1), (n_out,), dtype)
        layers.append((w, b))
    return layers


def mlp_preactivations(
    params: Sequence[Layer], x: jax.Array, activation: str | Callable = "relu"
) -> list[jax.Array]:
    """Every layer's pre-activation ``h_l = phi(h_{l-1}) W_l + b_l`` (h_0 = x).

    The activation is applied between layers, not after the last one, so the
    last entry is the network's output.

    Args:
      params: ``[(W, b), ...]`` as from :func:`mlp_init`.
      x: inputs (batch, in_features).
      activation: a name from ``ACTIVATIONS`` or an elementwise callable.

    Returns:
      ``[h_1, ..., h_L]``, each (batch, width_l).

    Example:
      >>> hs = mlp_preactivations(params, x, "tanh")
    """
    _, phi = _activation(activation)
    hs = []
    h = x
    for i, (w, b) in enumerate(params):
        h = (phi(h) if i else h) @ w + b[None, :]
        hs.append(h)
    return hs


def mlp_apply(
    params: Sequence[Layer], x: jax.Array, activation: str | Callable = "relu"
) -> jax.Array:
    """The MLP's output: the last pre-activation (no activation after it).

    Example:
      >>> y = mlp_apply(params, x, "relu")   # (batch, out_features)
    """
    return mlp_preactivations(params, x, activation)[-1]
