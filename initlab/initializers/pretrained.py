"""Pretrained parameters perturbed by an initializer's noise."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from initlab._types import PRNGKey, PyTree
from initlab.initializers._compose import _resolve
from initlab.initializers._core import number


def _path_seed(path) -> int:
    """A stable 31-bit seed from a leaf's path (crc32 of its keystr)."""
    return zlib.crc32(jax.tree_util.keystr(path).encode()) & 0x7FFFFFFF


def perturbed(
    params: PyTree, noise: Any = None, scale: float = 1.0
) -> Callable[[PRNGKey], PyTree]:
    """Pretrained parameters plus ``scale`` times fresh noise, per leaf.

    Returns ``draw(key) -> params'`` with ``params'[leaf] = params[leaf] +
    scale * noise(fold_in(key, crc32(path)), leaf.shape, leaf.dtype)``. Keys
    come from the crc32 of each leaf's path (``jax.tree_util.keystr``), so a
    leaf's noise does not change when other leaves are added, removed or
    reordered. Leaves that are not floating-point arrays (step counters,
    masks) are returned unchanged. With ``noise=None`` or ``scale=0`` the
    returned function gives back ``params`` itself, bit for bit. Vmap ``draw``
    over keys for many perturbed restarts.

    Args:
      params: a pytree of arrays (the pretrained parameters).
      noise: an initializer (or name/config) for the noise, e.g.
        ``initlab.random_normal(stddev=0.01)``; it must accept every float
        leaf's shape (fan-based initializers refuse 1-D biases). None: no
        noise.
      scale: finite multiplier of the noise (default 1.0).

    Returns:
      ``draw(key) -> pytree`` with the structure of ``params``.

    Raises:
      TypeError: ``noise`` is not an initializer, name or config.
      ValueError: a non-finite scale.

    Example:
      >>> draw = initlab.perturbed(pretrained, initlab.random_normal(stddev=1e-3))
      >>> restarts = jax.vmap(draw)(jax.random.split(jax.random.key(0), 16))

    References:
      Frankle et al., "Linear Mode Connectivity and the Lottery Ticket
      Hypothesis", ICML 2020 (perturbing a trained network's weights).
    """
    name = "perturbed"
    scale = number(scale, "scale", name)
    noise_fn = None if noise is None else _resolve(noise, "noise", name)
    if noise_fn is None or scale == 0.0:
        return lambda key: params

    def draw(key: PRNGKey) -> PyTree:
        def leaf(path, x):
            dtype = getattr(x, "dtype", None)
            if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
                return x
            eps = noise_fn(jax.random.fold_in(key, _path_seed(path)), x.shape, dtype)
            return (x + scale * eps).astype(dtype)

        return jax.tree_util.tree_map_with_path(leaf, params)

    return draw
