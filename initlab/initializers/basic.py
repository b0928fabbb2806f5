"""Constant and plain random initializers with Keras names and defaults."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from initlab import _checks
from initlab.initializers._core import REAL, REAL_OR_COMPLEX, InitFn, sample_dtype
from initlab.initializers.registry import register

# |z| a float32 standard-normal draw can reach: jax.random.normal maps uniform
# float32 values through erfinv, whose largest finite result is about 5.4.
NORMAL_REACH = 6.0


@register("zeros", formula="w = 0")
def zeros() -> InitFn:
    """All zeros: ``w = 0``.

    The usual bias initializer. As a kernel it never breaks the symmetry between
    units (every hidden unit gets the same gradient), which initlab's
    ``symmetry`` study shows. The key is ignored.

    Example:
      >>> from flax import nnx
      >>> nnx.Linear(4, 3, bias_init=initlab.zeros(), rngs=nnx.Rngs(0))
    """
    return InitFn(
        "zeros",
        {},
        lambda key, shape, dtype: jnp.zeros(shape, dtype),
        dtypes=REAL_OR_COMPLEX,
    )


@register("ones", formula="w = 1")
def ones() -> InitFn:
    """All ones: ``w = 1``. The key is ignored.

    Example:
      >>> initlab.ones()(jax.random.key(0), (3,))   # [1., 1., 1.]
    """
    return InitFn(
        "ones",
        {},
        lambda key, shape, dtype: jnp.ones(shape, dtype),
        dtypes=REAL_OR_COMPLEX,
    )


@register("constant", formula="w = value (value=0.0)")
def constant(value: float = 0.0) -> InitFn:
    """Every entry equal to ``value`` (Keras ``Constant``, default 0.0).

    Args:
      value: a finite number.

    Example:
      >>> initlab.constant(0.1)(jax.random.key(0), (2, 2))
    """
    value = _checks.number(value, "value", where="constant")
    return InitFn(
        "constant",
        {"value": value},
        lambda key, shape, dtype: jnp.full(shape, value, dtype),
        dtypes=REAL_OR_COMPLEX,
        max_abs=lambda shape: abs(value),
    )


@register("random_normal", formula="N(mean, stddev²) (mean=0, stddev=0.05)")
def random_normal(mean: float = 0.0, stddev: float = 0.05) -> InitFn:
    """Normal ``N(mean, stddev^2)``; Keras ``RandomNormal`` defaults (0, 0.05).

    Args:
      mean: finite mean (default 0.0).
      stddev: positive standard deviation (default 0.05).

    Example:
      >>> initlab.random_normal(stddev=0.01)(jax.random.key(0), (64, 32))

    References:
      Keras ``RandomNormal``; the "small random values" of classic backprop
      (Rumelhart, Hinton & Williams 1986).
    """
    mean = _checks.number(mean, "mean", where="random_normal")
    stddev = _checks.number(stddev, "stddev", where="random_normal", positive=True)

    def draw(key, shape, dtype):
        out = mean + stddev * jax.random.normal(key, shape, sample_dtype(dtype))
        return out.astype(dtype)

    return InitFn("random_normal", {"mean": mean, "stddev": stddev}, draw, dtypes=REAL,
                  max_abs=lambda shape: abs(mean) + NORMAL_REACH * stddev)  # fmt: skip


@register("random_uniform", formula="U(minval, maxval) (minval=-0.05, maxval=0.05)")
def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> InitFn:
    """Uniform ``U(minval, maxval)``; Keras ``RandomUniform`` defaults (-0.05, 0.05).

    Args:
      minval: lower bound (default -0.05).
      maxval: upper bound, must exceed ``minval`` (default 0.05).

    Example:
      >>> initlab.random_uniform(-1.0, 1.0)(jax.random.key(0), (2, 2))

    References:
      Keras ``RandomUniform``; Rumelhart, Hinton & Williams 1986 (XOR restarts).
    """
    minval = _checks.number(minval, "minval", where="random_uniform")
    maxval = _checks.number(maxval, "maxval", where="random_uniform")
    if not minval < maxval:
        raise ValueError(
            f"random_uniform: minval must be < maxval; got minval={minval}, "
            f"maxval={maxval}. Swap them or widen the range."
        )

    def draw(key, shape, dtype):
        out = jax.random.uniform(key, shape, sample_dtype(dtype), minval, maxval)
        return out.astype(dtype)

    return InitFn(
        "random_uniform", {"minval": minval, "maxval": maxval}, draw, dtypes=REAL,
        max_abs=lambda shape: max(abs(minval), abs(maxval)),
    )  # fmt: skip


@register(
    "truncated_normal",
    formula="N(mean, stddev²) cut at ±2 stddev, not rescaled (mean=0, stddev=0.05)",
)
def truncated_normal(mean: float = 0.0, stddev: float = 0.05) -> InitFn:
    """Normal cut at ``mean +- 2 stddev``; Keras ``TruncatedNormal`` (0, 0.05).

    Keras semantics: ``stddev`` is the std *before* the cut, so the actual std
    is ``0.8796 * stddev``. (``variance_scaling`` corrects for this; this does
    not.)

    Args:
      mean: finite mean (default 0.0).
      stddev: positive pre-truncation standard deviation (default 0.05).

    Example:
      >>> initlab.truncated_normal(stddev=0.02)(jax.random.key(0), (768, 768))

    References:
      Keras ``TruncatedNormal``.
    """
    mean = _checks.number(mean, "mean", where="truncated_normal")
    stddev = _checks.number(stddev, "stddev", where="truncated_normal", positive=True)

    def draw(key, shape, dtype):
        z = jax.random.truncated_normal(key, -2.0, 2.0, shape, sample_dtype(dtype))
        return (mean + stddev * z).astype(dtype)

    return InitFn(
        "truncated_normal", {"mean": mean, "stddev": stddev}, draw, dtypes=REAL,
        max_abs=lambda shape: abs(mean) + 2.0 * stddev,
    )  # fmt: skip
