"""Reference Flax NNX models and the pure ``(init, apply)`` interface of the engine.

Every model takes ``kernel_init`` / ``bias_init`` so an initializer can be swapped
without touching the model's code. The engine never sees a module: it sees a
:class:`PureModel`, two pure functions that work under ``jax.jit`` and
``jax.vmap`` (over init keys, over parameter stacks):

* ``init(key, kernel_init=None, bias_init=None) -> params`` (an ``nnx.State`` of
  the model's ``nnx.Param`` leaves, no leading axis);
* ``apply(params, x) -> outputs`` of shape (batch, out).

Parameter paths (for :func:`initlab.reinit` rules) of the reference models:
``MLP``: ``layers/<i>/kernel|bias`` (output layer last); ``CNN1D``:
``convs/<i>/kernel|bias`` and ``head/kernel|bias``; ``GRUClassifier`` /
``LSTMClassifier``: ``rnn/cell/dense_i/kernel`` (input),
``rnn/cell/dense_h/kernel`` (recurrent), the cell's bias, ``head/kernel|bias``;
``CNN2D``: ``convs/<i>/kernel|bias``, ``norms/<i>/scale|bias`` (BatchNorm),
``head/kernel|bias``; ``DenseResNet``: ``stem/kernel``,
``blocks/<b>/layers/<j>/kernel`` (branch layer j of block b), BatchNorm's
``stem_norm`` and ``blocks/<b>/norms/<j>``, Fixup's ``blocks/<b>/bias_in``,
``bias_out``, ``multiplier``, ``stem_bias``, ``head_bias``, and ``head/kernel|bias``.

The MNIST-1D reference models (:mod:`initlab.models.mnist1d`, PyTorch's
default init when no initializer is given; ``MODELS`` names in brackets):
``ConvBase`` / :func:`conv_base` ["mnist1d_conv"]: ``convs/<i>/kernel|bias``,
``head/kernel|bias``; ``ResidualMLP`` / :func:`residual_mlp` ["mnist1d_mlp"]:
``layers/<i>/kernel|bias``; ``GRUBase`` / :func:`gru_base` ["mnist1d_gru"]:
``forward|backward/dense_i|dense_h/kernel|bias``, ``head/kernel|bias``.
"""

from initlab.models.conv import conv1d_patches, conv_output_length
from initlab.models.linen import from_linen
from initlab.models.mnist1d import ConvBase, GRUBase, ResidualMLP
from initlab.models.modules import (
    ACTIVATIONS,
    CNN1D,
    MLP,
    GRUClassifier,
    LSTMClassifier,
    get_activation,
)
from initlab.models.normalized import (
    CNN2D,
    NORMS,
    DenseResNet,
    cnn2d,
    resnet,
)
from initlab.models.pure import (
    MODELS,
    PureModel,
    cnn1d,
    conv_base,
    from_nnx,
    from_pure,
    gru,
    gru_base,
    lstm,
    mlp,
    mlp_from_params,
    num_params,
    residual_mlp,
)

# The registry is complete once this package is imported (pure.py cannot name
# these models: normalized.py builds them with its from_nnx).
MODELS.update(cnn2d=cnn2d, resnet=resnet)

__all__ = [
    "ACTIVATIONS", "CNN1D", "CNN2D", "ConvBase", "DenseResNet", "GRUBase",
    "GRUClassifier", "LSTMClassifier", "MLP", "MODELS", "NORMS", "PureModel",
    "ResidualMLP", "cnn1d", "cnn2d", "conv1d_patches", "conv_base",
    "conv_output_length", "from_linen", "from_nnx", "from_pure", "get_activation",
    "gru", "gru_base", "lstm", "mlp", "mlp_from_params", "num_params",
    "residual_mlp", "resnet",
]  # fmt: skip
