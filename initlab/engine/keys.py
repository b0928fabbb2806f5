"""Keys: four PRNG streams per restart, derived with fold_in from its seeds.

The sources of randomness in SGD each have their own stream: ``init`` (the
parameters), ``data`` (the order of minibatches), ``noise`` (dropout and any
other randomness inside the model's training steps) and ``augment`` (random
data augmentation). A design says which of them vary across restarts.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

Design = Literal[
    "paired", "fixed_data", "fixed_init", "fixed_noise", "fixed_augment", "grid",
    "grid_noise", "grid_augment",
]  # fmt: skip
DESIGNS = ("paired", "fixed_data", "fixed_init", "fixed_noise", "fixed_augment",
           "grid", "grid_noise", "grid_augment")  # fmt: skip
GRID_DESIGNS = ("grid", "grid_noise", "grid_augment")
STREAMS = ("init", "data", "noise", "augment")

# Stream indices folded into the run's root key (never change: they fix seeds).
_STREAM_INDEX = {"init": 0, "data": 1, "noise": 2, "augment": 3}


def restart_streams(
    design: Design, restarts: np.ndarray, grid_data: int | None = None
) -> dict[str, np.ndarray]:
    """The seed of every stream for each restart under a design.

    Restart i's seeds depend on i alone, never on how many restarts run or how
    they are chunked. ``paired``: every stream i. ``fixed_data``: the data order
    and the augmentation fixed (seed 0): restarts differ by init (and dropout
    noise). ``fixed_init``: the init fixed. ``fixed_noise`` / ``fixed_augment``:
    that stream fixed. ``grid`` with D data orders: init i // D crossed with
    data order, augmentation and noise i % D; ``grid_noise`` / ``grid_augment``:
    init i // D crossed with that stream i % D, the others fixed.

    Args:
      design: one of :data:`DESIGNS`.
      restarts: restart indices (ints >= 0).
      grid_data: D, the second factor's levels in the grid designs.

    Returns:
      ``{"init": ..., "data": ..., "noise": ..., "augment": ...}`` int64 arrays
      shaped like ``restarts``.

    Example:
      >>> restart_streams("fixed_noise", np.arange(3))["noise"]
      array([0, 0, 0])
    """
    i = np.asarray(restarts, np.int64)
    zero = np.zeros_like(i)
    if design == "paired":
        return dict.fromkeys(STREAMS, i)
    if design == "fixed_data":
        return {"init": i, "data": zero, "noise": i, "augment": zero}
    if design in ("fixed_init", "fixed_noise", "fixed_augment"):
        held = design.removeprefix("fixed_")
        return {s: zero if s == held else i for s in STREAMS}
    if design in GRID_DESIGNS:
        if not grid_data:
            raise ValueError(f"design {design!r} needs grid_data (the levels D).")
        init, other = i // grid_data, i % grid_data
        if design == "grid":
            return {"init": init, "data": other, "noise": other, "augment": other}
        crossed = design.removeprefix("grid_")
        return {"init": init, "data": zero, **{s: zero for s in ("noise", "augment")},
                crossed: other}  # fmt: skip
    raise ValueError(f"unknown design {design!r}; allowed: {', '.join(DESIGNS)}.")


def restart_seeds(
    design: Design, restarts: np.ndarray, grid_data: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The (init_seed, data_seed) indices of each restart under a design.

    The init and data-order streams of :func:`restart_streams`: ``paired``:
    (i, i); ``fixed_data``: (i, 0); ``fixed_init``: (0, i); ``grid`` with D
    data orders: (i // D, i % D).

    Example:
      >>> restart_seeds("grid", np.arange(4), grid_data=2)
      (array([0, 0, 1, 1]), array([0, 1, 0, 1]))
    """
    seeds = restart_streams(design, restarts, grid_data)
    return seeds["init"], seeds["data"]


def stream_key(seed: int, stream: str, seeds) -> jax.Array:
    """Typed keys ``fold_in(fold_in(key(seed), stream index), s)`` for seeds s.

    Example:
      >>> stream_key(0, "noise", np.arange(4)).shape
      (4,)
    """
    root = jax.random.fold_in(jax.random.key(seed), _STREAM_INDEX[stream])
    fold = jax.vmap(jax.random.fold_in, in_axes=(None, 0))
    return fold(root, jnp.asarray(seeds, jnp.uint32))


def stream_keys(seed: int, init_seeds, data_seeds) -> tuple[jax.Array, jax.Array]:
    """Typed init and data keys: ``fold_in(fold_in(key(seed), stream), index)``.

    The keys ``initlab.train`` gives restart i (see :func:`stream_key` for the
    noise and augmentation streams).

    Example:
      >>> init_keys, data_keys = stream_keys(0, range(8), range(8))
    """
    return stream_key(seed, "init", init_seeds), stream_key(seed, "data", data_seeds)
