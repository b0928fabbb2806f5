"""Pretrained parameters perturbed by an initializer's noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from initlab import _checks
from initlab._types import PRNGKey, PyTree
from initlab.initializers._compose import _resolve
from initlab.tree_paths import map_with_paths, path_key


def perturbed(
    params: PyTree, noise: Any = None, scale: float = 1.0
) -> Callable[[PRNGKey], PyTree]:
    """Pretrained parameters plus ``scale`` times fresh noise, per leaf.

    Returns ``draw(key) -> params'`` with ``params'[leaf] = params[leaf] +
    scale * noise(path_key(key, path), leaf.shape, leaf.dtype)``, where
    ``path`` is the leaf's ``/``-joined path and ``path_key`` is
    :func:`initlab.tree_paths.path_key` (``fold_in(key, crc32(path))``): the
    key ``initlab.reinit`` draws that leaf with, so ``noise`` gives the same
    array here and in ``reinit(params, {path: noise}, key)``. A leaf's noise
    does not change when other leaves are added, removed or reordered. Leaves
    that are not floating-point arrays (step counters, masks) are returned
    unchanged. With ``noise=None`` or ``scale=0`` the returned function gives
    back ``params`` itself, bit for bit. Vmap ``draw`` over keys for many
    perturbed restarts.

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
      >>> pretrained = {"kernel": jnp.ones((4, 3)), "bias": jnp.zeros(3)}
      >>> draw = initlab.perturbed(pretrained, initlab.random_normal(stddev=1e-3))
      >>> restarts = jax.vmap(draw)(jax.random.split(jax.random.key(0), 16))

    References:
      Frankle et al., "Linear Mode Connectivity and the Lottery Ticket
      Hypothesis", ICML 2020 (perturbing a trained network's weights).
    """
    name = "perturbed"
    scale = _checks.number(scale, "scale", where=name)
    noise_fn = None if noise is None else _resolve(noise, "noise", name)
    if noise_fn is None or scale == 0.0:
        return lambda key: params

    def draw(key: PRNGKey) -> PyTree:
        def leaf(path, x):
            dtype = getattr(x, "dtype", None)
            if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
                return x
            eps = noise_fn(path_key(key, path), x.shape, dtype)
            return (x + scale * eps).astype(dtype)

        return map_with_paths(leaf, params)

    return draw
