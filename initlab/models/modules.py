"""Reference Flax NNX models (MLP, CNN1D, GRU/LSTM classifiers) and activations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from initlab._types import Initializer, InitializerLike
from initlab.registry import get as _get_initializer

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "erf": jax.scipy.special.erf,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "selu": jax.nn.selu,
    "elu": jax.nn.elu,
    "leaky_relu": jax.nn.leaky_relu,  # slope 0.01, as jax and PyTorch
    "linear": lambda x: x,
    "softplus": jax.nn.softplus,
    "silu": jax.nn.silu,
}


def get_activation(name_or_fn: str | Callable[[jax.Array], jax.Array]) -> Callable:
    """An activation function from its name, or the callable itself.

    Args:
      name_or_fn: one of ``ACTIVATIONS`` ("relu", "tanh", "erf", "sigmoid",
        "gelu", "selu", "elu", "leaky_relu", "linear", "softplus", "silu") or a
        callable.

    Returns:
      ``f(x) -> y``, elementwise.

    Raises:
      ValueError: an unknown name (the message lists the valid ones).
      TypeError: neither a string nor a callable.

    Example:
      >>> get_activation("tanh")(jnp.zeros(3))
      Array([0., 0., 0.], dtype=float32)
    """
    if callable(name_or_fn):
        return name_or_fn
    if isinstance(name_or_fn, str):
        if name_or_fn not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {name_or_fn!r}; valid names: "
                f"{', '.join(sorted(ACTIVATIONS))}, or pass a callable."
            )
        return ACTIVATIONS[name_or_fn]
    raise TypeError(
        f"activation must be a name such as 'relu' or a callable; got "
        f"{type(name_or_fn).__name__} {name_or_fn!r:.60}."
    )


def _init_kwargs(**inits: InitializerLike | None) -> dict[str, Initializer]:
    """Resolved initializers for the ones given; a None keeps Flax's default."""
    return {k: _get_initializer(v) for k, v in inits.items() if v is not None}


def _positive_int(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive int; got {value!r}.")
    return value


def _widths(value: Any, what: str, where: str) -> tuple[int, ...]:
    if isinstance(value, int | str) or not isinstance(value, Sequence):
        raise TypeError(
            f"{where}: {what} must be a sequence of ints such as (64, 64); got "
            f"{value!r}."
        )
    return tuple(_positive_int(w, f"every entry of {what}", where) for w in value)


class MLP(nnx.Module):
    """A fully connected network; sows each hidden pre-activation.

    ``x -> act(x W_0 + b_0) -> ... -> output_act(h W_L + b_L)``. Inputs with more
    than two axes are flattened to (batch, features). Each hidden layer's
    pre-activation is sown as ``nnx.Intermediate`` under ``"preactivations"`` (a
    tuple, first layer first) for signal-propagation diagnostics; collect them
    with ``nnx.capture(net, nnx.Intermediate)(x)`` (plain calls do not sow).

    Args:
      in_features: input features (product of the non-batch input axes).
      widths: hidden widths, e.g. (128, 128); () gives a linear model.
      out_features: output units.
      activation: hidden activation, a name from ``ACTIVATIONS`` or a callable.
      output_activation: None (identity: logits) or as ``activation``.
      kernel_init: initializer (or name/config for ``initlab.get``) of every
        kernel; None keeps Flax's default (lecun_normal).
      bias_init: of every bias; None gives zeros.
      use_bias: whether layers have biases.
      param_dtype: dtype of the parameters (default float32); initializers
        draw in it.
      rngs: ``nnx.Rngs``; each layer draws from its own split of it.

    Raises:
      ValueError: non-positive sizes or an unknown activation name.
      TypeError: widths not a sequence.

    Example:
      >>> net = MLP(2, (2,), 1, activation="sigmoid", output_activation="sigmoid",
      ...           kernel_init=initlab.random_uniform(-1.0, 1.0), rngs=nnx.Rngs(0))
      >>> net(jnp.ones((4, 2))).shape
      (4, 1)
    """

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int],
        out_features: int,
        *,
        activation: str | Callable = "relu",
        output_activation: str | Callable | None = None,
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        use_bias: bool = True,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        sizes = (
            _positive_int(in_features, "in_features", "MLP"),
            *_widths(widths, "widths", "MLP"),
            _positive_int(out_features, "out_features", "MLP"),
        )
        self.act = get_activation(activation)
        self.output_act = (
            None if output_activation is None else get_activation(output_activation)
        )
        inits = _init_kwargs(kernel_init=kernel_init, bias_init=bias_init)
        self.layers = nnx.List(
            [
                nnx.Linear(
                    a, b, use_bias=use_bias, param_dtype=param_dtype, rngs=rngs, **inits
                )  # fmt: skip
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )
        self.in_features = sizes[0]

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if x.ndim != 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"MLP: expected input (batch, {self.in_features}); got shape {x.shape}."
            )
        h = x
        for layer in self.layers[:-1]:
            h = layer(h)
            _sow_preactivation(self, h)
            h = self.act(h)
        h = self.layers[-1](h)
        return h if self.output_act is None else self.output_act(h)


