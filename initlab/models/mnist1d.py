"""The MNIST-1D reference models (ConvBase, the residual MLPBase, GRUBase) in NNX.

Architectures as in the MNIST-1D repository (Greydanus, ``notebooks/models.py``):
the same layers, sizes, activations, padding, flattening order and parameter
counts (ConvBase 5,210; MLPBase 15,210; GRUBase 5,134 for length-40 inputs and
10 classes). The repository's models are PyTorch, so their *default* init here
is PyTorch's: with ``kernel_init`` / ``bias_init`` None a model draws what
PyTorch's ``reset_parameters`` draws (in distribution; the random streams are
JAX's). An initializer given by the engine replaces it, as in every initlab
model.

Layouts are Flax's: a dense kernel is (in, out), a conv kernel (width, in,
out); PyTorch's weight is the transpose ((out, in) and (out, in, width)). A
PyTorch state dict maps onto these parameters by transposing each weight; the
flattening before a head follows PyTorch's order (channel-major for ConvBase,
time-major for GRUBase), so the head's kernel rows line up too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from initlab import _checks
from initlab._types import Initializer, InitializerLike
from initlab.initializers import random_uniform, torch_default, torch_default_bias
from initlab.models.conv import conv1d_patches, conv_output_length
from initlab.models.modules import _sow_preactivation, _with_channels, get_activation
from initlab.registry import get as _get_initializer


def _resolved(init: InitializerLike | None) -> Initializer | None:
    return None if init is None else _get_initializer(init)


def _or(init: Initializer | None, default: Initializer) -> Initializer:
    return default if init is None else init


def _torch_linear(
    in_features: int,
    out_features: int,
    kernel_init: Initializer | None,
    bias_init: Initializer | None,
    rngs: nnx.Rngs,
) -> nnx.Linear:
    """``nnx.Linear`` whose None inits are PyTorch's ``nn.Linear`` defaults."""
    return nnx.Linear(
        in_features,
        out_features,
        kernel_init=_or(kernel_init, torch_default()),
        bias_init=_or(bias_init, torch_default_bias(fan_in=in_features)),
        rngs=rngs,
    )


