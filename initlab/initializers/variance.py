"""Fans and variance scaling: LeCun, Glorot (Xavier) and He (Kaiming)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks
from initlab.initializers._core import (
    REAL_OR_COMPLEX,
    InitFn,
    check_shape,
    real_dtype,
    sample_dtype,
)
from initlab.initializers.basic import NORMAL_REACH
from initlab.initializers.registry import register

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

# An axis or several: Einsum / attention kernels such as (in, heads, head_dim).
Axes = int | Sequence[int]

# Std of a standard normal truncated to (-2, 2): scipy.stats.truncnorm(-2, 2).std().
TRUNCATED_STD = 0.87962566103423978


def _axes_arg(
    value: Any, what: str, name: str, *, empty_ok: bool = False
) -> int | tuple[int, ...]:
    """An int as an int, a sequence of ints as a tuple; anything else raises."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        axes = tuple(
            _checks.integer(a, f"every axis in {what}", where=name) for a in value
        )
        if not axes and not empty_ok:
            raise ValueError(
                f"{name}: {what} must name at least one axis; got {value!r}."
            )
        return axes
    raise TypeError(
        f"{name}: {what} must be an int or a sequence of ints such as (0, 1); "
        f"got {type(value).__name__} {value!r:.60}."
    )


def _as_tuple(axes: int | tuple[int, ...]) -> tuple[int, ...]:
    return (axes,) if isinstance(axes, int) else axes


def _resolve_axes(spec: int | tuple[int, ...], ndim: int, what: str, name: str):
    out = []
    for axis in (spec,) if isinstance(spec, int) else spec:
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{name}: {what}={spec} is out of range for a {ndim}-D shape."
            )
        out.append(axis % ndim)
    return tuple(out)


class Layout(NamedTuple):
    """Which axes of a weight hold its inputs, outputs and independent batches.

    JAX's spelling (``in_axis``, ``out_axis``, ``batch_axis``): every axis none
    of them names is a receptive-field axis and counts in both fans. Keras's
    spelling (``input_axes`` and ``output_axes``, both given): every other axis
    counts for neither fan. Made by :func:`layout`; see :func:`fans`.
    """

    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    batch_axis: tuple[int, ...] = ()
    input_axes: tuple[int, ...] | None = None
    output_axes: tuple[int, ...] | None = None

    def config(self) -> dict[str, Any]:
        """The hyper-parameters as given (Keras's axes only when set)."""
        out: dict[str, Any] = dict(
            in_axis=self.in_axis, out_axis=self.out_axis, batch_axis=self.batch_axis
        )
        if self.input_axes is not None:
            out.update(input_axes=self.input_axes, output_axes=self.output_axes)
        return out

    def fans(self, shape: Sequence[int], name: str) -> tuple[int, int]:
        """``(fan_in, fan_out)`` of a weight of ``shape``, or a teaching error."""
        shape = check_shape(shape, name)
        if len(shape) < 2:
            raise ValueError(
                f"{name}: cannot compute fan-in and fan-out of a {len(shape)}-D "
                f"shape {shape}; fan-based initializers need at least 2 axes (in, "
                "out). For a bias vector use initlab.zeros() or "
                "initlab.torch_default_bias."
            )
        ndim = len(shape)
        keras = self.input_axes is not None
        if keras:
            words = "input_axes", "output_axes"
            ins = _resolve_axes(self.input_axes, ndim, words[0], name)
            outs = _resolve_axes(self.output_axes, ndim, words[1], name)
            batch: tuple[int, ...] = ()
        else:
            words = "in_axis", "out_axis"
            ins = _resolve_axes(self.in_axis, ndim, words[0], name)
            outs = _resolve_axes(self.out_axis, ndim, words[1], name)
            batch = _resolve_axes(self.batch_axis, ndim, "batch_axis", name)
        named = ins + outs + batch
        if len(set(named)) != len(named):
            given = (
                f"input_axes ({self.input_axes}) and output_axes ({self.output_axes})"
                if keras
                else f"in_axis ({self.in_axis}), out_axis ({self.out_axis}) and "
                f"batch_axis ({self.batch_axis})"
            )
            raise ValueError(
                f"{name}: {given} must name different axes (each once) of the "
                f"{ndim}-D shape {shape}."
            )
        fan_in = math.prod(shape[a] for a in ins)
        fan_out = math.prod(shape[a] for a in outs)
        if not keras:
            receptive = math.prod(d for a, d in enumerate(shape) if a not in named)
            fan_in, fan_out = fan_in * receptive, fan_out * receptive
        return fan_in, fan_out


