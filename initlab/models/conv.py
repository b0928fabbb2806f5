"""1-D convolution with explicit zero padding, as patches @ kernel (fast under vmap)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from initlab import _checks


def conv_output_length(length: int, kernel_size: int, stride: int, padding: int) -> int:
    """Output length of a 1-D convolution (PyTorch's ``Conv1d`` formula).

    ``floor((length + 2 padding - kernel_size) / stride) + 1``.

    Args:
      length: input length.
      kernel_size: window.
      stride: step between windows.
      padding: zeros added on each side.

    Returns:
      The output length.

    Raises:
      ValueError: non-positive sizes, negative padding, or a window longer
        than the padded input.

    Example:
      >>> conv_output_length(40, 5, 2, 1)  # ConvBase's first layer
      19
    """
    where = "conv_output_length"
    length = _checks.positive_int(length, "length", where=where)
    kernel_size = _checks.positive_int(kernel_size, "kernel_size", where=where)
    stride = _checks.positive_int(stride, "stride", where=where)
    padding = _checks.integer(padding, "padding", low=0, where=where)
    padded = length + 2 * padding
    if kernel_size > padded:
        raise ValueError(
            f"{where}: a window of {kernel_size} does not fit an input of length "
            f"{length} padded by {padding} on each side ({padded}); use a smaller "
            "kernel, more padding or a longer input."
        )
    return (padded - kernel_size) // stride + 1


def conv1d_patches(
    x: jax.Array, kernel: jax.Array, bias: jax.Array, stride: int, padding: int
) -> jax.Array:
    """A 1-D convolution with explicit zero padding, as patches @ kernel.

    The same numbers as ``jax.lax.conv_general_dilated(x, kernel, (stride,),
    [(padding, padding)], dimension_numbers=("NWC", "WIO", "NWC"))`` plus the
    bias (PyTorch's ``Conv1d``: a cross-correlation). Vmapped over restarts it
    is one batched matmul, where ``lax.conv`` becomes a grouped convolution
    that XLA:CPU runs several times slower per restart-step.

    Args:
      x: (batch, length, in_channels).
      kernel: (width, in_channels, out_channels).
      bias: (out_channels,).
      stride: step between windows.
      padding: zeros added on each side of the length axis.

    Returns:
      (batch, out_length, out_channels), ``out_length`` from
      :func:`conv_output_length`.

    Example:
      >>> conv1d_patches(jnp.ones((2, 40, 1)), jnp.ones((5, 1, 25)),
      ...                jnp.zeros(25), 2, 1).shape
      (2, 19, 25)
    """
    width = kernel.shape[0]
    out_len = conv_output_length(x.shape[1], width, stride, padding)
    x = jnp.pad(x, ((0, 0), (padding, padding), (0, 0)))
    span = (out_len - 1) * stride + 1
    patches = jnp.stack([x[:, j : j + span : stride] for j in range(width)], axis=2)
    return jnp.einsum("blki,kio->blo", patches, kernel) + bias[None, None, :]
