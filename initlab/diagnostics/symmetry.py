"""Symmetry: the number of distinct units of a layer."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def distinct_units(
    kernel: jax.Array, bias: jax.Array | None = None, tol: float = 1e-6
) -> jax.Array:
    """Number of distinct units of a layer: output columns equal within ``tol``.

    Unit ``j`` is column ``j`` of the kernel (all axes but the last flattened,
    so conv kernels ``(k..., in, out)`` work) with ``bias[j]`` appended. Two
    units are equal when their largest absolute difference is <= ``tol``;
    "equal" is closed transitively (connected components), so the result is
    the number of groups. Units that start equal get equal gradients and stay
    equal under (S)GD: a count below ``out`` at init persists through
    training, which this function can check at every step. Pure and
    jittable; vmap it over restarts or steps.

    Args:
      kernel: (..., out) weights.
      bias: (out,) or None.
      tol: absolute tolerance, >= 0 (default 1e-6).

    Returns:
      an int32 scalar array in ``[1, out]``.

    Raises:
      ValueError: a kernel with < 2 axes, a bias of the wrong length, a
        negative tol.

    Example:
      >>> distinct_units(jnp.ones((4, 8)))            # constant init: 1
      Array(1, dtype=int32)

    References:
      Rumelhart, Hinton & Williams, "Learning representations by
      back-propagating errors", 1986 (symmetry breaking).
    """
    kernel = jnp.asarray(kernel)
    if kernel.ndim < 2:
        raise ValueError(
            f"distinct_units: kernel must have an (in..., out) shape; got "
            f"{kernel.shape}. Pass the bias separately."
        )
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"distinct_units: tol must be a number >= 0; got {tol!r}.")
    units = kernel.reshape(-1, kernel.shape[-1])
    if bias is not None:
        bias = jnp.asarray(bias)
        if bias.shape != (kernel.shape[-1],):
            raise ValueError(
                f"distinct_units: bias must have shape ({kernel.shape[-1]},) to "
                f"match the kernel's units; got {bias.shape}."
            )
        units = jnp.concatenate([units, bias[None, :].astype(units.dtype)], axis=0)
    n = units.shape[1]
    # Row j of the (out, out) max-abs-difference matrix, one unit at a time:
    # O(fan_in * out) memory, not the (fan_in, out, out) broadcast.
    diff = jax.lax.map(lambda u: jnp.max(jnp.abs(units - u[:, None]), axis=0), units.T)
    reach = (diff <= tol).astype(jnp.float32)
    # Transitive closure by repeated squaring: ceil(log2 n) steps cover any path.
    for _ in range(max(1, math.ceil(math.log2(max(n, 2))))):
        reach = (reach @ reach > 0).astype(jnp.float32)
    # Each group of size s has s members each counting 1/s.
    return jnp.round(jnp.sum(1.0 / jnp.sum(reach, axis=1))).astype(jnp.int32)
