"""ZerO: a deterministic full-rank init from zeros, ones and Hadamard matrices."""

from __future__ import annotations

import math
from typing import Literal

import jax.numpy as jnp
import numpy as np
import scipy.linalg

from initlab import _checks
from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import register

HADAMARD_SCALES = ("paper", "notebook")


def _zero_matrix(n_in: int, n_out: int, hadamard_scale: str) -> np.ndarray:
    """ZerO's (in, out) matrix: the transpose of the paper's (out, in) W."""
    if n_in >= n_out:
        # in == out: identity; in > out: partial identity I* (first out inputs).
        return np.eye(n_in, n_out)
    # Expanding layer: c * I* H_m I*, m = ceil(log2(out)). The paper's
    # Algorithm 1 has c = 2^{-(m-1)/2}; the authors' example_mnist.ipynb
    # divides by 2^{m/2}.
    m = math.ceil(math.log2(n_out))
    c = 2.0 ** (-(m - 1) / 2) if hadamard_scale == "paper" else 2.0 ** (-m / 2)
    hadamard = scipy.linalg.hadamard(2**m).astype(np.float64)
    # H_m is symmetric, so the paper's (out, in) block transposed is H[:in, :out].
    return c * hadamard[:n_in, :n_out]


@register(
    "zero_init",
    formula="ZerO: I (in=out), partial I (in>out), 2^{-(m-1)/2}·H_m[:in,:out] "
    "(in<out, m=⌈log2 out⌉; 2^{-m/2} with hadamard_scale='notebook'); conv: "
    "centre tap; deterministic",
)
def zero_init(hadamard_scale: Literal["paper", "notebook"] = "paper") -> InitFn:
    """ZerO: a deterministic full-rank init built from zeros, ones and Hadamards.

    For a dense kernel in Flax's (in, out) layout (the transpose of the
    paper's ``W`` in R^{out x in}):

    * ``in == out``: the identity;
    * ``in > out``: the partial identity ``I*`` (output j copies input j);
    * ``in < out``: ``c * I* H_m I*`` with ``H_m`` the 2^m x 2^m Sylvester
      Hadamard matrix (entries +-1), ``m = ceil(log2(out))`` and
      ``c = 2^{-(m-1)/2}``; i.e. ``w = c * H_m[:in, :out]``.

    A known discrepancy, offered both ways: ``c = 2^{-(m-1)/2}`` is the
    paper's Algorithm 1 (the default, ``hadamard_scale="paper"``); the
    authors' example notebook (``example_mnist.ipynb``) divides ``H_m`` by
    ``2^{m/2}`` instead, a factor ``sqrt(2)`` smaller
    (``hadamard_scale="notebook"``).

    Every case has rank ``min(in, out)``. A convolution kernel ``(k..., in,
    out)`` gets that matrix at the centre tap (``k // 2`` on every spatial
    axis) and zeros elsewhere. The key is ignored: every restart starts from
    the same weights, and the paper breaks the symmetry by the Hadamard
    structure, not by randomness. Biases (and, in residual networks, the last
    layer of each branch) should be zero, as in the paper's Algorithm 1.
    Registered as ``"zero_init"`` (not to be confused with ``zeros``).

    Args:
      hadamard_scale: "paper" (default, ``2^{-(m-1)/2}``) or "notebook"
        (``2^{-m/2}``, the authors' code).

    Returns:
      ``init(key, shape, dtype)`` for 2- to 5-D shapes.

    Raises:
      ValueError: an unknown hadamard_scale; a shape with fewer than 2 or more
        than 5 axes (when called).

    Example:
      >>> w = initlab.zero_init()(jax.random.key(0), (64, 128))  # Hadamard block
      >>> bool(jnp.linalg.matrix_rank(w) == 64)
      True

    References:
      Zhao, Schäfer & Anandkumar, "ZerO Initialization: Initializing Neural
      Networks with only Zeros and Ones", TMLR 2022 (arXiv:2110.12661, 2021).
    """
    name = "zero_init"
    hadamard_scale = _checks.choice(
        hadamard_scale, HADAMARD_SCALES, "hadamard_scale", where=name
    )

    def check(shape):
        if not 2 <= len(shape) <= 5:
            raise ValueError(
                f"{name}: needs a dense (in, out) or conv (k..., in, out) shape "
                f"with 2 to 5 axes; got {shape}. For a bias use initlab.zeros()."
            )

    def draw(key, shape, dtype):
        *spatial, n_in, n_out = shape
        w = np.zeros(shape, np.float64)
        w[tuple(k // 2 for k in spatial)] = _zero_matrix(n_in, n_out, hadamard_scale)
        return jnp.asarray(w, sample_dtype(dtype)).astype(dtype)

    return InitFn(name, {"hadamard_scale": hadamard_scale}, draw, check_shape=check)
