"""How many restarts: the tables the restart studies print from a pilot run.

Thin wrappers of :func:`initlab.stats.restarts_needed`,
:func:`initlab.stats.minimum_difference` and
:func:`initlab.stats.expected_interval_width` over a run's initializers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from initlab import stats


def power_table(values: Mapping[str, np.ndarray], differences, power) -> pd.DataFrame:
    """Restarts needed per difference, and the difference these restarts resolve.

    Pairs: the first initializer against each other one (one initializer:
    against itself, both spreads its own). ``kind`` is "needed" (restarts
    for ``difference``) or "resolvable" (``difference`` for these
    ``restarts``).
    """
    labels = list(values)
    if not labels:
        return pd.DataFrame()
    pairs = [(labels[0], b) for b in labels[1:]] or [(labels[0], labels[0])]
    rows = []
    for a, b in pairs:
        pilot_b = None if b == a else values[b]
        for statistic in ("mean", "iqm"):
            for d in differences:
                n = stats.restarts_needed(
                    values[a], pilot_b, difference=d, statistic=statistic, power=power
                )
                rows.append(
                    dict(
                        a=a,
                        b=b,
                        statistic=statistic,
                        kind="needed",
                        difference=d,
                        restarts=n,
                    )
                )
            n_have = min(values[a].size, values[b].size)
            d = stats.minimum_difference(
                values[a], pilot_b, n=n_have, statistic=statistic, power=power
            )
            rows.append(
                dict(
                    a=a,
                    b=b,
                    statistic=statistic,
                    kind="resolvable",
                    difference=d,
                    restarts=n_have,
                )
            )
    return pd.DataFrame(rows)


def power_lines(table: pd.DataFrame, values, power) -> list[str]:
    if table.empty:
        return []
    lines = [f"how many restarts (this run as the pilot; power {power:g}, 5 % test):"]
    for (a, b), part in table.groupby(["a", "b"], sort=False):
        who = f"between {a} and {b}" if a != b else f"for {a} (same spread assumed)"
        needed = part[part.kind == "needed"]
        for d in needed.difference.unique():
            n = {
                s: int(
                    needed[
                        (needed.difference == d) & (needed.statistic == s)
                    ].restarts.iloc[0]
                )
                for s in ("mean", "iqm")
            }
            lines.append(
                f"  to resolve {100 * d:g} pp {who}: about {n['mean']} "
                f"restarts each (mean; IQM: {n['iqm']})"
            )
        have = part[(part.kind == "resolvable") & (part.statistic == "mean")].iloc[0]
        lines.append(
            f"  with the {int(have.restarts)} restarts here: "
            f"{100 * have.difference:.2g} pp resolvable (mean)"
        )
        if a != b:
            diff = float(np.mean(values[b]) - np.mean(values[a]))
            lines.append(f"  observed mean difference {b} - {a}: {100 * diff:+.2f} pp")
    return lines


def width_table(values: Mapping[str, np.ndarray], ns: Sequence[int]) -> pd.DataFrame:
    """Expected 95 % interval width per initializer, statistic and n."""
    rows = [
        dict(
            initializer=lab,
            statistic=s,
            n=n,
            width=stats.expected_interval_width(v, n, statistic=s),
        )
        for lab, v in values.items()
        for s in ("mean", "iqm")
        for n in ns
    ]
    return pd.DataFrame(rows)
