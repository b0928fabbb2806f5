"""What PyTorch users reach for, in Flax's (k..., in, out) layout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import jax
import numpy as np

from initlab import _checks
from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import register
from initlab.initializers.variance import Axes, fans, layout

NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip


def gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's ``calculate_gain``: the std multiplier for a nonlinearity.

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + slope^2)) with ``param`` the slope (default 0.01);
    selu: 3/4.

    Args:
      nonlinearity: one of the names above.
      param: the negative slope for leaky_relu (ignored otherwise).

    Raises:
      ValueError: an unknown nonlinearity or a non-numeric slope.

    Example:
      >>> initlab.gain("tanh")
      1.6666666666666667

    References:
      PyTorch ``torch.nn.init.calculate_gain``; selu 3/4 follows PyTorch (not
      self-normalizing theory, which wants 1).
    """
    nonlinearity = _checks.choice(
        nonlinearity, NONLINEARITIES, "nonlinearity", where="gain"
    )
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = (
            0.01
            if param is None
            else _checks.number(param, "param (slope)", where="gain")
        )
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    return 1.0


def _fan_uniform_or_normal(
    name, std_of, distribution, in_axis, out_axis, batch_axis, config
):
    axes = layout(in_axis, out_axis, batch_axis, name=name)

    def check(shape):
        axes.fans(shape, name)

    def draw(key, shape, dtype):
        std = std_of(*axes.fans(shape, name))
        sdt = sample_dtype(dtype)
        if distribution == "uniform":
            bound = math.sqrt(3.0) * std
            return jax.random.uniform(key, shape, sdt, -bound, bound).astype(dtype)
        return (std * jax.random.normal(key, shape, sdt)).astype(dtype)

    return InitFn(name, dict(config, **axes.config()), draw, check_shape=check)


def _kaiming(
    name,
    distribution,
    negative_slope,
    mode,
    nonlinearity,
    in_axis,
    out_axis,
    batch_axis,
):
    negative_slope = _checks.number(negative_slope, "negative_slope", where=name)
    mode = _checks.choice(mode, ("fan_in", "fan_out"), "mode", where=name)
    g = gain(nonlinearity, negative_slope)

    def std_of(fan_in, fan_out):
        return g / math.sqrt(fan_in if mode == "fan_in" else fan_out)

    config = dict(negative_slope=negative_slope, mode=mode, nonlinearity=nonlinearity)
    return _fan_uniform_or_normal(
        name, std_of, distribution, in_axis, out_axis, batch_axis, config
    )


