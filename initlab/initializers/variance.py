"""Fans and variance scaling: LeCun, Glorot (Xavier) and He (Kaiming)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp

from initlab.initializers._core import (
    REAL_OR_COMPLEX,
    InitFn,
    check_shape,
    choice,
    positive,
    real_dtype,
    sample_dtype,
)

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

# Std of a standard normal truncated to (-2, 2): scipy.stats.truncnorm(-2, 2).std().
TRUNCATED_STD = 0.87962566103423978


def _axes(
    ndim: int, in_axis: int, out_axis: int, batch_axis: Sequence[int], name: str
) -> tuple[int, int, tuple[int, ...]]:
    def norm(axis: int, what: str) -> int:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{name}: {what} must be an int; got {axis!r}.")
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{name}: {what}={axis} is out of range for a {ndim}-D shape."
            )
        return axis % ndim

    i, o = norm(in_axis, "in_axis"), norm(out_axis, "out_axis")
    b = tuple(norm(a, "batch_axis") for a in batch_axis)
    if i == o or i in b or o in b or len(set(b)) != len(b):
        raise ValueError(
            f"{name}: in_axis ({in_axis}), out_axis ({out_axis}) and batch_axis "
            f"({tuple(batch_axis)}) must name different axes."
        )
    return i, o, b


def fans(
    shape: Sequence[int],
    in_axis: int = -2,
    out_axis: int = -1,
    batch_axis: Sequence[int] | int = (),
) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of ``shape``.

    ``fan_in = shape[in_axis] * receptive``, ``fan_out = shape[out_axis] *
    receptive``, where ``receptive`` is the product of every other axis except
    the batch axes. The default layout is Flax's: Dense ``(in, out)``, Conv
    ``(k..., in, out)``.

    Args:
      shape: weight shape, at least 2-D.
      in_axis: axis of the inputs (default -2).
      out_axis: axis of the outputs (default -1).
      batch_axis: axes that hold independent weights (excluded from the fans).

    Returns:
      ``(fan_in, fan_out)`` as Python ints.

    Raises:
      ValueError: a shape with fewer than 2 axes (a bias has no fan: use
        ``zeros()`` or give a 2-D shape), or axes out of range or repeated.

    Example:
      >>> initlab.fans((3, 3, 16, 32))
      (144, 288)
    """
    return _fans(shape, in_axis, out_axis, batch_axis, "fans")


def _fans(shape, in_axis, out_axis, batch_axis, name: str) -> tuple[int, int]:
    shape = check_shape(shape, name)
    if isinstance(batch_axis, int):
        batch_axis = (batch_axis,)
    if len(shape) < 2:
        raise ValueError(
            f"{name}: cannot compute fan-in and fan-out of a {len(shape)}-D shape "
            f"{shape}; fan-based initializers need at least 2 axes (in, out). "
            "For a bias vector use initlab.zeros() or initlab.torch_default_bias."
        )
    i, o, b = _axes(len(shape), in_axis, out_axis, batch_axis, name)
    receptive = math.prod(d for a, d in enumerate(shape) if a not in (i, o, *b))
    return shape[i] * receptive, shape[o] * receptive


def check_layout(in_axis, out_axis, batch_axis, name: str) -> tuple[int, ...]:
    """Checks the layout hyper-parameters' types; ranges are checked per shape."""
    if isinstance(batch_axis, int):
        batch_axis = (batch_axis,)
    batch_axis = tuple(batch_axis)
    for what, axis in [("in_axis", in_axis), ("out_axis", out_axis)] + [
        ("batch_axis", a) for a in batch_axis
    ]:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{name}: {what} must be an int; got {axis!r}.")
    return batch_axis


def _fan(shape, mode, in_axis, out_axis, batch_axis, name) -> float:
    fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis, name)
    return {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": math.sqrt(fan_in * fan_out),
    }[mode]


def _draw_real(key, shape, dtype, variance, distribution):
    if distribution == "truncated_normal":
        std = math.sqrt(variance) / TRUNCATED_STD
        return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * std
    if distribution == "untruncated_normal":
        return jax.random.normal(key, shape, dtype) * math.sqrt(variance)
    bound = math.sqrt(3.0 * variance)
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def _draw_complex(key, shape, dtype, variance, distribution):
    part = real_dtype(dtype)
    if distribution == "uniform":
        # Uniform on the disc of radius r: E|z|^2 = r^2 / 2 = variance.
        k_radius, k_angle = jax.random.split(key)
        radius = jnp.sqrt(2 * variance * jax.random.uniform(k_radius, shape, part))
        angle = jax.random.uniform(k_angle, shape, part, 0.0, 2 * jnp.pi)
        return jax.lax.complex(radius * jnp.cos(angle), radius * jnp.sin(angle)).astype(
            dtype
        )
    # Real and imaginary parts each carry half the variance.
    k_re, k_im = jax.random.split(key)
    re = _draw_real(k_re, shape, part, variance / 2, distribution)
    im = _draw_real(k_im, shape, part, variance / 2, distribution)
    return jax.lax.complex(re, im).astype(dtype)