def _sow_preactivation(module: nnx.Module, h: jax.Array) -> None:
    """Sows ``h`` under "preactivations" when a caller captures intermediates.

    Flax 0.12 deprecates ``sow`` outside ``nnx.capture`` (it warns and stores an
    attribute on the module), so plain calls skip it; ``nnx.capture(model,
    nnx.Intermediate)`` (or ``PureModel.intermediates``) collects the values.
    """
    if hasattr(module, "__captures__"):
        module.sow(nnx.Intermediate, "preactivations", h)


def _with_channels(x: jax.Array, channels: int, ndim: int, where: str) -> jax.Array:
    """(batch, length) -> (batch, length, 1) when the model takes one channel."""
    x = jnp.asarray(x)
    if x.ndim == ndim - 1 and channels == 1:
        x = x[..., None]
    if x.ndim != ndim or x.shape[-1] != channels:
        raise ValueError(
            f"{where}: expected input (batch, length, {channels})"
            + (" or (batch, length)" if channels == 1 else "")
            + f"; got shape {x.shape}."
        )
    return x


def _conv1d_same(
    h: jax.Array, kernel: jax.Array, bias: jax.Array, stride: Any
) -> jax.Array:
    """A "SAME" 1-D convolution as patches @ kernel (im2col).

    Same numbers as ``nnx.Conv`` (whose parameters it uses), but vmapped over
    restarts it is one batched matmul, where ``lax.conv`` becomes a grouped
    convolution that XLA:CPU ran ~10x slower per restart-step.
    """
    stride = stride[0] if isinstance(stride, tuple | list) else int(stride)
    k, length = kernel.shape[0], h.shape[1]
    out_len = -(-length // stride)
    pad = max((out_len - 1) * stride + k - length, 0)
    h = jnp.pad(h, ((0, 0), (pad // 2, pad - pad // 2), (0, 0)))
    span = (out_len - 1) * stride + 1
    patches = jnp.stack([h[:, j : j + span : stride] for j in range(k)], axis=2)
    return jnp.einsum("blki,kio->blo", patches, kernel) + bias[None, None, :]


class CNN1D(nnx.Module):
    """1-D convolutions (SAME padding), global average pool, dense head.

    Each conv layer has stride ``stride`` (2 by default: it halves the length so
    deeper layers see more of the signal) and is followed by the activation; its
    pre-activation is sown under ``"preactivations"``.

    Args:
      in_length: input length (checked only to catch a transposed input).
      in_channels: input channels; with 1, inputs may be (batch, length).
      channels: output channels per conv layer, e.g. (32, 32).
      num_classes: outputs of the head (logits).
      kernel_size: conv window.
      activation: name from ``ACTIVATIONS`` or a callable.
      kernel_init, bias_init: as :class:`MLP` (applied to convs and head).
      stride: conv stride.
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes or unknown activation.

    Example:
      >>> net = CNN1D(40, 1, (16, 16), 10, rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40))).shape
      (8, 10)
    """

    def __init__(
        self,
        in_length: int,
        in_channels: int,
        channels: Sequence[int],
        num_classes: int,
        *,
        kernel_size: int = 5,
        activation: str | Callable = "relu",
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        stride: int = 2,
        rngs: nnx.Rngs,
    ):
        self.in_length = _positive_int(in_length, "in_length", "CNN1D")
        self.in_channels = _positive_int(in_channels, "in_channels", "CNN1D")
        chans = _widths(channels, "channels", "CNN1D")
        if not chans:
            raise ValueError("CNN1D: channels must name at least one conv layer.")
        _positive_int(num_classes, "num_classes", "CNN1D")
        _positive_int(kernel_size, "kernel_size", "CNN1D")
        _positive_int(stride, "stride", "CNN1D")
        self.act = get_activation(activation)
        inits = _init_kwargs(kernel_init=kernel_init, bias_init=bias_init)
        sizes = (self.in_channels, *chans)
        self.convs = nnx.List(
            [
                nnx.Conv(
                    a,
                    b,
                    (kernel_size,),
                    strides=stride,
                    padding="SAME",
                    rngs=rngs,
                    **inits,
                )  # fmt: skip
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )
        self.head = nnx.Linear(sizes[-1], num_classes, rngs=rngs, **inits)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = _with_channels(x, self.in_channels, 3, "CNN1D")
        if h.shape[1] != self.in_length:
            raise ValueError(
                f"CNN1D: expected length {self.in_length}; got input {h.shape}."
            )
        for conv in self.convs:
            h = _conv1d_same(h, conv.kernel[...], conv.bias[...], conv.strides)
            _sow_preactivation(self, h)
            h = self.act(h)
        return self.head(h.mean(axis=1))


class _RNNClassifier(nnx.Module):
    """Shared body: ``nnx.RNN`` over time, last hidden state -> dense head."""

    _cell_type: type[nnx.Module]
    _two_carries: bool

    def __init__(
        self,
        in_features: int,
        hidden: int,
        num_classes: int,
        *,
        kernel_init: InitializerLike | None = None,
        recurrent_kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = type(self).__name__
        self.in_features = _positive_int(in_features, "in_features", where)
        self.hidden = _positive_int(hidden, "hidden", where)
        _positive_int(num_classes, "num_classes", where)
        cell_inits = _init_kwargs(
            kernel_init=kernel_init,
            recurrent_kernel_init=recurrent_kernel_init,
            bias_init=bias_init,
        )
        cell = self._cell_type(in_features, hidden, rngs=rngs, **cell_inits)
        self.rnn = nnx.RNN(cell, rngs=False)
        head_inits = _init_kwargs(kernel_init=kernel_init, bias_init=bias_init)
        self.head = nnx.Linear(hidden, num_classes, rngs=rngs, **head_inits)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = _with_channels(x, self.in_features, 3, type(self).__name__)
        # The zero carry built here: the cells' own initialize_carry wants an RNG
        # stream even for zeros, and a stored stream would be key-dependent state.
        zeros = jnp.zeros((x.shape[0], self.hidden), x.dtype)
        carry = (zeros, zeros) if self._two_carries else zeros
        hs = self.rnn(x, initial_carry=carry)  # (batch, time, hidden)
        return self.head(hs[:, -1])


class GRUClassifier(_RNNClassifier):
    """A GRU (``nnx.GRUCell``) over time; the last hidden state feeds a dense head.

    Input (batch, time, features); with ``in_features=1`` also (batch, time)
    (MNIST-1D's 40 samples as a sequence of 40 scalars).

    Args:
      in_features: features per time step.
      hidden: hidden units.
      num_classes: outputs (logits).
      kernel_init: input kernel (``rnn/cell/dense_i/kernel``) and head kernel;
        None keeps Flax's defaults (lecun_normal).
      recurrent_kernel_init: ``rnn/cell/dense_h/kernel``, shape (hidden,
        3 hidden) (gates fused, Keras layout); None keeps Flax's orthogonal.
      bias_init: the cell's and head's biases; None gives zeros.
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, or an input of the wrong shape.

    Example:
      >>> net = GRUClassifier(1, 32, 10, recurrent_kernel_init=initlab.orthogonal(),
      ...                     rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40))).shape
      (8, 10)
    """

    _cell_type = nnx.GRUCell
    _two_carries = False


class LSTMClassifier(_RNNClassifier):
    """An LSTM (``nnx.OptimizedLSTMCell``, gates fused) with a dense head.

    Arguments as :class:`GRUClassifier`; the recurrent kernel
    ``rnn/cell/dense_h/kernel`` has shape (hidden, 4 hidden) (Keras layout, so an
    orthogonal init is orthogonal over the fused gates, as in Keras) and the
    bias lives in ``rnn/cell/dense_h/bias``.

    Example:
      >>> net = LSTMClassifier(1, 32, 10, rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 40, 1))).shape
      (8, 10)
    """

    _cell_type = nnx.OptimizedLSTMCell
    _two_carries = True  # (c, h)