@register(
    "kaiming_uniform",
    formula="U(±gain·√(3/fan)), gain=gain(nonlinearity, slope) "
    "(leaky_relu, slope=0, fan_in; PyTorch)",
)
def kaiming_uniform(
    negative_slope: float = 0.0,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> InitFn:
    """PyTorch's ``kaiming_uniform_``: U(-b, b), ``b = gain * sqrt(3 / fan)``.

    ``gain = initlab.gain(nonlinearity, negative_slope)``; ``fan`` is fan_in or
    fan_out of Flax's layout (PyTorch's ``a`` is ``negative_slope`` here). The
    defaults (leaky_relu, slope 0, fan_in) equal ``he_uniform``.

    Args:
      negative_slope: leaky ReLU slope (PyTorch ``a``, default 0).
      mode: "fan_in" (default) or "fan_out".
      nonlinearity: a name accepted by :func:`gain` (default "leaky_relu").
      in_axis, out_axis, batch_axis: layout, each an axis or a sequence of
        axes, see :func:`fans`.

    Example:
      >>> from flax import nnx
      >>> nnx.Linear(64, 32, kernel_init=initlab.kaiming_uniform(
      ...     nonlinearity="relu"), rngs=nnx.Rngs(0))

    References:
      He et al., ICCV 2015; PyTorch ``torch.nn.init.kaiming_uniform_``.
    """
    return _kaiming(
        "kaiming_uniform",
        "uniform",
        negative_slope,
        mode,
        nonlinearity,
        in_axis,
        out_axis,
        batch_axis,
    )


@register(
    "kaiming_normal",
    formula="N(0, gain²/fan), untruncated (leaky_relu, slope=0, fan_in; PyTorch)",
)
def kaiming_normal(
    negative_slope: float = 0.0,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> InitFn:
    """PyTorch's ``kaiming_normal_``: ``N(0, gain^2 / fan)``, *untruncated*.

    A deliberate difference: with the defaults this has the variance of
    ``he_normal`` (``2 / fan_in``) but not its distribution, since
    ``he_normal`` is Keras's (and JAX's) normal truncated at 2 std with the
    variance corrected, while PyTorch never truncates. Arguments as
    :func:`kaiming_uniform`.

    Example:
      >>> w = initlab.kaiming_normal(mode="fan_out")(jax.random.key(0), (3, 3, 8, 16))

    References:
      He et al., ICCV 2015; PyTorch ``torch.nn.init.kaiming_normal_``.
    """
    return _kaiming(
        "kaiming_normal",
        "normal",
        negative_slope,
        mode,
        nonlinearity,
        in_axis,
        out_axis,
        batch_axis,
    )


def _xavier(name, distribution, gain_, in_axis, out_axis, batch_axis):
    gain_ = _checks.number(gain_, "gain", where=name, positive=True)

    def std_of(fan_in, fan_out):
        return gain_ * math.sqrt(2.0 / (fan_in + fan_out))

    return _fan_uniform_or_normal(
        name, std_of, distribution, in_axis, out_axis, batch_axis, {"gain": gain_}
    )


@register("xavier_uniform", formula="U(±gain·√(6/(fan_in+fan_out))) (gain=1; PyTorch)")
def xavier_uniform(
    gain: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> InitFn:
    """PyTorch's ``xavier_uniform_``: U(-b, b), ``b = gain sqrt(6/(fan_in+fan_out))``.

    With gain 1 it is ``glorot_uniform``.

    Args:
      gain: positive std multiplier (default 1.0), e.g. ``initlab.gain("tanh")``.
      in_axis, out_axis, batch_axis: layout, each an axis or a sequence of
        axes, see :func:`fans`.

    Example:
      >>> init = initlab.xavier_uniform(gain=initlab.gain("tanh"))
      >>> w = init(jax.random.key(0), (8, 4))

    References:
      Glorot & Bengio, AISTATS 2010; PyTorch ``torch.nn.init.xavier_uniform_``.
    """
    return _xavier("xavier_uniform", "uniform", gain, in_axis, out_axis, batch_axis)


@register(
    "xavier_normal",
    formula="N(0, gain²·2/(fan_in+fan_out)), untruncated (gain=1; PyTorch)",
)
def xavier_normal(
    gain: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> InitFn:
    """PyTorch's ``xavier_normal_``: ``N(0, gain^2 2/(fan_in+fan_out))``, untruncated.

    Keras's ``glorot_normal`` truncates; this does not.

    Args:
      gain: positive std multiplier (default 1.0).
      in_axis, out_axis, batch_axis: layout, each an axis or a sequence of
        axes, see :func:`fans`.

    Example:
      >>> w = initlab.xavier_normal()(jax.random.key(0), (8, 4))

    References:
      Glorot & Bengio, AISTATS 2010; PyTorch ``torch.nn.init.xavier_normal_``.
    """
    return _xavier("xavier_normal", "normal", gain, in_axis, out_axis, batch_axis)


@register("torch_default", formula="U(±1/√fan_in) (PyTorch Linear/Conv default)")
def torch_default(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> InitFn:
    """PyTorch's default Linear/Conv weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    PyTorch calls ``kaiming_uniform_(w, a=sqrt(5))``: gain sqrt(1/3), so the
    bound is ``sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1 / sqrt(fan_in)``. Pair it
    with :func:`torch_default_bias` for the bias.

    Args:
      in_axis, out_axis, batch_axis: layout, each an axis or a sequence of
        axes, see :func:`fans`.

    Example:
      >>> from flax import nnx
      >>> layer = nnx.Linear(64, 32, kernel_init=initlab.torch_default(),
      ...                    bias_init=initlab.torch_default_bias(fan_in=64),
      ...                    rngs=nnx.Rngs(0))

    References:
      PyTorch ``nn.Linear.reset_parameters``.
    """

    def std_of(fan_in, fan_out):
        return 1.0 / math.sqrt(3.0 * fan_in)

    return _fan_uniform_or_normal(
        "torch_default", std_of, "uniform", in_axis, out_axis, batch_axis, {}
    )


@register(
    "torch_default_bias",
    formula="U(±1/√fan_in of the kernel) (PyTorch default bias; needs fan_in or "
    "kernel_shape)",
)
def torch_default_bias(
    fan_in: int | None = None, kernel_shape: Sequence[int] | None = None
) -> InitFn:
    """PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the *kernel*.

    A bias cannot see its kernel, so tell it the kernel's fan-in, directly or
    through the kernel's shape (Flax layout): give exactly one of them.
    ``initlab.reinit`` can also fill it in from the sibling kernel (see
    ``initlab.reinit``).

    Args:
      fan_in: the kernel's fan-in (in features x receptive field).
      kernel_shape: the kernel's shape, e.g. (3, 3, 16, 32); fan-in from
        :func:`fans`.

    Raises:
      ValueError: neither or both given, or a non-positive fan-in.

    Example:
      >>> b = initlab.torch_default_bias(fan_in=64)(jax.random.key(0), (32,))

    References:
      PyTorch ``nn.Linear.reset_parameters``.
    """
    name = "torch_default_bias"
    if (fan_in is None) == (kernel_shape is None):
        raise ValueError(
            f"{name}: give exactly one of fan_in=... or kernel_shape=...; the bias "
            "bound 1/sqrt(fan_in) depends on the kernel, e.g. "
            "torch_default_bias(fan_in=64) for nnx.Linear(64, ...)."
        )
    if kernel_shape is not None:
        try:
            fan_in = fans(kernel_shape)[0]
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}: kernel_shape: {err}") from None
    if (
        isinstance(fan_in, bool)
        or not isinstance(fan_in, int | np.integer)
        or fan_in < 1
    ):
        raise ValueError(f"{name}: fan_in must be a positive int; got {fan_in!r}.")
    fan_in = int(fan_in)
    bound = 1.0 / math.sqrt(fan_in)

    def draw(key, shape, dtype):
        out = jax.random.uniform(key, shape, sample_dtype(dtype), -bound, bound)
        return out.astype(dtype)

    return InitFn(name, {"fan_in": fan_in}, draw)
