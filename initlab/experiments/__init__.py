"""Ready-made studies: the command line's ``initlab run STUDY`` and notebooks.

Each study is a function taking keyword options and returning a
:class:`StudyResult` (its table, the printed text, the Outcomes when it trained,
and the folder it wrote). :data:`STUDIES` maps names to them; every study has a
``small`` mode (a handful of restarts and steps) for tests and smoke runs.

* ``zoo`` (default): every initializer of Keras's list on the digits MLP.
* ``symmetry``: zeros and constant starts never break the symmetry between
  hidden units; a random start does.
* ``xor``: fraction of restarts stuck on XOR by the range of U(-a, a).
* ``variance``: a grid of init seeds x data-order seeds; the share of the
  variance of the outcome from each.
* ``depth``: signal propagation at initialization across depth.
* ``ensembles``: ensembles of k restarts, how restarts differ, how many a
  comparison needs.
* ``landscape``: barriers on the line between restarts, raw, aligned and
  from a shared early checkpoint.
* ``predict``: does anything measured at initialization predict the outcome?
* ``perturb``: restarts that share one start but for one weight.
* ``norm_scale``: the init's scale over four decades x {BatchNorm, no
  normalization, Fixup} on the residual MLP ``resnet``.
* ``width``: the best learning rate against width under SP and µP.

Example:
  >>> from initlab import experiments
  >>> result = experiments.run_study("zoo", small=True, out_dir="runs/zoo")
  >>> print(result.text)

Rooms: ``options`` (initializers, models and run controls, checked before
anything compiles), ``result`` (:class:`StudyResult` and its text), one module
per study (``zoo_study``, ``symmetry_study``, ``xor_study``, ``variance_study``,
``depth_study``, ``norm_study``; named apart from the study functions they
hold) and, here, the registry :data:`STUDIES` with :func:`run_study`.
"""

from __future__ import annotations

from typing import Any

from initlab import _checks
from initlab.experiments import zoo_study as zoo_study  # patched by tests
from initlab.experiments.depth_study import DEPTH, depth
from initlab.experiments.ensembles_study import ENSEMBLES, ensembles
from initlab.experiments.landscape_study import LANDSCAPE, landscape
from initlab.experiments.norm_study import NORM_SCALE, NORM_SCALES, norm_scale
from initlab.experiments.options import (
    Options,
    build_model,
    parse_initializers,
    resolve_initializers,
)
from initlab.experiments.perturb_study import PERTURB, perturb
from initlab.experiments.predict_study import PREDICT, predict
from initlab.experiments.result import StudyResult, format_summary
from initlab.experiments.study import Study
from initlab.experiments.symmetry_study import (
    SYMMETRY,
    count_distinct_units,
    symmetry,
)
from initlab.experiments.variance_study import VARIANCE, seed_grid, variance
from initlab.experiments.width_study import WIDTH, width
from initlab.experiments.xor_study import XOR, XOR_RANGES, xor
from initlab.experiments.zoo_study import ZOO, ZOO_STEPS, zoo

__all__ = [
    "NORM_SCALES", "STUDIES", "Study", "XOR_RANGES", "ZOO_STEPS", "Options",
    "StudyResult", "build_model", "check_options", "count_distinct_units", "depth",
    "format_summary", "norm_scale", "parse_initializers", "resolve_initializers",
    "run_study", "seed_grid", "study_options", "symmetry", "variance", "xor", "zoo",
    "ensembles", "landscape", "perturb", "predict",
]  # fmt: skip
__all__ += ["width"]


# ----- the registry of studies ------------------------------------------------------

STUDIES: dict[str, Study] = {s.name: s for s in (ZOO, SYMMETRY, XOR, VARIANCE, DEPTH)}
STUDIES.update(
    {s.name: s for s in (ENSEMBLES, LANDSCAPE, PREDICT, PERTURB, NORM_SCALE)}
)
STUDIES["width"] = WIDTH


def study_options(name: str) -> list[str]:
    """Every keyword a study takes: TrainConfig fields, its own, run controls.

    Example:
      >>> "ranges" in study_options("xor")
      True
    """
    return _study(name).options


def _study(name: str) -> Study:
    if name not in STUDIES:
        raise ValueError(
            f"unknown study {name!r}.{_checks.closest(name, STUDIES)} Valid: "
            f"{', '.join(STUDIES)}."
        )
    return STUDIES[name]


def check_options(name: str, **options: Any) -> None:
    """Validates a study's options without running anything (no JAX computation).

    Builds the study's :class:`~initlab.TrainConfig` (which checks every
    field: names, ranges, combinations) and refuses options the study does not
    take or sets itself. The study checks its own options (ranges, depths)
    and the data-dependent ones (batch size, model shapes) when it runs.

    Args:
      name: a key of :data:`STUDIES`.
      **options: the options :func:`run_study` would get.

    Raises:
      ValueError / TypeError: the first problem found, in one line naming the
        valid choices.

    Example:
      >>> check_options("zoo", initializers=["he_normal"], num_restarts=8)
    """
    study = _study(name)
    options = dict(options)
    for control in ("out_dir", "progress", "config"):
        options.pop(control, None)
    small = options.pop("small", False)
    study.check_overrides(options)
    fields = {k: v for k, v in options.items() if k not in study.own_options}
    study.config(small=small, **fields)


def run_study(name: str = "zoo", **options: Any) -> StudyResult:
    """Runs a study by name; options it does not take are an error.

    Args:
      name: a key of :data:`STUDIES` (default "zoo").
      **options: the study's keyword options (see each study).

    Returns:
      The study's :class:`StudyResult`.

    Raises:
      ValueError: an unknown study, an option the study does not take, or a
        bad value.

    Example:
      >>> run_study("xor", small=True, progress=False).text
    """
    study = _study(name)
    check_options(name, **options)
    return study(**options)
