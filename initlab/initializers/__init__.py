"""Every initializer factory; each returns a pure ``init(key, shape, dtype)``.

A factory registers itself where it is defined (``@register(name, formula=...)``,
see :mod:`initlab.initializers.registry`); importing the modules below fills the
registry, and ``__all__`` is every registered factory plus the helpers listed
here. Adding an initializer is one decorated function in one of these modules.
"""

from initlab.initializers import (  # noqa: F401  (importing registers the factories)
    basic,
    depth,
    filter_banks,
    mean_field,
    pretrained,
    structured,
    torch,
    variance,
    zero,
)
from initlab.initializers._core import InitFn as InitFn
from initlab.initializers.depth import fixup_scale as fixup_scale
from initlab.initializers.depth import gpt2_scale as gpt2_scale
from initlab.initializers.depth import schedule_scale as schedule_scale
from initlab.initializers.mean_field import chi_1 as chi_1
from initlab.initializers.mean_field import critical_sigma_w as critical_sigma_w
from initlab.initializers.mean_field import fixed_point_q as fixed_point_q
from initlab.initializers.pretrained import perturbed as perturbed
from initlab.initializers.registry import REGISTRY
from initlab.initializers.torch import gain as gain
from initlab.initializers.variance import TRUNCATED_STD as TRUNCATED_STD
from initlab.initializers.variance import fans as fans

# The helpers: constants, fans and gains, scale formulas, tree-level initializers.
_HELPERS = (
    "InitFn", "TRUNCATED_STD", "chi_1", "critical_sigma_w", "fans",
    "fixed_point_q", "fixup_scale", "gain", "gpt2_scale", "perturbed",
    "schedule_scale",
)  # fmt: skip

# Every registered factory under its own name (initlab.initializers.he_normal).
_FACTORIES = {factory.__name__: factory for factory in REGISTRY.values()}
globals().update(_FACTORIES)

__all__ = sorted([*_HELPERS, *_FACTORIES])
