"""Initializers from the literature: ZerO, depth scaling, edge of chaos, filter
banks (Gabor, DCT, Haar) and perturbations of pretrained parameters.

Every ``(key, shape, dtype)`` initializer here is an :class:`InitFn` made by a
factory that validates its hyper-parameters; ``perturbed`` works on a whole
parameter tree instead and returns ``(key) -> params``.

The factories live in one module per concept (:mod:`~initlab.initializers.zero`,
:mod:`~initlab.initializers.depth`, :mod:`~initlab.initializers.mean_field`,
:mod:`~initlab.initializers.filter_banks`, :mod:`~initlab.initializers.pretrained`);
this module gathers them by origin.
"""

from initlab.initializers.depth import (
    SCHEDULE_KINDS,
    SPACINGS,
    ScheduleKind,
    depth_scaled,
    depth_schedule,
    fixup,
    fixup_scale,
    gpt2_residual,
    gpt2_scale,
    schedule_scale,
)
from initlab.initializers.filter_banks import dct, gabor, haar
from initlab.initializers.mean_field import (
    EOC_ACTIVATIONS,
    MEAN_FIELD_ACTIVATIONS,
    EocActivation,
    MeanFieldActivation,
    chi_1,
    critical_sigma_w,
    edge_of_chaos,
    edge_of_chaos_bias,
    fixed_point_q,
    mean_field_q,
    variance_map,
)
from initlab.initializers.pretrained import perturbed
from initlab.initializers.zero import zero_init

__all__ = [
    "EOC_ACTIVATIONS", "EocActivation", "MEAN_FIELD_ACTIVATIONS",
    "MeanFieldActivation", "SCHEDULE_KINDS", "SPACINGS", "ScheduleKind", "chi_1",
    "critical_sigma_w", "dct", "depth_scaled", "depth_schedule", "edge_of_chaos",
    "edge_of_chaos_bias", "fixed_point_q", "fixup", "fixup_scale", "gabor",
    "gpt2_residual", "gpt2_scale", "haar", "mean_field_q", "perturbed",
    "schedule_scale", "variance_map", "zero_init",
]  # fmt: skip
