"""Random data augmentation: ``augment(key, x_batch) -> x_batch``, pure JAX.

A task's ``augment`` is applied to every training minibatch with the
restart's augmentation key for that step (its own key stream, so a design can
hold it fixed or vary it like the init and the data order); evaluation never
augments.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks

Augment = Callable[[jax.Array, jax.Array], jax.Array]


def shift_images(
    height: int,
    width: int,
    mean: np.ndarray,
    std: np.ndarray,
    max_shift: int = 1,
) -> Augment:
    """Random translations of flattened, standardized images by up to ``max_shift``.

    Each image of the batch gets its own shift ``(dy, dx)``, uniform in
    ``[-max_shift, max_shift]^2``; the raw image (``x * std + mean``) moves,
    the exposed border is 0 (the raw background), and the result is
    standardized again with the same ``mean`` and ``std``: exactly what
    shifting the raw image before standardizing gives.

    Args:
      height, width: image size (inputs are (B, height * width)).
      mean, std: the per-pixel standardization, shape (height * width,).
      max_shift: largest shift in pixels (default 1).

    Returns:
      ``augment(key, x) -> x``.

    Example:
      >>> task = initlab.get_task("digits", augment="shift")
      >>> task.augment(jax.random.key(0), task.x_train[:4]).shape
      (4, 64)

    References:
      Simard, Steinkraus & Platt, "Best practices for convolutional neural
      networks applied to visual document analysis", ICDAR 2003.
    """
    h = _checks.positive_int(height, "height", where="shift_images")
    w = _checks.positive_int(width, "width", where="shift_images")
    m = _checks.integer(max_shift, "max_shift", low=0, where="shift_images")
    mean = np.asarray(mean, np.float32).reshape(1, h, w)
    std = np.asarray(std, np.float32).reshape(1, h, w)

    def augment(key: jax.Array, x: jax.Array) -> jax.Array:
        batch = x.shape[0]
        raw = x.reshape(batch, h, w) * std + mean
        padded = jnp.pad(raw, ((0, 0), (m, m), (m, m)))
        corner = jax.random.randint(key, (batch, 2), 0, 2 * m + 1)
        moved = jax.vmap(
            lambda img, c: jax.lax.dynamic_slice(img, (c[0], c[1]), (h, w))
        )(padded, corner)
        return ((moved - mean) / std).reshape(batch, h * w).astype(x.dtype)

    return augment


def gaussian_noise(stddev: float) -> Augment:
    """Adds ``stddev * N(0, 1)`` to every input value.

    Args:
      stddev: standard deviation of the noise, > 0 (in the inputs' units).

    Returns:
      ``augment(key, x) -> x``.

    Example:
      >>> noisy = gaussian_noise(0.1)(jax.random.key(0), jnp.zeros((2, 3)))

    References:
      Bishop, "Training with noise is equivalent to Tikhonov regularization",
      Neural Computation 1995.
    """
    stddev = _checks.number(stddev, "stddev", positive=True, where="gaussian_noise")

    def augment(key: jax.Array, x: jax.Array) -> jax.Array:
        return x + stddev * jax.random.normal(key, x.shape, x.dtype)

    return augment
