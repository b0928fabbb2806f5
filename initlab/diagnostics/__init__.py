"""Signal propagation and symmetry at (and after) initialization.

Two kinds of model:

* a plain MLP as a list of ``(kernel, bias)`` layers, ``kernel`` (in, out):
  :func:`mlp_init`, :func:`mlp_apply`, :func:`signal_stats` (one set of
  params), :func:`signal_propagation` (vmapped over keys) and
  :func:`depth_sweep` (initializers x activations x depths, a tidy table);
* any :class:`initlab.models.PureModel` that sows its hidden pre-activations
  (``model.intermediates``): :func:`model_signal_propagation`.

Statistics per layer ``l`` (``h_l = x_{l-1} W_l + b_l``, the pre-activation,
over all batch x unit entries): ``mean``, ``variance``, ``second_moment``
(``q_l = mean(h_l^2)``, mean-field theory's length), ``grad_norm`` (Frobenius
norm of ``dLoss/dW_l`` for ``Loss = mean_b 0.5 ||f(x_b) - y_b||^2``) and
``dead_fraction`` (fraction of units whose activation derivative is zero on
every example of the batch: dead ReLUs). Per network: the singular values of
the input-output Jacobian ``d h_L / d x`` at the first example (dynamical
isometry: all near 1). Symmetry: :func:`distinct_units`.

Rooms: ``mlp`` (the plain MLP: activations, init, apply), ``signal``
(per-layer statistics: :func:`signal_stats`, :func:`signal_propagation`,
:func:`model_signal_propagation`), ``sweep`` (:func:`depth_sweep`,
:func:`stats_frame`) and ``symmetry`` (:func:`distinct_units`).
"""

from initlab.diagnostics.mlp import (
    ACTIVATIONS,
    Layer,
    mlp_apply,
    mlp_init,
    mlp_preactivations,
)
from initlab.diagnostics.mlp import _activation as _activation  # used by lsuv
from initlab.diagnostics.signal import (
    JACOBIAN_STATISTICS,
    LAYER_STATISTICS,
    SignalStats,
    model_signal_propagation,
    signal_propagation,
    signal_stats,
)
from initlab.diagnostics.signal import _kernel_paths as _kernel_paths  # used by lsuv
from initlab.diagnostics.sweep import COLUMNS, depth_sweep, stats_frame
from initlab.diagnostics.symmetry import distinct_units

__all__ = [
    "ACTIVATIONS", "COLUMNS", "JACOBIAN_STATISTICS", "LAYER_STATISTICS", "Layer",
    "SignalStats", "depth_sweep", "distinct_units", "mlp_apply", "mlp_init",
    "mlp_preactivations", "model_signal_propagation", "signal_propagation",
    "signal_stats", "stats_frame",
    # private helpers shared with lsuv
    "_activation", "_kernel_paths",
]  # fmt: skip
