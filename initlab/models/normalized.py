"""Models with batch statistics and dropout: a 2-D CNN and a residual MLP.

``CNN2D`` reads the 8x8 digits as images (optional BatchNorm and dropout);
``DenseResNet`` is a ResNet of dense basic blocks with three normalizations,
``norm="batch" | "none" | "fixup"``, so the classic comparison (BatchNorm,
nothing, Fixup) is one argument. Both take ``kernel_init`` / ``bias_init``
like the other reference models; the pure factories :func:`cnn2d` and
:func:`resnet` wrap them with :func:`~initlab.models.from_nnx`, which carries
the batch statistics per restart, draws dropout masks from a per-step key,
trains in ``train()`` mode and evaluates in ``eval()`` mode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx

from initlab import _checks
from initlab._types import InitializerLike
from initlab.initializers import fixup, he_normal, zeros
from initlab.models.modules import (
    _init_kwargs,
    _positive_int,
    _sow_preactivation,
    _widths,
    get_activation,
)
from initlab.models.pure import PureModel, from_nnx

Norm = Literal["batch", "none", "fixup"]
#: The normalizations of :class:`DenseResNet`.
NORMS = ("batch", "none", "fixup")
#: Running averages of BatchNorm: ``new = m * old + (1 - m) * batch``. Flax's
#: default 0.99 averages over ~100 steps, too slow for runs of a few hundred
#: steps whose weights still move; 0.9 (PyTorch's 0.1) averages over ~10.
BN_MOMENTUM = 0.9


def _conv2d_same(
    h: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None,
    strides: Sequence[int] = (1, 1),
) -> jax.Array:
    """A "SAME" 2-D convolution (NHWC, HWIO) as patches @ kernel (im2col).

    Same numbers as ``jax.lax.conv_general_dilated`` with "SAME" padding (the
    extra row/column of an odd padding goes after, as XLA does), but vmapped
    over restarts it is one batched matmul, where ``lax.conv`` becomes a grouped
    convolution that XLA:CPU runs far slower per restart-step (see
    :class:`~initlab.models.CNN1D`).
    """
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = strides
    _, height, width, _ = h.shape
    out_h, out_w = -(-height // sh), -(-width // sw)
    pad_h = max((out_h - 1) * sh + kh - height, 0)
    pad_w = max((out_w - 1) * sw + kw - width, 0)
    h = jnp.pad(
        h,
        ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
         (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
    )  # fmt: skip
    span_h, span_w = (out_h - 1) * sh + 1, (out_w - 1) * sw + 1
    patches = jnp.stack(
        [
            h[:, i : i + span_h : sh, j : j + span_w : sw]
            for i in range(kh)
            for j in range(kw)
        ],
        axis=3,
    )  # (batch, out_h, out_w, kh * kw, c_in), window row-major as the kernel
    out = jnp.einsum("bhwkc,kco->bhwo", patches, kernel.reshape(kh * kw, c_in, c_out))
    return out if bias is None else out + bias.reshape(1, 1, 1, c_out)


def _avg_pool2(h: jax.Array) -> jax.Array:
    """2x2 average pooling, stride 2, VALID (an odd last row/column is dropped)."""
    b, height, width, c = h.shape
    h = h[:, : 2 * (height // 2), : 2 * (width // 2)]
    return h.reshape(b, height // 2, 2, width // 2, 2, c).mean(axis=(2, 4))


def _fraction(value: Any, what: str, where: str) -> float:
    value = _checks.number(value, what, where=where, nonnegative=True)
    if value >= 1:
        raise ValueError(f"{where}: {what} must be in [0, 1); got {value}.")
    return value


def _image(x: jax.Array, shape: tuple[int, int, int], where: str) -> jax.Array:
    """(batch, H*W*C), (batch, H, W) when C == 1, or (batch, H, W, C) -> NHWC."""
    x = jnp.asarray(x)
    height, width, channels = shape
    if x.ndim == 2 and x.shape[1] == height * width * channels:
        return x.reshape(x.shape[0], height, width, channels)
    if x.ndim == 3 and channels == 1 and x.shape[1:] == (height, width):
        return x[..., None]
    if x.ndim == 4 and x.shape[1:] == shape:
        return x
    raise ValueError(
        f"{where}: expected input (batch, {height}, {width}, {channels}) or "
        f"(batch, {height * width * channels}) (flattened row by row)"
        + (f" or (batch, {height}, {width})" if channels == 1 else "")
        + f"; got shape {x.shape}. Set image_shape to the task's images."
    )


class CNN2D(nnx.Module):
    """3x3 "SAME" convolutions, each with 2x2 average pooling, and a dense head.

    Each conv layer is ``conv -> [BatchNorm] -> activation -> 2x2 average pool``
    (on the 8x8 digits with two layers: 8x8 -> 4x4 -> 2x2), then the last
    feature map is flattened, optionally dropped out, and a dense head gives
    the logits. (A global average pool instead of the flattening measured
    0.65 against 0.92 test accuracy on digits after 300 steps: on 8x8 images
    where a stroke is matters.) With BatchNorm the convolutions have no bias
    (BatchNorm's own shift replaces it). Each conv pre-activation (after
    BatchNorm) is sown under ``"preactivations"``. Convolutions run as
    patches @ kernel (fast under ``vmap`` over restarts), equal to
    ``lax.conv_general_dilated``.

    Args:
      image_shape: (height, width, channels) of an input image; inputs may
        also come flattened, (batch, height * width * channels) row by row
        (the digits' 64 pixels), or (batch, height, width) with one channel.
      channels: output channels per conv layer, e.g. (16, 32).
      num_classes: outputs of the head (logits).
      kernel_size: square conv window (3).
      activation: name from ``ACTIVATIONS`` or a callable.
      batch_norm: BatchNorm after every convolution (train mode: batch
        statistics, updating running averages; eval mode: the averages).
      dropout: rate of dropout on the pooled features before the head (0: none).
      bn_momentum: BatchNorm's running-average momentum (``BN_MOMENTUM``).
      kernel_init: every kernel (convs and head); None keeps Flax's default
        (lecun_normal).
      bias_init: every bias; None gives zeros.
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, a rate outside [0, 1), or more layers
        than 2x2 poolings fit (the map must stay at least 1x1).

    Example:
      >>> net = CNN2D((8, 8, 1), (16, 32), 10, batch_norm=True, rngs=nnx.Rngs(0))
      >>> net(jnp.ones((4, 64))).shape
      (4, 10)
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (8, 8, 1),
        channels: Sequence[int] = (16, 32),
        num_classes: int = 10,
        *,
        kernel_size: int = 3,
        activation: str | Callable = "relu",
        batch_norm: bool = False,
        dropout: float = 0.0,
        bn_momentum: float = BN_MOMENTUM,
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = "CNN2D"
        shape = _widths(image_shape, "image_shape", where)
        if len(shape) != 3:
            raise ValueError(
                f"{where}: image_shape must be (height, width, channels), e.g. "
                f"(8, 8, 1); got {image_shape!r}."
            )
        self.image_shape = shape
        chans = _widths(channels, "channels", where)
        if not chans:
            raise ValueError(f"{where}: channels must name at least one conv layer.")
        if min(shape[:2]) < 2 ** len(chans):
            raise ValueError(
                f"{where}: {len(chans)} conv layers pool {shape[0]}x{shape[1]} "
                f"images below 1x1 (each halves the size); use at most "
                f"{min(shape[:2]).bit_length() - 1} layers."
            )
        _positive_int(num_classes, "num_classes", where)
        _positive_int(kernel_size, "kernel_size", where)
        self.batch_norm = _checks.boolean(batch_norm, "batch_norm", where=where)
        rate = _fraction(dropout, "dropout", where)
        momentum = _fraction(bn_momentum, "bn_momentum", where)
        self.act = get_activation(activation)
        inits = _init_kwargs(kernel_init=kernel_init, bias_init=bias_init)
        sizes = (shape[2], *chans)
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        self.convs = nnx.List([
            nnx.Conv(a, b, (kernel_size, kernel_size), padding="SAME",
                     use_bias=not self.batch_norm, rngs=rngs, **inits)
            for a, b in pairs
        ])  # fmt: skip
        self.norms = nnx.List(
            [nnx.BatchNorm(b, momentum=momentum, rngs=rngs) for _, b in pairs]
            if self.batch_norm
            else []
        )
        self.dropout = nnx.Dropout(rate, rngs=rngs) if rate > 0 else None
        n = len(chans)
        features = (shape[0] >> n) * (shape[1] >> n) * sizes[-1]
        self.head = nnx.Linear(features, num_classes, rngs=rngs, **inits)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = _image(x, self.image_shape, "CNN2D")
        for i, conv in enumerate(self.convs):
            bias = None if self.batch_norm else conv.bias[...]
            h = _conv2d_same(h, conv.kernel[...], bias)
            if self.batch_norm:
                h = self.norms[i](h)
            _sow_preactivation(self, h)
            h = _avg_pool2(self.act(h))
        h = h.reshape(h.shape[0], -1)
        if self.dropout is not None:
            h = self.dropout(h)
        return self.head(h)


class _Block(nnx.Module):
    """One residual basic block: ``act(h + branch(h))``; see :class:`DenseResNet`."""

    def __init__(self, width, layers, norm, momentum, kernel_inits, bias_init,
                 act, rngs):  # fmt: skip
        self.norm = norm
        self.act = act
        self.layers = nnx.List([
            nnx.Linear(width, width, use_bias=norm == "none", kernel_init=k,
                       rngs=rngs, **bias_init)
            for k in kernel_inits
        ])  # fmt: skip
        self.norms = nnx.List(
            [nnx.BatchNorm(width, momentum=momentum, rngs=rngs)
             for _ in range(layers)] if norm == "batch" else []
        )  # fmt: skip
        if norm == "fixup":
            # Fixup's scalars: a bias before each layer, one before each inner
            # activation and one after the branch's multiplier.
            self.bias_in = nnx.Param(jnp.zeros((layers,)))
            self.bias_out = nnx.Param(jnp.zeros((layers,)))
            self.multiplier = nnx.Param(jnp.ones(()))

    def __call__(self, h: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(block output, its pre-activation ``h + branch(h)``)."""
        z = h
        last = len(self.layers) - 1
        for j, layer in enumerate(self.layers):
            if self.norm == "fixup":
                z = layer(z + self.bias_in[j])
                if j == last:
                    z = z * self.multiplier[...]
                z = z + self.bias_out[j]
            else:
                z = layer(z)
                if self.norm == "batch":
                    z = self.norms[j](z)
            if j < last:
                z = self.act(z)
        pre = h + z
        return self.act(pre), pre


class DenseResNet(nnx.Module):
    """A ResNet of dense basic blocks: BatchNorm, no normalization, or Fixup.

    ``x -> stem -> num_blocks x [h -> act(h + branch(h))] -> head``, the
    post-activation ("v1") block of He et al. with dense layers of ``width``
    units; a branch is ``branch_layers`` (m) dense layers with the activation
    between them. By ``norm``:

    * ``"batch"``: BatchNorm after every dense layer but the head (stem and
      branch layers have no bias: BatchNorm's shift replaces it).
    * ``"none"``: the same net without BatchNorm, every layer with a bias.
    * ``"fixup"`` (Zhang, Dauphin & Ma, 2019): no normalization and no
      per-unit biases but the head's; a scalar bias before each branch layer,
      one before each activation (stem included) and before the head, and a
      scalar multiplier per branch (biases start at 0, multipliers at 1). The
      last layer of each branch and the head's kernel start at zero; the other
      branch layers draw ``kernel_init`` times ``L^{-1/(2m-2)}`` with ``L =
      num_blocks`` (:func:`initlab.fixup`); the stem draws ``kernel_init``.

    Dense rather than convolutional blocks: what normalization and Fixup act
    on, the residual stream and the scale of each branch, is the same in both
    (Fixup's rule depends only on L and m), and a 3x3 conv layer of only 16
    channels on the 8x8 digits costs 64 * 9 * 16^2, ~36x the multiply-adds of
    a dense layer of width 64 per example: on two CPU cores, too few
    restarts per cell.

    The engine passes one ``kernel_init`` for every kernel; the model decides
    how each layer uses it (above). The residual stream's pre-activations
    (the stem's, then each block's ``h + branch(h)``) are sown under
    ``"preactivations"`` (1 + num_blocks arrays of (batch, width)).

    Args:
      in_features: input features (inputs with more axes are flattened).
      num_classes: outputs (logits).
      norm: "batch", "none" or "fixup".
      num_blocks: residual blocks L (>= 1).
      width: units of every hidden layer.
      branch_layers: dense layers m per branch (>= 2).
      activation: name from ``ACTIVATIONS`` or a callable (Fixup's scale
        assumes a ReLU-like one).
      bn_momentum: BatchNorm's running-average momentum (``BN_MOMENTUM``).
      kernel_init: the base initializer of the kernels; None: He normal (the
        usual init of ReLU ResNets, and the one Fixup rescales).
      bias_init: every per-unit bias (None: zeros); Fixup's scalars always
        start at 0 (biases) and 1 (multipliers).
      rngs: ``nnx.Rngs``.

    Raises:
      ValueError: non-positive sizes, fewer than 2 layers per branch, an
        unknown norm or activation, a momentum outside [0, 1).

    Example:
      >>> net = DenseResNet(64, 10, norm="fixup", num_blocks=4, rngs=nnx.Rngs(0))
      >>> net(jnp.ones((8, 64))).shape
      (8, 10)

    References:
      He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition",
      CVPR 2016; Ioffe & Szegedy, "Batch Normalization", ICML 2015; Zhang,
      Dauphin & Ma, "Fixup Initialization: Residual Learning Without
      Normalization", ICLR 2019.
    """

    def __init__(
        self,
        in_features: int = 64,
        num_classes: int = 10,
        *,
        norm: Norm = "batch",
        num_blocks: int = 8,
        width: int = 64,
        branch_layers: int = 2,
        activation: str | Callable = "relu",
        bn_momentum: float = BN_MOMENTUM,
        kernel_init: InitializerLike | None = None,
        bias_init: InitializerLike | None = None,
        rngs: nnx.Rngs,
    ):
        where = "DenseResNet"
        self.in_features = _positive_int(in_features, "in_features", where)
        _positive_int(num_classes, "num_classes", where)
        self.norm = _checks.choice(norm, NORMS, "norm", where=where)
        blocks = _positive_int(num_blocks, "num_blocks", where)
        width = _positive_int(width, "width", where)
        m = _checks.integer(branch_layers, "branch_layers", low=2, where=where)
        momentum = _fraction(bn_momentum, "bn_momentum", where)
        self.act = get_activation(activation)
        base = _init_kwargs(kernel_init=kernel_init).get("kernel_init", he_normal())
        bias = _init_kwargs(bias_init=bias_init)
        if self.norm == "fixup":
            inner = fixup(base, num_branches=blocks, branch_layers=m)
            branch_inits = [inner] * (m - 1) + [zeros()]
            head_init = zeros()
        else:
            branch_inits, head_init = [base] * m, base
        self.stem = nnx.Linear(self.in_features, width, kernel_init=base,
                               use_bias=self.norm == "none", rngs=rngs,
                               **bias)  # fmt: skip
        if self.norm == "batch":
            self.stem_norm = nnx.BatchNorm(width, momentum=momentum, rngs=rngs)
        if self.norm == "fixup":
            self.stem_bias = nnx.Param(jnp.zeros(()))
            self.head_bias = nnx.Param(jnp.zeros(()))
        self.blocks = nnx.List([
            _Block(width, m, self.norm, momentum, branch_inits, bias, self.act,
                   rngs)
            for _ in range(blocks)
        ])  # fmt: skip
        self.head = nnx.Linear(width, num_classes, kernel_init=head_init, rngs=rngs,
                               **bias)  # fmt: skip

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if x.ndim != 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"DenseResNet: expected input (batch, {self.in_features}); got "
                f"shape {x.shape}."
            )
        h = self.stem(x)
        if self.norm == "batch":
            h = self.stem_norm(h)
        elif self.norm == "fixup":
            h = h + self.stem_bias[...]
        _sow_preactivation(self, h)
        h = self.act(h)
        for block in self.blocks:
            h, pre = block(h)
            _sow_preactivation(self, pre)
        if self.norm == "fixup":
            h = h + self.head_bias[...]
        return self.head(h)


def cnn2d(
    image_shape: Sequence[int] = (8, 8, 1),
    channels: Sequence[int] = (16, 32),
    num_classes: int = 10,
    kernel_size: int = 3,
    activation: str | Callable = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    bn_momentum: float = BN_MOMENTUM,
) -> PureModel:
    """A pure :class:`CNN2D` (arguments as there; defaults fit the digits).

    With BatchNorm or dropout the model has state or randomness: ``initlab.train``
    carries the batch statistics per restart, gives dropout a new key every
    step, trains in train mode and evaluates in eval mode.

    Returns:
      ``PureModel`` named e.g. ``"cnn2d-16-32-bn"``.

    Raises:
      ValueError, TypeError: as :class:`CNN2D` (raised here, not at init).

    Example:
      >>> model = cnn2d(batch_norm=True, dropout=0.1)   # digits, 10 classes
      >>> model.name
      'cnn2d-16-32-bn-drop0.1'
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return CNN2D(image_shape, channels, num_classes, kernel_size=kernel_size,
                     activation=activation, batch_norm=batch_norm,
                     dropout=dropout, bn_momentum=bn_momentum,
                     kernel_init=kernel_init, bias_init=bias_init,
                     rngs=rngs)  # fmt: skip

    model = from_nnx(factory)  # builds it abstractly: argument errors raise here
    name = "cnn2d-" + "-".join(map(str, channels))
    name += "-bn" if batch_norm else ""
    name += f"-drop{dropout:g}" if dropout else ""
    return dataclasses.replace(model, name=name)


def resnet(
    in_features: int = 64,
    num_classes: int = 10,
    norm: Norm = "batch",
    num_blocks: int = 8,
    width: int = 64,
    branch_layers: int = 2,
    activation: str | Callable = "relu",
    bn_momentum: float = BN_MOMENTUM,
) -> PureModel:
    """A pure :class:`DenseResNet` (arguments as there; defaults fit the digits).

    ``norm="batch"`` has batch statistics (carried per restart by
    ``initlab.train``; evaluation uses the running averages); "none" and
    "fixup" are stateless.

    Returns:
      ``PureModel`` named e.g. ``"resnet-batch-8x64"`` (blocks x width).

    Raises:
      ValueError, TypeError: as :class:`DenseResNet` (raised here).

    Example:
      >>> models = {n: resnet(norm=n) for n in ("batch", "none", "fixup")}
      >>> out = initlab.train("digits", initlab.he_normal(), num_restarts=4,
      ...                     steps=100, model=models["fixup"], progress=False)
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return DenseResNet(in_features, num_classes, norm=norm,
                           num_blocks=num_blocks, width=width,
                           branch_layers=branch_layers, activation=activation,
                           bn_momentum=bn_momentum, kernel_init=kernel_init,
                           bias_init=bias_init, rngs=rngs)  # fmt: skip

    # from_nnx builds it abstractly, so argument errors raise here.
    return from_nnx(factory, f"resnet-{norm}-{num_blocks}x{width}")
