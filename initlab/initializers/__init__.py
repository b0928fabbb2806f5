"""Every initializer factory; each returns a pure ``init(key, shape, dtype)``."""

from initlab.initializers._core import InitFn
from initlab.initializers.basic import (
    constant,
    ones,
    random_normal,
    random_uniform,
    truncated_normal,
    zeros,
)
from initlab.initializers.depth import (
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
    chi_1,
    critical_sigma_w,
    edge_of_chaos,
    edge_of_chaos_bias,
    fixed_point_q,
)
from initlab.initializers.pretrained import perturbed
from initlab.initializers.structured import (
    delta_orthogonal,
    dirac,
    identity,
    orthogonal,
    sparse,
)
from initlab.initializers.torch import (
    gain,
    kaiming_normal,
    kaiming_uniform,
    torch_default,
    torch_default_bias,
    xavier_normal,
    xavier_uniform,
)
from initlab.initializers.variance import (
    TRUNCATED_STD,
    fans,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)
from initlab.initializers.zero import zero_init

__all__ = [
    "TRUNCATED_STD", "InitFn", "constant", "delta_orthogonal", "dirac", "fans",
    "gain", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "identity", "kaiming_normal", "kaiming_uniform", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "sparse", "torch_default", "torch_default_bias", "truncated_normal",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
    # from the literature
    "chi_1", "critical_sigma_w", "dct", "depth_scaled", "depth_schedule",
    "edge_of_chaos", "edge_of_chaos_bias", "fixed_point_q", "fixup", "fixup_scale",
    "gabor", "gpt2_residual", "gpt2_scale", "haar", "perturbed", "schedule_scale",
    "zero_init",
]  # fmt: skip
