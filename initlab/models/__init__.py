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
``rnn/cell/dense_h/kernel`` (recurrent), the cell's bias, ``head/kernel|bias``.
"""

from initlab.models.linen import from_linen
from initlab.models.modules import (
    ACTIVATIONS,
    CNN1D,
    MLP,
    GRUClassifier,
    LSTMClassifier,
    get_activation,
)
from initlab.models.pure import (
    MODELS,
    PureModel,
    cnn1d,
    from_nnx,
    from_pure,
    gru,
    lstm,
    mlp,
    num_params,
)

__all__ = [
    "ACTIVATIONS", "CNN1D", "GRUClassifier", "LSTMClassifier", "MLP", "MODELS",
    "PureModel", "cnn1d", "from_linen", "from_nnx", "from_pure", "get_activation",
    "gru", "lstm", "mlp", "num_params",
]  # fmt: skip
