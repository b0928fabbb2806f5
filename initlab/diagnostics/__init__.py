"""Signal propagation and symmetry at (and after) initialization.

Every diagnostic works on initlab's one MLP, :class:`initlab.models.MLP`
(pure form :func:`initlab.models.mlp`, params tree ``layers/<i>/kernel|bias``),
or on any :class:`initlab.models.PureModel` that sows its hidden
pre-activations (``model.intermediates``):

* :func:`signal_stats`: one MLP's params tree on one batch;
* :func:`signal_propagation`: MLPs of given widths drawn with many keys
  (vmapped, one compile per widths and activation);
* :func:`depth_sweep`: initializers x activations x depths of square MLPs,
  a tidy table (:func:`stats_frame`);
* :func:`model_signal_propagation`: any such PureModel, vmapped over keys.

Statistics per layer ``l`` (``h_l = x_{l-1} W_l + b_l``, the pre-activation,
over all batch x unit entries): ``mean``, ``variance``, ``second_moment``
(``q_l = mean(h_l^2)``, mean-field theory's length), ``grad_norm`` (Frobenius
norm of ``dLoss/dW_l`` for ``Loss = mean_b 0.5 ||f(x_b) - y_b||^2``) and
``dead_fraction`` (fraction of units whose activation derivative is zero on
every example of the batch: dead ReLUs). Per network: the singular values of
the input-output Jacobian ``d h_L / d x`` at the first example (dynamical
isometry: all near 1). Symmetry: :func:`distinct_units`.

Rooms: ``signal`` (per-layer statistics), ``sweep`` (:func:`depth_sweep`,
:func:`stats_frame`), ``symmetry`` (:func:`distinct_units`) and ``mlp``
(deprecated: :func:`mlp_init`, :func:`mlp_apply`, :func:`mlp_preactivations`
of the old list-of-``(kernel, bias)`` form, thin wrappers of the one MLP).
"""

from initlab.diagnostics.mlp import (
    ACTIVATIONS,
    Layer,
    mlp_apply,
    mlp_init,
    mlp_preactivations,
)
from initlab.diagnostics.signal import (
    JACOBIAN_STATISTICS,
    LAYER_STATISTICS,
    SignalStats,
    model_signal_propagation,
    signal_propagation,
    signal_stats,
)
from initlab.diagnostics.sweep import COLUMNS, depth_sweep, stats_frame
from initlab.diagnostics.symmetry import distinct_units

__all__ = [
    "ACTIVATIONS", "COLUMNS", "JACOBIAN_STATISTICS", "LAYER_STATISTICS", "Layer",
    "SignalStats", "depth_sweep", "distinct_units", "mlp_apply", "mlp_init",
    "mlp_preactivations", "model_signal_propagation", "signal_propagation",
    "signal_stats", "stats_frame",
]  # fmt: skip
