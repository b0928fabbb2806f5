"""initlab: the science of weight initialization in JAX.

Every initializer is a pure ``init(key, shape, dtype) -> jax.Array``; many
restarts train at once; their outcomes become statistics, plots and reports.
"""

from initlab.initializers import (
    TRUNCATED_STD,
    InitFn,
    constant,
    delta_orthogonal,
    dirac,
    fans,
    gain,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    identity,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    ones,
    orthogonal,
    random_normal,
    random_uniform,
    sparse,
    torch_default,
    torch_default_bias,
    truncated_normal,
    variance_scaling,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from initlab.registry import KERAS_NAMES, get, names, register, to_config

__version__ = "0.1.0"

__all__ = [
    "KERAS_NAMES", "TRUNCATED_STD", "InitFn", "constant", "delta_orthogonal",
    "dirac", "fans", "gain", "get", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "identity", "kaiming_normal", "kaiming_uniform",
    "lecun_normal", "lecun_uniform", "names", "ones", "orthogonal",
    "random_normal", "random_uniform", "register", "sparse", "to_config",
    "torch_default", "torch_default_bias", "truncated_normal",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
]  # fmt: skip
