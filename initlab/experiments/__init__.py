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

Example:
  >>> from initlab import experiments
  >>> result = experiments.run_study("zoo", small=True, out_dir="runs/zoo")
  >>> print(result.text)

Rooms: ``options`` (initializers, models and run controls, checked before
anything compiles), ``result`` (:class:`StudyResult` and its text), one module
per study (``zoo_study``, ``symmetry_study``, ``xor_study``, ``variance_study``,
``depth_study``; named apart from the study functions they hold) and, here, the
registry :data:`STUDIES` with :func:`run_study`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from initlab.experiments.depth_study import depth
from initlab.experiments.options import (
    Options,
    _check_common,
    build_model,
    parse_initializers,
    resolve_initializers,
)
from initlab.experiments.result import StudyResult, format_summary
from initlab.experiments.symmetry_study import count_distinct_units, symmetry
from initlab.experiments.variance_study import seed_grid, variance
from initlab.experiments.xor_study import XOR_RANGES, xor
from initlab.experiments.zoo_study import ZOO_STEPS, zoo
from initlab.models import MODELS
from initlab.tasks import get_task

__all__ = [
    "STUDIES", "XOR_RANGES", "ZOO_STEPS", "Options", "StudyResult", "build_model",
    "check_options", "count_distinct_units", "depth", "format_summary",
    "parse_initializers", "resolve_initializers", "run_study", "seed_grid",
    "study_options", "symmetry", "variance", "xor", "zoo",
]  # fmt: skip


# ----- the registry of studies ------------------------------------------------------

STUDIES: dict[str, Callable[..., StudyResult]] = {
    "zoo": zoo,
    "symmetry": symmetry,
    "xor": xor,
    "variance": variance,
    "depth": depth,
}


def study_options(name: str) -> list[str]:
    """The keyword options a study takes.

    Example:
      >>> "ranges" in study_options("xor")
      True
    """
    return list(inspect.signature(_study(name)).parameters)


def _study(name: str) -> Callable[..., StudyResult]:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; valid: {', '.join(STUDIES)}.")
    return STUDIES[name]


def check_options(name: str, **options: Any) -> None:
    """Validates a study's options without running anything (no JAX computation).

    Checks the study name, that it takes every option, and the cheap values:
    initializer names/configs, task name, model name, optimizer, design and
    the positive integers. The study itself checks the rest.

    Args:
      name: a key of :data:`STUDIES`.
      **options: the options :func:`run_study` would get.

    Raises:
      ValueError: the first problem found, in one line naming the valid choices.

    Example:
      >>> check_options("zoo", initializers=["he_normal"], num_restarts=8)
    """
    from initlab.engine import DESIGNS
    from initlab.tasks import TASKS

    allowed = study_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"study {name!r} takes no option(s) {', '.join(unknown)}; it takes: "
            f"{', '.join(allowed)}."
        )
    if options.get("initializers") is not None:
        parse_initializers(options["initializers"])
    task = options.get("task")
    if task is not None and task not in TASKS:
        get_task(task)  # raises naming the valid tasks
    model = options.get("model")
    if isinstance(model, Mapping):
        model = model.get("name")
    if model is not None and model != "default" and model not in MODELS:
        raise ValueError(
            f"unknown model {model!r}; valid: {', '.join(MODELS)} (or 'default')."
        )
    design = options.get("design")
    if design is not None and design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid: {', '.join(DESIGNS)}.")
    _check_common(options)


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
      >>> run_study("xor", small=True).text
    """
    study = _study(name)
    check_options(name, **options)
    return study(**options)
