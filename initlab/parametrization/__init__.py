"""Width scaling: SP, NTK and µP, the coordinate check, relative to a base width.

A :class:`Parametrization` (``"sp"``, ``"ntk"`` or ``"mup"`` and a base width)
builds the reference MLP or 1-D CNN at any width as a
:class:`ParametrizedModel`: a :class:`~initlab.PureModel` whose init rescales
each kernel the engine's initializer draws and whose forward pass applies each
kernel's multiplier, and an optimizer factory with per-leaf learning rates
(SGD or Adam), both ready for :func:`initlab.train`. The table of factors
(from Tensor Programs IV and V, in the mup package's form) is in
:mod:`initlab.parametrization.rules`. :func:`coord_check` measures every
layer's activation size over the first steps across widths (flat under µP).

Example:
  >>> pz = initlab.parametrization.Parametrization("mup", base_width=16)
  >>> pm = pz.mlp((32, 32), 64, 10)
  >>> out = initlab.train("digits", "he_normal", model=pm.model,
  ...                     optimizer=pm.optimizer("adam"),
  ...                     learning_rate=[1e-3, 3e-3], num_restarts=2,
  ...                     steps=5, progress=False)

References:
  Yang & Hu (2021), "Tensor Programs IV", ICML; Yang et al. (2022), "Tensor
  Programs V", arXiv:2203.03466.
"""

from initlab.parametrization.coord_check import STATISTICS, coord_check, coord_ratios
from initlab.parametrization.rules import (
    EXPONENTS,
    PARAMETRIZATIONS,
    ROLES,
    TITLES,
    LayerScaling,
    Parametrization,
    ParametrizedModel,
    factor,
    scale_by_path,
)

__all__ = [
    "EXPONENTS", "LayerScaling", "PARAMETRIZATIONS", "ROLES", "STATISTICS",
    "TITLES", "Parametrization", "ParametrizedModel", "coord_check",
    "coord_ratios", "factor", "scale_by_path",
]  # fmt: skip