def variance_scaling(
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "truncated_normal",
    in_axis: int = -2,
    out_axis: int = -1,
    batch_axis: Sequence[int] = (),
    *,
    _name: str = "variance_scaling",
) -> InitFn:
    """Weights with variance ``scale / fan``; the family behind LeCun, Glorot, He.

    ``fan`` is fan_in, fan_out, their mean (fan_avg) or geometric mean
    (fan_geo_avg), from :func:`fans`. ``uniform`` draws U(-b, b) with
    ``b = sqrt(3 scale / fan)``; ``untruncated_normal`` draws N(0, scale/fan);
    ``truncated_normal`` draws a normal cut at +-2 std whose std is divided by
    0.8796 (the std of a standard normal truncated to (-2, 2)) so the variance
    is exactly ``scale / fan``. Complex dtypes: real and imaginary parts each
    carry half the variance (uniform: uniform on a disc).

    Args:
      scale: positive variance multiplier (default 1.0).
      mode: "fan_in" (default), "fan_out", "fan_avg" or "fan_geo_avg".
      distribution: "truncated_normal" (default), "untruncated_normal" or
        "uniform". Keras's word "normal" means truncated; ``initlab.get`` maps it.
      in_axis, out_axis, batch_axis: layout, see :func:`fans`.

    Returns:
      A pure ``init(key, shape, dtype=float32)``.

    Raises:
      ValueError: non-positive scale, unknown mode or distribution (when called);
        a shape with fewer than 2 axes (when ``init`` is called).

    Example:
      >>> init = initlab.variance_scaling(2.0, "fan_in", "uniform")
      >>> w = init(jax.random.key(0), (256, 128))   # std ~ sqrt(2/256)

    References:
      He et al., "Delving Deep into Rectifiers", ICCV 2015; Glorot & Bengio,
      AISTATS 2010; LeCun et al., "Efficient BackProp", 1998.
    """
    name = _name
    scale = positive(scale, "scale", name)
    mode = choice(mode, MODES, "mode", name)
    distribution = choice(distribution, DISTRIBUTIONS, "distribution", name)
    batch_axis = check_layout(in_axis, out_axis, batch_axis, name)

    def check(shape):
        _fans(shape, in_axis, out_axis, batch_axis, name)

    def draw(key, shape, dtype):
        variance = scale / _fan(shape, mode, in_axis, out_axis, batch_axis, name)
        if jnp.issubdtype(dtype, jnp.complexfloating):
            return _draw_complex(key, shape, dtype, variance, distribution)
        out = _draw_real(key, shape, sample_dtype(dtype), variance, distribution)
        return out.astype(dtype)

    config = dict(
        scale=scale,
        mode=mode,
        distribution=distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
    )
    return InitFn(name, config, draw, dtypes=REAL_OR_COMPLEX, check_shape=check)


def _specialise(name, scale, mode, distribution, in_axis, out_axis, batch_axis):
    init = variance_scaling(
        scale, mode, distribution, in_axis, out_axis, batch_axis, _name=name
    )
    init.config = dict(
        in_axis=in_axis, out_axis=out_axis, batch_axis=init.config["batch_axis"]
    )
    return init


def lecun_uniform(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """LeCun uniform: U(-b, b), ``b = sqrt(3 / fan_in)`` (variance 1/fan_in).

    The variance that keeps a linear (or SELU) layer's output variance equal to
    its input's. Args: layout, see :func:`fans`.

    Example:
      >>> nnx.Linear(64, 32, kernel_init=initlab.lecun_uniform(), rngs=nnx.Rngs(0))

    References:
      LeCun, Bottou, Orr & Müller, "Efficient BackProp", 1998.
    """
    return _specialise(
        "lecun_uniform", 1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis
    )


def lecun_normal(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """LeCun normal: truncated normal with variance exactly ``1 / fan_in``.

    Cut at +-2 std; std ``sqrt(1/fan_in) / 0.8796`` before the cut. Keras's
    default for SELU networks. Args: layout, see :func:`fans`.

    Example:
      >>> w = initlab.lecun_normal()(jax.random.key(0), (64, 32))

    References:
      LeCun et al., "Efficient BackProp", 1998; Klambauer et al., "Self-Normalizing
      Neural Networks", NeurIPS 2017.
    """
    return _specialise(
        "lecun_normal", 1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis
    )


def glorot_uniform(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """Glorot (Xavier) uniform: U(-b, b), ``b = sqrt(6 / (fan_in + fan_out))``.

    Keras's default kernel initializer. Variance ``2 / (fan_in + fan_out)``
    balances the forward and backward signal. Args: layout, see :func:`fans`.

    Example:
      >>> nnx.Linear(64, 32, kernel_init=initlab.glorot_uniform(), rngs=nnx.Rngs(0))

    References:
      Glorot & Bengio, "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS 2010.
    """
    return _specialise(
        "glorot_uniform", 1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis
    )


def glorot_normal(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """Glorot (Xavier) normal: truncated normal, variance ``2/(fan_in+fan_out)``.

    Keras semantics: cut at +-2 std with the variance corrected to be exact.
    (``xavier_normal`` is PyTorch's untruncated version.) Args: layout.

    Example:
      >>> w = initlab.glorot_normal()(jax.random.key(0), (64, 32))

    References:
      Glorot & Bengio, AISTATS 2010.
    """
    return _specialise(
        "glorot_normal",
        1.0,
        "fan_avg",
        "truncated_normal",
        in_axis,
        out_axis,
        batch_axis,
    )


def he_uniform(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """He uniform: U(-b, b), ``b = sqrt(6 / fan_in)`` (variance 2/fan_in).

    Keeps the second moment constant through ReLU layers. Args: layout.

    Example:
      >>> nnx.Linear(64, 32, kernel_init=initlab.he_uniform(), rngs=nnx.Rngs(0))

    References:
      He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015.
    """
    return _specialise(
        "he_uniform", 2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis
    )


def he_normal(in_axis: int = -2, out_axis: int = -1, batch_axis=()) -> InitFn:
    """He normal: truncated normal with variance exactly ``2 / fan_in``.

    Keras semantics (truncated, corrected); ``kaiming_normal`` is PyTorch's
    untruncated version. Args: layout, see :func:`fans`.

    Example:
      >>> w = initlab.he_normal()(jax.random.key(0), (3, 3, 16, 32))

    References:
      He et al., ICCV 2015.
    """
    return _specialise(
        "he_normal", 2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis
    )
