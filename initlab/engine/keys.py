"""Keys: two PRNG streams per restart, derived with fold_in from its index."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

Design = Literal["paired", "fixed_data", "fixed_init", "grid"]
DESIGNS = ("paired", "fixed_data", "fixed_init", "grid")

# Stream indices folded into the run's root key (never change: they fix seeds).
_INIT_STREAM, _DATA_STREAM = 0, 1


def restart_seeds(
    design: Design, restarts: np.ndarray, grid_data: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The (init_seed, data_seed) indices of each restart under a design.

    ``paired``: (i, i); ``fixed_data``: (i, 0); ``fixed_init``: (0, i); ``grid``
    with D data orders: (i // D, i % D). Restart i's seeds depend on i alone,
    never on how many restarts run or how they are chunked.

    Args:
      design: one of "paired", "fixed_data", "fixed_init", "grid".
      restarts: restart indices (ints >= 0).
      grid_data: D, the number of data orders of the grid design.

    Returns:
      ``(init_seed, data_seed)`` int64 arrays shaped like ``restarts``.

    Example:
      >>> restart_seeds("grid", np.arange(4), grid_data=2)
      (array([0, 0, 1, 1]), array([0, 1, 0, 1]))
    """
    restarts = np.asarray(restarts, np.int64)
    if design == "paired":
        return restarts, restarts
    if design == "fixed_data":
        return restarts, np.zeros_like(restarts)
    if design == "fixed_init":
        return np.zeros_like(restarts), restarts
    if design == "grid":
        return restarts // grid_data, restarts % grid_data
    raise ValueError(f"unknown design {design!r}; allowed: {', '.join(DESIGNS)}.")


def stream_keys(seed: int, init_seeds, data_seeds) -> tuple[jax.Array, jax.Array]:
    """Typed init and data keys: ``fold_in(fold_in(key(seed), stream), index)``."""
    root = jax.random.key(seed)
    init_root = jax.random.fold_in(root, _INIT_STREAM)
    data_root = jax.random.fold_in(root, _DATA_STREAM)
    fold = jax.vmap(jax.random.fold_in, in_axes=(None, 0))
    return (
        fold(init_root, jnp.asarray(init_seeds, jnp.uint32)),
        fold(data_root, jnp.asarray(data_seeds, jnp.uint32)),
    )
