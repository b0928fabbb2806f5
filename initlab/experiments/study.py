"""A study: a function over a TrainConfig, its defaults, and its own few options.

Every study takes ``(config=None, *, <its own options>, small=False,
out_dir=None, progress=True, **overrides)``: the TrainConfig fields are
declared once (in :class:`initlab.TrainConfig`); a study adds only the
options that are its own (the xor study's ``ranges``, the depth study's
``depths``) and says which config fields it sets itself.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from initlab import _checks
from initlab._docstrings import section_docs
from initlab.engine import TrainConfig
from initlab.experiments.result import StudyResult

# Keyword arguments every study takes that are neither config fields nor its own.
RUN_CONTROLS = ("config", "small", "out_dir", "progress")
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclasses.dataclass(frozen=True)
class Study:
    """A ready-made study: callable like its function, plus what it takes.

    Attributes:
      name: the study's name (``initlab run NAME``).
      function: ``function(config=None, *, ..., small, out_dir, progress,
        **overrides) -> StudyResult``.
      defaults: ``defaults(small, given) -> {field: value}``, the study's
        own defaults for TrainConfig fields (a full or a smoke run; ``given``
        are the fields the user set, for defaults that depend on them).
      fixed: TrainConfig fields the study sets itself -> why (given anyway,
        they are refused with that reason).
      uses: the TrainConfig fields a study that does not train reads (None:
        every field).
      finish: ``finish(config, own_options, small) -> config``: what the study
        sets itself from its own options (None: nothing).
    """

    name: str
    function: Callable[..., StudyResult]
    defaults: Callable[[bool, Mapping[str, Any]], Mapping[str, Any]]
    fixed: Mapping[str, str] = dataclasses.field(default_factory=dict)
    uses: tuple[str, ...] | None = None
    finish: Callable[..., TrainConfig] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> StudyResult:
        return self.function(*args, **kwargs)

    @property
    def summary(self) -> str:
        """The first line of the study function's docstring."""
        return (self.function.__doc__ or "").strip().splitlines()[0]

    @property
    def own_options(self) -> dict[str, inspect.Parameter]:
        """The study's own keyword options (beyond TrainConfig and run controls)."""
        params = inspect.signature(self.function).parameters.values()
        return {
            p.name: p
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in RUN_CONTROLS
        }

    @property
    def option_docs(self) -> dict[str, str]:
        """Help text of the study's own options, from its docstring's Args."""
        docs = section_docs(self.function, "Args")
        return {name: docs.get(name, "") for name in self.own_options}

    @property
    def config_fields(self) -> tuple[str, ...]:
        """The TrainConfig fields a user may set for this study."""
        allowed = self.uses if self.uses is not None else CONFIG_FIELDS
        return tuple(f for f in allowed if f not in self.fixed)

    @property
    def options(self) -> list[str]:
        """Every keyword the study takes: config fields, own options, controls."""
        return [*self.config_fields, *self.own_options, "small", "out_dir",
                "progress"]  # fmt: skip

    def check_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Refuses keywords the study does not take, naming what it takes."""
        for name in overrides:
            if name in self.fixed:
                raise ValueError(
                    f"the {self.name} study sets {name} itself: {self.fixed[name]}."
                )
            if name not in self.config_fields and name not in self.own_options:
                raise ValueError(
                    f"study {self.name!r} takes no option {name!r}."
                    f"{_checks.closest(name, self.options)} It takes: "
                    f"{', '.join(self.options)}."
                )

    def config(
        self, config: TrainConfig | None = None, *, small: bool = False,
        **overrides: Any,
    ) -> TrainConfig:  # fmt: skip
        """The run's config: ``config`` (or the study's defaults) and overrides.

        Without ``config``, the study's defaults (a smoke run when ``small``)
        with ``overrides`` on top; with one, that config with ``overrides`` on
        top (the study's defaults do not apply). Fields the study sets itself
        must stay at TrainConfig's defaults.

        Raises:
          ValueError / TypeError: unknown or fixed options, bad values.

        Example:
          >>> from initlab.experiments import STUDIES
          >>> STUDIES["zoo"].config(small=True, num_restarts=4).num_restarts
          4
        """
        _checks.boolean(small, "small", where=self.name)
        fields = {k: v for k, v in overrides.items() if k not in self.own_options}
        self.check_overrides(fields)
        if config is None:
            return TrainConfig(**{**self.defaults(small, fields), **fields})
        if not isinstance(config, TrainConfig):
            raise TypeError(
                f"{self.name}: config must be an initlab.TrainConfig; got "
                f"{type(config).__name__}."
            )
        default = TrainConfig()
        for name, why in self.fixed.items():
            if getattr(config, name) != getattr(default, name):
                raise ValueError(
                    f"the {self.name} study sets {name} itself ({why}); leave it "
                    "at its default in the config."
                )
        return dataclasses.replace(config, **fields) if fields else config

    def run_config(
        self, config: TrainConfig | None = None, *, small: bool = False,
        **options: Any,
    ) -> TrainConfig:  # fmt: skip
        """The exact config the study trains: :meth:`config` plus what it sets.

        ``options`` are TrainConfig fields and the study's own options; this is
        what ``initlab run --dry-run`` plans.

        Example:
          >>> from initlab.experiments import STUDIES
          >>> len(STUDIES["xor"].run_config(ranges=[1, 2, 3]).initializers)
          3
        """
        own = {k: options.pop(k) for k in list(options) if k in self.own_options}
        config = self.config(config, small=small, **options)
        return config if self.finish is None else self.finish(config, own, small)

    def record(self, **own: Any) -> dict[str, Any]:
        """What a run of this study records beside its config (see ``train``).

        The study's name, its own options (JSON-safe; None left out) and the
        fields it sets itself, so a report can write a config file that
        ``initlab run NAME --config`` reproduces.

        Example:
          >>> from initlab.experiments import STUDIES
          >>> STUDIES["xor"].record(ranges=(1.0, 2.0))["study_options"]
          {'ranges': [1.0, 2.0]}
        """
        options = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in own.items()
            if v is not None
        }
        return {"study": self.name, "study_options": options,
                "study_fixed": sorted(self.fixed)}  # fmt: skip