class ConvBase(nnx.Module):
    """MNIST-1D's ConvBase: three strided 1-D convolutions, flatten, linear head.

    Defaults are the reference: ``Conv1d(1, 25, 5, stride=2, padding=1)``,
    ``Conv1d(25, 25, 3, 2, 1)`` twice, ReLU after each, the (channels x length)
    features flattened channel-major as PyTorch's ``view`` does, then
    ``Linear(125, 10)``: lengths 40 -> 19 -> 10 -> 5, 5,210 parameters. Each
    conv's pre-activation (batch, length, channels) is sown under
    ``"preactivations"``.

    Args:
      in_length: input length (40 for MNIST-1D); fixes the head's size.
      num_classes: outputs (logits).
      channels: channels of every conv layer (25).
      kernel_sizes: one window per conv layer ((5, 3, 3)).
      stride: stride of every conv layer (2).
      padding: zeros on each side of every conv layer's input (1).
      in_channels: input channels (1); with 1, inputs may be (batch, length).
      activation: after each conv, a name from ``ACTIVATIONS`` or a callable.
      kernel_init: every kernel (convs and head); None: PyTorch's default,
        ``U(±1/sqrt(fan_in))`` (= ``initlab.torch_default()``).
      bias_init: every bias; None: PyTorch's default, ``U(±1/sqrt(fan_in))``
        with the fan-in of the layer's kernel.
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, or a stack of windows that does not fit
        the input length.
      TypeError: kernel_sizes not a sequence of ints.

    Example:
      >>> net = ConvBase(rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40))).shape
      (8, 10)

    References:
      Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024
      (``ConvBase`` in github.com/greydanus/mnist1d, ``notebooks/models.py``).
    """

    def __init__(
        self,
        in_length: int = 40,
        num_classes: int = 10,
        *,
        channels: int = 25,
        kernel_sizes: Sequence[int] = (5, 3, 3),
        stride: int = 2,
        padding: int = 1,
        in_channels: int = 1,
        activation: str | Callable = "relu",
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = "ConvBase"
        self.in_length = _checks.positive_int(in_length, "in_length", where=where)
        self.in_channels = _checks.positive_int(in_channels, "in_channels", where=where)
        _checks.positive_int(num_classes, "num_classes", where=where)
        _checks.positive_int(channels, "channels", where=where)
        self.stride = _checks.positive_int(stride, "stride", where=where)
        self.padding = _checks.integer(padding, "padding", low=0, where=where)
        widths = _kernel_sizes(kernel_sizes, where)
        self.act = get_activation(activation)
        kernel_init, bias_init = _resolved(kernel_init), _resolved(bias_init)
        length, sizes, convs = self.in_length, (self.in_channels,), []
        for width in widths:
            length = conv_output_length(length, width, self.stride, self.padding)
            fan_in = width * sizes[-1]
            convs.append(
                nnx.Conv(
                    sizes[-1],
                    channels,
                    (width,),
                    strides=self.stride,
                    padding=[(self.padding, self.padding)],
                    kernel_init=_or(kernel_init, torch_default()),
                    bias_init=_or(bias_init, torch_default_bias(fan_in=fan_in)),
                    rngs=rngs,
                )
            )
            sizes = (*sizes, channels)
        self.convs = nnx.List(convs)
        self.out_length = length
        self.head = _torch_linear(channels * length, num_classes, kernel_init,
                                  bias_init, rngs)  # fmt: skip

    def __call__(self, x: jax.Array) -> jax.Array:
        h = _with_channels(x, self.in_channels, 3, "ConvBase")
        if h.shape[1] != self.in_length:
            raise ValueError(
                f"ConvBase: expected length {self.in_length}; got input {h.shape}."
            )
        for conv in self.convs:
            h = conv1d_patches(h, conv.kernel[...], conv.bias[...], self.stride,
                               self.padding)  # fmt: skip
            _sow_preactivation(self, h)
            h = self.act(h)
        # PyTorch flattens (batch, channels, length): channel-major.
        h = jnp.swapaxes(h, 1, 2).reshape(h.shape[0], -1)
        return self.head(h)


def _kernel_sizes(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, int | str) or not isinstance(value, Sequence):
        raise TypeError(
            f"{where}: kernel_sizes must be a sequence of ints such as (5, 3, 3); "
            f"got {value!r}."
        )
    sizes = tuple(
        _checks.positive_int(k, "every entry of kernel_sizes", where=where)
        for k in value
    )
    if not sizes:
        raise ValueError(f"{where}: kernel_sizes must name at least one conv layer.")
    return sizes


class ResidualMLP(nnx.Module):
    """MNIST-1D's MLPBase: a ReLU MLP with one residual hidden layer.

    ``h = relu(x W1 + b1)``; ``h = h + relu(h W2 + b2)``; ``out = h W3 + b3``:
    the second hidden layer adds its ReLU output to its input (no activation
    after the sum). With 40 inputs, 100 hidden units and 10 classes: 15,210
    parameters. Both hidden pre-activations are sown under
    ``"preactivations"``. Inputs with more than two axes are flattened.

    Args:
      in_features: inputs (40 for MNIST-1D).
      num_classes: outputs (logits).
      hidden: width of both hidden layers (100).
      kernel_init, bias_init: as :class:`ConvBase` (None: PyTorch's
        ``nn.Linear`` defaults).
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, or an input of the wrong width.

    Example:
      >>> net = ResidualMLP(rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40))).shape
      (8, 10)

    References:
      Greydanus & Kobak, ICML 2024 (``MLPBase`` in github.com/greydanus/mnist1d,
      ``notebooks/models.py``).
    """

    def __init__(
        self,
        in_features: int = 40,
        num_classes: int = 10,
        *,
        hidden: int = 100,
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = "ResidualMLP"
        self.in_features = _checks.positive_int(in_features, "in_features", where=where)
        _checks.positive_int(num_classes, "num_classes", where=where)
        _checks.positive_int(hidden, "hidden", where=where)
        kernel_init, bias_init = _resolved(kernel_init), _resolved(bias_init)
        sizes = (self.in_features, hidden, hidden, num_classes)
        self.layers = nnx.List(
            [
                _torch_linear(a, b, kernel_init, bias_init, rngs)
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if x.ndim != 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"ResidualMLP: expected input (batch, {self.in_features}); got shape "
                f"{x.shape}."
            )
        first, residual, head = self.layers
        pre = first(x)
        _sow_preactivation(self, pre)
        h = jax.nn.relu(pre)
        pre = residual(h)
        _sow_preactivation(self, pre)
        h = h + jax.nn.relu(pre)
        return head(h)


class _GRUDirection(nnx.Module):
    """One direction of PyTorch's GRU: ``dense_i`` (input) and ``dense_h``."""

    def __init__(self, in_features, hidden, kernel_init, recurrent_kernel_init,
                 bias_init, rngs):  # fmt: skip
        # PyTorch's nn.GRU draws every weight and bias from U(±1/sqrt(hidden)).
        default = random_uniform(-1.0 / math.sqrt(hidden), 1.0 / math.sqrt(hidden))
        bias = _or(bias_init, default)
        self.dense_i = nnx.Linear(in_features, 3 * hidden,
                                  kernel_init=_or(kernel_init, default),
                                  bias_init=bias, rngs=rngs)  # fmt: skip
        self.dense_h = nnx.Linear(hidden, 3 * hidden,
                                  kernel_init=_or(recurrent_kernel_init, default),
                                  bias_init=bias, rngs=rngs)  # fmt: skip


def _gru_step(h: jax.Array, gi: jax.Array, w_h: jax.Array, b_h: jax.Array):
    """PyTorch's GRU update; gates (r, z, n) fused in that order."""
    gh = h @ w_h + b_h[None]
    i_r, i_z, i_n = jnp.split(gi, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(gh, 3, axis=-1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = jnp.tanh(i_n + r * h_n)  # r gates the recurrent term *with* its bias
    return (1.0 - z) * n + z * h


class GRUBase(nnx.Module):
    """MNIST-1D's GRUBase: a bidirectional GRU read at every step, linear head.

    The signal is read as ``in_length`` steps of ``in_features`` values (40
    scalars for MNIST-1D) by PyTorch's GRU (gates r, z, n; ``n = tanh(W_in x +
    b_in + r * (W_hn h + b_hn))``; zero initial state), forward and, when
    ``bidirectional``, backward. Every step's output ``[forward, backward]``
    (2 x ``hidden``) is kept, flattened time-major as PyTorch's ``reshape``
    of (batch, time, 2 hidden) does, and fed to one linear layer. Hidden 6,
    bidirectional, 40 steps, 10 classes: 324 GRU + 4,810 head = 5,134
    parameters.

    Parameter paths: ``forward/dense_i/kernel`` (in, 3 hidden) and ``/bias``,
    ``forward/dense_h/kernel`` (hidden, 3 hidden) and ``/bias`` (PyTorch's
    ``weight_ih_l0``/``bias_ih_l0``/``weight_hh_l0``/``bias_hh_l0``, transposed),
    the same under ``backward/`` (``..._reverse``), and ``head/kernel|bias``.

    Args:
      in_length: time steps (40); fixes the head's size.
      num_classes: outputs (logits).
      hidden: hidden units per direction (6).
      bidirectional: also run the sequence backward (True).
      in_features: values per time step (1); with 1, inputs may be (batch,
        time).
      kernel_init: the input kernels (``dense_i``) and the head kernel; None:
        PyTorch's defaults (GRU ``U(±1/sqrt(hidden))``, head
        ``U(±1/sqrt(fan_in))``).
      recurrent_kernel_init: the recurrent kernels (``dense_h``); None:
        PyTorch's ``U(±1/sqrt(hidden))``.
      bias_init: every bias; None: PyTorch's defaults as for the kernels.
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, or an input of the wrong shape.

    Example:
      >>> net = GRUBase(rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40))).shape
      (8, 10)

    References:
      Greydanus & Kobak, ICML 2024 (``GRUBase`` in github.com/greydanus/mnist1d,
      ``notebooks/models.py``); Cho et al., "Learning phrase representations
      using RNN encoder-decoder", 2014 (the GRU).
    """

    def __init__(
        self,
        in_length: int = 40,
        num_classes: int = 10,
        *,
        hidden: int = 6,
        bidirectional: bool = True,
        in_features: int = 1,
        kernel_init: InitializerLike | None = None,
        recurrent_kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = "GRUBase"
        self.in_length = _checks.positive_int(in_length, "in_length", where=where)
        self.in_features = _checks.positive_int(in_features, "in_features", where=where)
        _checks.positive_int(num_classes, "num_classes", where=where)
        self.hidden = _checks.positive_int(hidden, "hidden", where=where)
        self.bidirectional = _checks.boolean(
            bidirectional, "bidirectional", where=where
        )
        inits = (
            _resolved(kernel_init),
            _resolved(recurrent_kernel_init),
            _resolved(bias_init),
        )
        self.forward = _GRUDirection(self.in_features, hidden, *inits, rngs)
        self.backward = (
            _GRUDirection(self.in_features, hidden, *inits, rngs)
            if self.bidirectional
            else None
        )
        directions = 2 if self.bidirectional else 1
        self.head = _torch_linear(directions * hidden * self.in_length, num_classes,
                                  inits[0], inits[2], rngs)  # fmt: skip

    def __call__(self, x: jax.Array) -> jax.Array:
        x = _with_channels(x, self.in_features, 3, "GRUBase")
        if x.shape[1] != self.in_length:
            raise ValueError(
                f"GRUBase: expected {self.in_length} time steps; got input {x.shape}."
            )
        cells = [self.forward] + ([self.backward] if self.bidirectional else [])
        # The input projections of every step at once, (time, batch, 3 hidden);
        # the backward direction reads the sequence reversed.
        inputs = []
        for d, cell in enumerate(cells):
            xs = x if d == 0 else x[:, ::-1]
            gi = xs @ cell.dense_i.kernel[...] + cell.dense_i.bias[...][None, None]
            inputs.append(jnp.swapaxes(gi, 0, 1))
        w_h = [cell.dense_h.kernel[...] for cell in cells]
        b_h = [cell.dense_h.bias[...] for cell in cells]

        def step(hs, gis):
            new = tuple(
                _gru_step(h, gi, w, b)
                for h, gi, w, b in zip(hs, gis, w_h, b_h, strict=True)
            )
            return new, new

        h0 = tuple(jnp.zeros((x.shape[0], self.hidden), x.dtype) for _ in cells)
        _, outs = jax.lax.scan(step, h0, tuple(inputs))  # each (time, batch, hidden)
        # The backward direction's output at time t is its state after reading
        # x[T-1], ..., x[t]: un-reverse it, then [forward, backward] per step.
        outs = [outs[0]] + ([outs[1][::-1]] if self.bidirectional else [])
        seq = jnp.concatenate(outs, axis=-1)  # (time, batch, directions x hidden)
        return self.head(jnp.swapaxes(seq, 0, 1).reshape(x.shape[0], -1))