def layout(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
    *,
    name: str,
) -> Layout:
    """Checks the layout hyper-parameters' types; ranges are checked per shape."""
    in_axis = _axes_arg(in_axis, "in_axis", name)
    out_axis = _axes_arg(out_axis, "out_axis", name)
    batch_axis = _as_tuple(_axes_arg(batch_axis, "batch_axis", name, empty_ok=True))
    if (input_axes is None) != (output_axes is None):
        raise ValueError(
            f"{name}: give both input_axes and output_axes (Keras's spelling; "
            f"Keras ignores one alone) or neither; got input_axes={input_axes!r}, "
            f"output_axes={output_axes!r}."
        )
    if input_axes is not None:
        if (in_axis, out_axis, batch_axis) != (-2, -1, ()):
            raise ValueError(
                f"{name}: give either Keras's input_axes/output_axes or "
                "in_axis/out_axis/batch_axis, not both; got "
                f"input_axes={input_axes!r}, output_axes={output_axes!r} and "
                f"in_axis={in_axis!r}, out_axis={out_axis!r}, "
                f"batch_axis={batch_axis!r}."
            )
        input_axes = _as_tuple(_axes_arg(input_axes, "input_axes", name))
        output_axes = _as_tuple(_axes_arg(output_axes, "output_axes", name))
    return Layout(in_axis, out_axis, batch_axis, input_axes, output_axes)


