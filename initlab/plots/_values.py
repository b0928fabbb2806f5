"""What the distribution figures read: finite values per initializer label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from initlab import stats


def collect(data: Any, metric: str | None, higher_is_better: bool | None = None):
    """(labels, finite values per label, diverged count per label, higher, name)."""
    from initlab.outcomes import Outcomes

    if isinstance(data, Outcomes):
        if metric is None:
            raise ValueError(f"pass the metric to plot; available: {data.metrics}.")
        values = {lab: data.values(metric, lab) for lab in data.labels}
        diverged = {
            lab: int(np.sum(data.diverged[data.initializer == lab]))
            for lab in data.labels
        }
        higher = (
            data.higher_is_better(metric)
            if higher_is_better is None
            else higher_is_better
        )
        for lab, v in values.items():
            stats.check_values(v, f"{metric} of {lab!r}", min_n=0)
        return list(values), values, diverged, higher, metric
    if isinstance(data, Mapping):
        if not data:
            raise ValueError("nothing to plot: the mapping of labels is empty.")
        values = {
            str(lab): stats.check_values(v, f"values of {lab!r}", min_n=0)
            for lab, v in data.items()
        }
        higher = True if higher_is_better is None else higher_is_better
        return list(values), values, dict.fromkeys(values, 0), higher, metric or "value"
    raise TypeError(
        "data must be an Outcomes (with a metric) or a mapping label -> values, "
        f"got {type(data).__name__}."
    )
