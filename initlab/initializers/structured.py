"""Structured initializers: orthogonal, identity, dirac, delta-orthogonal, sparse."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from initlab import _checks
from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import register


def _qr_one(a: jax.Array) -> jax.Array:
    q, r = jnp.linalg.qr(a)
    # Multiplying by sign(diag R) makes Q Haar-distributed (Mezzadri 2007).
    return q * jnp.sign(jnp.diag(r))[None, :]


@jax.custom_batching.custom_vmap
def _qr_haar(a: jax.Array) -> jax.Array:
    return _qr_one(a)


@_qr_haar.def_vmap
def _qr_haar_vmap(axis_size, in_batched, a):
    (batched,) = in_batched
    if not batched:
        return _qr_haar(a), False
    if jax.default_backend() == "cpu":
        # jaxlib's batched CPU QR (LAPACK geqrf under ParallelBatchMap) was seen
        # to deadlock at 0 % CPU for >= 64 keys: draw one matrix after another.
        # Same numbers; lax.map over the custom_vmap keeps nested vmaps safe.
        return jax.lax.map(_qr_haar, a), True
    return jax.vmap(_qr_one)(a), True


def _orthogonal_matrix(key, rows: int, cols: int, dtype) -> jax.Array:
    """A (rows, cols) matrix with orthonormal columns (rows >= cols) or rows.

    Drawn and factorised in ``dtype`` (float32 or float64: there is no 16-bit QR).
    """
    transpose = rows < cols
    n, m = (cols, rows) if transpose else (rows, cols)
    q = _qr_haar(jax.random.normal(key, (n, m), dtype))
    return q.T if transpose else q


@register(
    "orthogonal",
    formula="gain · Q, Q from QR of a Gaussian, sign(diag R) fixed (gain=1)",
)
def orthogonal(gain: float = 1.0, column_axis: int = -1) -> InitFn:
    """A (semi-)orthogonal matrix times ``gain``: ``W^T W = gain^2 I`` (or ``W W^T``).

    QR of a standard Gaussian matrix with the columns multiplied by
    ``sign(diag(R))``. Shapes with more than 2 axes are flattened to
    ``(prod(other axes), shape[column_axis])``. 16-bit dtypes are computed in
    float32 (there is no 16-bit QR) and cast; float64 (under x64) is drawn and
    factorised in float64. With ``column_axis=-1`` the draw is Keras's
    ``Orthogonal`` (the same Gaussian, QR and sign fix): the key
    ``jnp.array([seed, 0], jnp.uint32)`` gives Keras's values for ``seed``.

    Args:
      gain: positive multiplier (Keras default 1.0).
      column_axis: the axis that holds the columns (default -1, the outputs).

    Raises:
      ValueError: a shape with fewer than 2 axes; non-positive gain.

    Example:
      >>> w = initlab.orthogonal()(jax.random.key(0), (128, 128))  # w.T @ w = I

    References:
      Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of
      learning in deep linear neural networks", ICLR 2014.
    """
    name = "orthogonal"
    gain = _checks.number(gain, "gain", where=name, positive=True)
    column_axis = _checks.integer(column_axis, "column_axis", where=name)

    def check(shape):
        if len(shape) < 2:
            raise ValueError(
                f"{name}: needs a shape with at least 2 axes; got {shape}. "
                "A vector cannot be orthogonal: use zeros() for biases."
            )
        if not -len(shape) <= column_axis < len(shape):
            raise ValueError(
                f"{name}: column_axis={column_axis} out of range for shape {shape}."
            )

    def draw(key, shape, dtype):
        cols = shape[column_axis]
        rows = math.prod(shape) // cols
        q = _orthogonal_matrix(key, rows, cols, sample_dtype(dtype)) * gain
        rest = tuple(d for a, d in enumerate(shape) if a != column_axis % len(shape))
        q = q.T.reshape((cols, *rest))
        return jnp.moveaxis(q, 0, column_axis).astype(dtype)

    return InitFn(
        name, {"gain": gain, "column_axis": column_axis}, draw, check_shape=check
    )


@register(
    "identity", formula="gain · I, non-square padded with zeros; 2-D only (gain=1)"
)
def identity(gain: float = 1.0) -> InitFn:
    """``gain * I`` for a 2-D shape; a non-square shape pads with zeros (Keras).

    Args:
      gain: multiplier (default 1.0).

    Raises:
      ValueError: a shape that is not 2-D (for a convolution use ``dirac``).

    Example:
      >>> initlab.identity()(jax.random.key(0), (3, 4))   # eye(3, 4)

    References:
      Keras ``Identity``; Le, Jaitly & Hinton, "A Simple Way to Initialize
      Recurrent Networks of Rectified Linear Units", 2015.
    """
    gain = _checks.number(gain, "gain", where="identity")

    def check(shape):
        if len(shape) != 2:
            raise ValueError(
                f"identity: needs a 2-D shape; got {shape}. For a convolution "
                "kernel (k..., in, out) use initlab.dirac()."
            )

    def draw(key, shape, dtype):
        eye = jnp.eye(shape[0], shape[1], dtype=sample_dtype(dtype))
        return (gain * eye).astype(dtype)

    return InitFn("identity", {"gain": gain}, draw, check_shape=check)


@register(
    "dirac",
    formula="identity convolution: 1 at the centre tap of channel i→i (groups=1)",
)
def dirac(groups: int = 1) -> InitFn:
    """Identity convolution kernel (PyTorch ``dirac_``) in Flax's (k..., in, out).

    ``w[center..., i, g * out_per_group + i] = 1`` for ``i < min(in,
    out_per_group)`` in each of ``groups`` groups, zero elsewhere. A convolution
    with "SAME" padding and this kernel returns its input channels unchanged.
    A 2-D (in, out) shape (no spatial axes) gives the identity matrix.

    Args:
      groups: number of groups (the output channels must divide evenly).

    Raises:
      ValueError: a shape with fewer than 2 or more than 5 axes, or out
        channels not divisible by ``groups``.

    Example:
      >>> k = initlab.dirac()(jax.random.key(0), (3, 8, 8))  # 1-D conv, 8 -> 8

    References:
      PyTorch ``torch.nn.init.dirac_``; Zagoruyko & Komodakis, "DiracNets", 2017.
    """
    groups = _checks.positive_int(groups, "groups", where="dirac")

    def check(shape):
        if not 2 <= len(shape) <= 5:
            raise ValueError(
                f"dirac: needs a (k..., in, out) shape with 0 to 3 spatial axes; "
                f"got {shape}."
            )
        if shape[-1] % groups:
            raise ValueError(
                f"dirac: out channels ({shape[-1]}) must be divisible by "
                f"groups ({groups})."
            )

    def draw(key, shape, dtype):
        *spatial, n_in, n_out = shape
        per_group = n_out // groups
        center = tuple(k // 2 for k in spatial)
        w = jnp.zeros(shape, dtype)
        d = jnp.arange(min(n_in, per_group))
        for g in range(groups):
            w = w.at[(*center, d, g * per_group + d)].set(1)
        return w

    return InitFn("dirac", {"groups": groups}, draw, check_shape=check)


@register(
    "delta_orthogonal",
    formula="orthogonal (in,out) matrix at the centre tap, zeros elsewhere; 3-5-D, "
    "in ≤ out (scale=1)",
)
def delta_orthogonal(scale: float = 1.0, column_axis: int = -1) -> InitFn:
    """Delta-orthogonal conv kernel: an orthogonal (in, out) matrix at the centre.

    Every spatial position but the centre is zero; the centre holds
    ``orthogonal(scale)`` of shape (in, out). Gives dynamical isometry in deep
    CNNs.

    Args:
      scale: gain of the orthogonal matrix (default 1.0).
      column_axis: passed to the orthogonal draw (default -1).

    Raises:
      ValueError: a shape that is not 3-, 4- or 5-D, or in channels > out
        channels.

    Example:
      >>> k = initlab.delta_orthogonal()(jax.random.key(0), (3, 3, 16, 32))

    References:
      Xiao et al., "Dynamical Isometry and a Mean Field Theory of CNNs: How to
      Train 10,000-Layer Vanilla Convolutional Neural Networks", ICML 2018.
    """
    name = "delta_orthogonal"
    scale = _checks.number(scale, "scale", where=name, positive=True)
    ortho = orthogonal(scale, column_axis)

    def check(shape):
        if len(shape) not in (3, 4, 5):
            raise ValueError(
                f"{name}: needs a conv kernel shape (k..., in, out) with 3, 4 or 5 "
                f"axes; got {shape}. For a dense layer use orthogonal()."
            )
        if shape[-2] > shape[-1]:
            raise ValueError(
                f"{name}: needs in channels <= out channels; got shape {shape}."
            )

    def draw(key, shape, dtype):
        centre = tuple(k // 2 for k in shape[:-2])
        w = jnp.zeros(shape, dtype)
        return w.at[centre].set(ortho(key, shape[-2:], dtype))

    return InitFn(
        name, {"scale": scale, "column_axis": column_axis}, draw, check_shape=check
    )


@register(
    "sparse",
    formula="N(0, stddev²) with ⌈sparsity·out⌉ zeros per row (stddev=0.01; "
    "sparsity required)",
)
def sparse(sparsity: float, stddev: float = 0.01) -> InitFn:
    """Sparse normal weights (PyTorch ``sparse_``) in Flax's (in, out) layout.

    Each input row gets ``ceil(sparsity * out)`` zeros at random positions; the
    others are ``N(0, stddev^2)``. (PyTorch zeroes that fraction of each column
    of its (out, in) weight: the same thing after the transpose.)

    Args:
      sparsity: fraction of zeros per row, in [0, 1).
      stddev: std of the non-zero entries (default 0.01).

    Raises:
      ValueError: sparsity outside [0, 1), non-positive stddev, a shape that is
        not 2-D.

    Example:
      >>> w = initlab.sparse(0.9)(jax.random.key(0), (100, 50))  # 90 % zeros

    References:
      Martens, "Deep learning via Hessian-free optimization", ICML 2010.
    """
    name = "sparse"
    sparsity = _checks.number(sparsity, "sparsity", where=name)
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(
            f"{name}: sparsity must be in [0, 1) (the fraction of zeros per row); "
            f"got {sparsity}."
        )
    stddev = _checks.number(stddev, "stddev", where=name, positive=True)

    def check(shape):
        if len(shape) != 2:
            raise ValueError(f"{name}: needs a 2-D (in, out) shape; got {shape}.")

    def draw(key, shape, dtype):
        rows, cols = shape
        num_zeros = math.ceil(sparsity * cols)
        k_values, k_mask = jax.random.split(key)
        values = jax.random.normal(k_values, shape, sample_dtype(dtype)) * stddev
        # Rank of a uniform draw along each row: a uniform random permutation.
        # float32 whatever the dtype or x64, so the zeros sit where they sit.
        u = jax.random.uniform(k_mask, shape, jnp.float32)
        ranks = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
        return jnp.where(ranks < num_zeros, 0.0, values).astype(dtype)

    return InitFn(
        name, {"sparsity": sparsity, "stddev": stddev}, draw, check_shape=check
    )