def fans(
    shape: Sequence[int],
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of ``shape``.

    ``fan_in = prod(shape[in_axis]) * receptive``, ``fan_out =
    prod(shape[out_axis]) * receptive``, where ``receptive`` is the product of
    every axis that is neither an input, an output nor a batch axis: the same
    fans as ``jax.nn.initializers`` (``_compute_fans``). The default layout is
    Flax's: Dense ``(in, out)``, Conv ``(k..., in, out)``. Each of the three
    may be one axis or a sequence of axes, for kernels whose inputs or outputs
    span several axes: an ``nnx.Einsum`` kernel ``"ndh"`` of
    ``"btd,ndh->btnh"`` has ``in_axis=1, out_axis=(0, 2)``.

    Args:
      shape: weight shape, at least 2-D.
      in_axis: axis or axes of the inputs (default -2).
      out_axis: axis or axes of the outputs (default -1).
      batch_axis: axis or axes that hold independent weights (excluded from
        the fans; default none).

    Returns:
      ``(fan_in, fan_out)`` as Python ints.

    Raises:
      ValueError: a shape with fewer than 2 axes (a bias has no fan: use
        ``zeros()`` or give a 2-D shape), or axes out of range or repeated.
      TypeError: an axis that is not an int.

    Example:
      >>> initlab.fans((3, 3, 16, 32))
      (144, 288)
      >>> initlab.fans((8, 64, 16), in_axis=1, out_axis=(0, 2))
      (64, 128)
    """
    return layout(in_axis, out_axis, batch_axis, name="fans").fans(shape, "fans")


def _fan(fan_in: int, fan_out: int, mode: str) -> float:
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


@register(
    "variance_scaling",
    formula="Var = scale/fan; uniform b=√(3·scale/fan); truncated std "
    "√(scale/fan)/0.8796 (scale=1, fan_in, truncated_normal)",
)
def variance_scaling(
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "truncated_normal",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
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

    The real draws are those of ``jax.nn.initializers.variance_scaling`` (same
    sampler, same bits from the key, same fans for every layout, axis sequences
    included); the scalar factor is rounded once in float64 instead of in the
    dtype, so values agree to a few ulps. Keras's ``VarianceScaling`` draws the
    same way: with the key ``jnp.array([seed, 0], jnp.uint32)`` the values are
    Keras's for ``seed``. Unlike Keras, a 1-D shape is refused (Keras takes
    fan_in = fan_out = its length) rather than guessed.

    Args:
      scale: positive variance multiplier (default 1.0).
      mode: "fan_in" (default), "fan_out", "fan_avg" or "fan_geo_avg".
      distribution: "truncated_normal" (default), "untruncated_normal" or
        "uniform". Keras's word "normal" means truncated; ``initlab.get`` maps it.
      in_axis, out_axis, batch_axis: layout (JAX's spelling; each an axis or a
        sequence of axes), see :func:`fans`.
      input_axes, output_axes: Keras's spelling, both or neither: ``fan_in =
        prod(shape[input_axes])``, ``fan_out = prod(shape[output_axes])``, and
        every other axis counts for neither fan (Keras's ``compute_fans``).
        Not together with a non-default in_axis/out_axis/batch_axis.

    Returns:
      A pure ``init(key, shape, dtype=float32)``.

    Raises:
      ValueError: non-positive scale, unknown mode or distribution, a lone
        input_axes or output_axes (when called); a shape with fewer than 2
        axes, or axes out of range or repeated (when ``init`` is called).
      TypeError: an axis that is not an int.

    Example:
      >>> init = initlab.variance_scaling(2.0, "fan_in", "uniform")
      >>> w = init(jax.random.key(0), (256, 128))   # std ~ sqrt(2/256)

    References:
      He et al., "Delving Deep into Rectifiers", ICCV 2015; Glorot & Bengio,
      AISTATS 2010; LeCun et al., "Efficient BackProp", 1998.
    """
    name = _name
    scale = _checks.number(scale, "scale", where=name, positive=True)
    mode = _checks.choice(mode, MODES, "mode", where=name)
    distribution = _checks.choice(
        distribution, DISTRIBUTIONS, "distribution", where=name
    )
    axes = layout(in_axis, out_axis, batch_axis, input_axes, output_axes, name=name)

    def check(shape):
        axes.fans(shape, name)

    def draw(key, shape, dtype):
        variance = scale / _fan(*axes.fans(shape, name), mode)
        if jnp.issubdtype(dtype, jnp.complexfloating):
            return _draw_complex(key, shape, dtype, variance, distribution)
        out = _draw_real(key, shape, sample_dtype(dtype), variance, distribution)
        return out.astype(dtype)

    config = dict(scale=scale, mode=mode, distribution=distribution, **axes.config())

    def max_abs(shape):
        std = math.sqrt(scale / _fan(*axes.fans(shape, name), mode))
        return NORMAL_REACH * std  # every distribution stays within 6 std

    return InitFn(name, config, draw, dtypes=REAL_OR_COMPLEX, check_shape=check,
                  max_abs=max_abs)  # fmt: skip


def _specialise(name, scale, mode, distribution, axes_args) -> InitFn:
    init = variance_scaling(scale, mode, distribution, *axes_args, _name=name)
    init.config = {
        k: v
        for k, v in init.config.items()
        if k not in ("scale", "mode", "distribution")
    }
    return init


@register("lecun_uniform", formula="U(±√(3/fan_in))")
def lecun_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """LeCun uniform: U(-b, b), ``b = sqrt(3 / fan_in)`` (variance 1/fan_in).

    The variance that keeps a linear (or SELU) layer's output variance equal to
    its input's.

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> from flax import nnx
      >>> nnx.Linear(64, 32, kernel_init=initlab.lecun_uniform(), rngs=nnx.Rngs(0))

    References:
      LeCun, Bottou, Orr & Müller, "Efficient BackProp", 1998.
    """
    return _specialise(
        "lecun_uniform",
        1.0,
        "fan_in",
        "uniform",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )


@register("lecun_normal", formula="truncated normal, Var = 1/fan_in")
def lecun_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """LeCun normal: truncated normal with variance exactly ``1 / fan_in``.

    Cut at +-2 std; std ``sqrt(1/fan_in) / 0.8796`` before the cut. Keras's
    default for SELU networks, and Flax's default kernel initializer.

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> w = initlab.lecun_normal()(jax.random.key(0), (64, 32))

    References:
      LeCun et al., "Efficient BackProp", 1998; Klambauer et al., "Self-Normalizing
      Neural Networks", NeurIPS 2017.
    """
    return _specialise(
        "lecun_normal",
        1.0,
        "fan_in",
        "truncated_normal",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )


@register("glorot_uniform", formula="U(±√(6/(fan_in+fan_out))) (Keras default kernel)")
def glorot_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """Glorot (Xavier) uniform: U(-b, b), ``b = sqrt(6 / (fan_in + fan_out))``.

    Keras's default kernel initializer. Variance ``2 / (fan_in + fan_out)``
    balances the forward and backward signal.

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> from flax import nnx
      >>> nnx.Linear(64, 32, kernel_init=initlab.glorot_uniform(), rngs=nnx.Rngs(0))

    References:
      Glorot & Bengio, "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS 2010.
    """
    return _specialise(
        "glorot_uniform",
        1.0,
        "fan_avg",
        "uniform",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )


@register("glorot_normal", formula="truncated normal, Var = 2/(fan_in+fan_out)")
def glorot_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """Glorot (Xavier) normal: truncated normal, variance ``2/(fan_in+fan_out)``.

    Keras semantics: cut at +-2 std with the variance corrected to be exact.
    (``xavier_normal`` is PyTorch's untruncated version.)

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> w = initlab.glorot_normal(in_axis=(0, 1))(jax.random.key(0), (8, 64, 32))

    References:
      Glorot & Bengio, AISTATS 2010.
    """
    return _specialise(
        "glorot_normal",
        1.0,
        "fan_avg",
        "truncated_normal",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )


@register("he_uniform", formula="U(±√(6/fan_in))")
def he_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """He uniform: U(-b, b), ``b = sqrt(6 / fan_in)`` (variance 2/fan_in).

    Keeps the second moment constant through ReLU layers.

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> from flax import nnx
      >>> nnx.Linear(64, 32, kernel_init=initlab.he_uniform(), rngs=nnx.Rngs(0))

    References:
      He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015.
    """
    return _specialise(
        "he_uniform",
        2.0,
        "fan_in",
        "uniform",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )


@register("he_normal", formula="truncated normal, Var = 2/fan_in")
def he_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> InitFn:
    """He normal: truncated normal with variance exactly ``2 / fan_in``.

    Keras semantics (truncated at 2 std, variance corrected), as Keras's
    ``HeNormal`` and ``jax.nn.initializers.he_normal``. Deliberately not
    PyTorch's: ``kaiming_normal`` is PyTorch's *untruncated* normal with the
    same variance.

    Args:
      in_axis, out_axis, batch_axis, input_axes, output_axes: layout, as
        :func:`variance_scaling` (JAX's or Keras's spelling).

    Example:
      >>> w = initlab.he_normal()(jax.random.key(0), (3, 3, 16, 32))

    References:
      He et al., ICCV 2015.
    """
    return _specialise(
        "he_normal",
        2.0,
        "fan_in",
        "truncated_normal",
        (in_axis, out_axis, batch_axis, input_axes, output_axes),
    )
