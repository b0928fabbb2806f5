"""What a study returns and prints: StudyResult, summary text, recorded settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from initlab.outcomes import Outcomes


@dataclasses.dataclass
class StudyResult:
    """What a study produced.

    Attributes:
      study: the study's name.
      settings: every setting the numbers depend on (printed with them).
      table: the study's summary, one row per initializer (or per cell).
      text: the printable summary: settings, table, and a one-line reading.
      outcomes: the trained restarts (None for studies that do not train).
      out_dir: the folder written (report.md, report.html, figures, Parquet),
        or None when nothing was written.
      extra: study-specific values (e.g. variance components, distinct units).
    """

    study: str
    settings: dict[str, Any]
    table: pd.DataFrame
    text: str
    outcomes: Outcomes | None = None
    out_dir: Path | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def format_summary(table: pd.DataFrame) -> str:
    """A plain-text rendering of :func:`initlab.stats.summary_table`.

    Args:
      table: the DataFrame from ``stats.summary_table``.

    Returns:
      :func:`initlab.report.display_table` with 3 decimals, as text.

    Example:
      >>> from initlab import stats
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> print(format_summary(stats.summary_table(outcomes, "test_accuracy",
      ...                                          rng=0)))
    """
    from initlab.report import display_table

    return display_table(table, digits=3).to_string(index=False)


def _settings_text(settings: Mapping[str, Any]) -> str:
    return "settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())


def _run_settings(outcomes: Outcomes) -> dict[str, Any]:
    """The settings a trained run recorded, for printing beside its numbers."""
    meta = outcomes.metadata
    keys = ("num_restarts", "steps", "batch_size", "optimizer", "learning_rate",
            "design", "grid_data", "seed", "bias_init")  # fmt: skip
    settings = {
        "task": meta.get("task_name", meta.get("task")),
        "model": meta.get("model_name", meta.get("model")),
    }
    settings.update({k: meta.get(k) for k in keys})
    settings = {k: v for k, v in settings.items() if v is not None}
    settings["devices"] = len(meta.get("devices", [])) or None
    settings["wall_time_s"] = round(float(meta.get("wall_time_s", float("nan"))), 1)
    return settings
