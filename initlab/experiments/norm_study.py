"""The norm_scale study: init scale x {BatchNorm, no normalization, Fixup}."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab import _checks, stats
from initlab.engine import TrainConfig, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study
from initlab.initializers import depth_scaled
from initlab.models import NORMS
from initlab.outcomes import Outcomes
from initlab.registry import get, to_config
from initlab.report import default_metric, write_report

#: Scales of the base init, 1e-2 to 1e2 in (roughly) half decades.
NORM_SCALES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: A scale is "as good as the best" when its mean is within this of the best
#: scale's mean (one point of accuracy), the rule of the one-line reading.
GOOD_WITHIN = 0.01


def norm_scale(
    config: TrainConfig | None = None,
    *,
    scales: Sequence[float] | None = None,
    norms: Sequence[str] | None = None,
    base: str | Mapping[str, Any] | None = None,
    num_blocks: int | None = None,
    width: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Is the outcome insensitive to the init scale with BatchNorm? With Fixup?

    Trains the residual MLP :func:`initlab.models.resnet` with each of
    ``norms`` (BatchNorm, no normalization, Fixup) from every kernel drawn as
    ``scale * base`` (:func:`initlab.depth_scaled`) for each of ``scales``;
    Fixup scales that init further inside its branches and zeroes its last
    branch layers and classifier, whatever the scale. One ``initlab.train``
    call (one compilation) per normalization, the same restarts (keys) in
    every cell. Per cell: the final test metric's mean and IQM with bootstrap
    intervals and the diverged restarts; the reading names, per norm, the
    scales whose mean is within ``GOOD_WITHIN`` of its best scale's.
    Defaults: digits, 8 blocks of width 64, He normal, ``NORM_SCALES``, 16
    restarts per cell, 500 SGD steps at batch 128 and learning rate 0.1;
    ``small``: 2 blocks of width 16, scale 1 only, 2 restarts, 30 steps (each
    cell costs an init compilation: the smoke run keeps three).

    Args:
      config: a :class:`initlab.TrainConfig` to run (the study sets its model
        and initializers); None: the defaults above.
      scales: multipliers of the base init, each > 0 (default
        ``NORM_SCALES``; small: 1).
      norms: normalizations to compare, from "batch", "none", "fixup"
        (default all three).
      base: the initializer that is scaled: a name, a config or an
        initializer (default "he_normal").
      num_blocks: residual blocks L (default 8; small 2).
      width: hidden units (default 64; small 16).
      small: a smoke run.
      out_dir: folder for the report (each normalization's run resumes from
        ``runs/<norm>`` inside it); None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``num_restarts=``, ``steps=``,
        ``learning_rate=``, ...).

    Returns:
      :class:`StudyResult`; ``table`` has one row per (norm, scale) with
      n, diverged, mean, mean_low, mean_high, iqm, iqm_low, iqm_high, median
      and std of the final metric; ``extra["good_scales"]`` maps each norm to
      the scales the reading counts as good.

    Example:
      >>> result = norm_scale(small=True, norms=("none",), scales=(100.0,),
      ...                     steps=5, progress=False)
      >>> result.extra["good_scales"]  # 100 x He: every restart diverges
      {'none': []}

    References:
      Ioffe & Szegedy, "Batch Normalization", ICML 2015; Zhang, Dauphin & Ma,
      "Fixup Initialization: Residual Learning Without Normalization", ICLR
      2019; Arora, Li & Lyu, "Theoretical Analysis of Auto Rate-Tuning by
      Batch Normalization", ICLR 2019.
    """
    given = dict(scales=scales, norms=norms, base=base, num_blocks=num_blocks,
                 width=width)  # fmt: skip
    config = NORM_SCALE.run_config(config, small=small, **given, **overrides)
    own = _own(small=small, **given)
    out = _out_path(out_dir)
    record = NORM_SCALE.record(**{**own, "base": None if base is None else
                                  to_config(own["base"])})  # fmt: skip
    parts = []
    for norm in own["norms"]:
        variant = _variant(config, own, norm)
        parts.append(train(variant, out_dir=None if out is None else out / "runs" /
                           norm, progress=progress, record=record))  # fmt: skip
    outcomes = _joined(parts, own)
    metric = default_metric(outcomes)
    n_resamples = 200 if small else 2000
    summary = stats.summary_table(outcomes, metric, rng=config.seed,
                                  n_resamples=n_resamples)  # fmt: skip
    cells = [(norm, s) for norm in own["norms"] for s in own["scales"]]
    table = pd.DataFrame({"norm": [c[0] for c in cells],
                          "scale": [c[1] for c in cells]})  # fmt: skip
    columns = ["initializer", "n", "diverged", "mean", "mean_low", "mean_high",
               "iqm", "iqm_low", "iqm_high", "median", "std"]  # fmt: skip
    table = pd.concat([table, summary[columns].reset_index(drop=True)], axis=1)
    higher = outcomes.higher_is_better(metric)
    good = _good_scales(table, higher)
    settings = {
        **_run_settings(outcomes),
        "model": f"resnet, {own['num_blocks']} dense blocks of width "
        f"{own['width']} (post-activation, ReLU)",
        "init": f"scale x {_label(own['base'])} for every kernel (Fixup: "
        "x L^-1/2 inside branches, last branch layers and classifier 0)",
        "scales": ", ".join(f"{s:g}" for s in own["scales"]),
    }
    if out is not None:
        title = "initlab norm_scale: init scale x normalization"
        write_report(outcomes, out, metric=metric, rng=config.seed,
                     n_resamples=n_resamples, table=summary, title=title)  # fmt: skip
        table.to_csv(out / "norm_scale.csv", index=False)
    text = "\n".join([
        f"initlab norm_scale: final {metric} by init scale (rows) and "
        "normalization (columns): mean [95% CI], diverged restarts",
        _settings_text(settings),
        _grid_text(table).to_string(),
        _reading(table, good, metric, higher),
    ])  # fmt: skip
    return StudyResult("norm_scale", settings, table, text, outcomes, out,
                       {"good_scales": good})  # fmt: skip


# ----- options ----------------------------------------------------------------------


def _own(*, scales, norms, base, num_blocks, width, small) -> dict[str, Any]:
    """The study's own options, checked, with their defaults filled in."""
    where = "norm_scale"
    if scales is None:
        scales = (1.0,) if small else NORM_SCALES
    if isinstance(scales, str | int | float) or not isinstance(scales, Sequence):
        raise TypeError(f"{where}: scales must be a list of numbers > 0; got "
                        f"{scales!r}.")  # fmt: skip
    scales = tuple(_checks.number(s, "each scale", positive=True, where=where)
                   for s in scales)  # fmt: skip
    if not scales or len(set(scales)) != len(scales):
        raise ValueError(f"{where}: give at least one scale, each once; got "
                         f"{scales!r}.")  # fmt: skip
    norms = NORMS if norms is None else norms
    if isinstance(norms, str) or not isinstance(norms, Sequence):
        raise TypeError(f"{where}: norms must be a list such as ['batch', 'fixup']; "
                        f"got {norms!r}.")  # fmt: skip
    norms = tuple(_checks.choice(n, NORMS, "norm", where=where) for n in norms)
    if not norms or len(set(norms)) != len(norms):
        raise ValueError(f"{where}: give at least one norm, each once; got "
                         f"{norms!r}.")  # fmt: skip
    # Unknown names fail here, naming the valid ones.
    base = get("he_normal" if base is None else base)
    if num_blocks is None:
        num_blocks = 2 if small else 8
    if width is None:
        width = 16 if small else 64
    blocks = _checks.positive_int(num_blocks, "num_blocks", where=where)
    width = _checks.positive_int(width, "width", where=where)
    return dict(scales=scales, norms=norms, base=base, num_blocks=blocks,
                width=width)  # fmt: skip


def _label(init: Any) -> str:
    name = getattr(init, "name", None)
    return name if isinstance(name, str) else getattr(init, "__name__", "init")


def _initializers(own: Mapping[str, Any], norm: str) -> dict[str, Any]:
    return {f"{norm} s={s:g}": depth_scaled(own["base"], s) for s in own["scales"]}


def _variant(config: TrainConfig, own: Mapping[str, Any], norm: str) -> TrainConfig:
    """The run of one normalization: its resnet, every scale as an initializer."""
    model = {"name": "resnet", "norm": norm, "num_blocks": own["num_blocks"],
             "width": own["width"]}  # fmt: skip
    return dataclasses.replace(config, model=model,
                               initializers=_initializers(own, norm))  # fmt: skip


def _defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(task="digits", num_restarts=2, steps=30, batch_size=128,
                    learning_rate=0.1)  # fmt: skip
    return dict(task="digits", num_restarts=16, steps=500, batch_size=128,
                learning_rate=0.1, eval_every=100)  # fmt: skip


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    # The first normalization's run: every run of the study has its plan.
    names = ("scales", "norms", "base", "num_blocks", "width")
    checked = _own(small=small, **{k: own.get(k) for k in names})
    return _variant(config, checked, checked["norms"][0])


# ----- results ----------------------------------------------------------------------


def _joined(parts: list[Outcomes], own: Mapping[str, Any]) -> Outcomes:
    """The runs as one Outcomes (labels "norm s=scale"), metadata of them all."""
    joined = Outcomes.concatenate(parts)
    meta = dict(parts[0].metadata)
    meta["initializers"] = {k: v for p in parts
                            for k, v in p.metadata["initializers"].items()}  # fmt: skip
    meta["model_name"] = (
        f"resnet-{own['num_blocks']}x{own['width']} ({', '.join(own['norms'])})"
    )
    meta["wall_time_s"] = float(sum(p.metadata["wall_time_s"] for p in parts))
    meta["fingerprints"] = {n: p.metadata["fingerprint"] for n, p in
                            zip(own["norms"], parts, strict=True)}  # fmt: skip
    return dataclasses.replace(joined, metadata=meta)


def _trained(row: pd.Series) -> bool:
    """More of the cell's restarts finished than diverged (a diverged restart
    has no outcome: a mean over the few that survived would flatter it)."""
    return row["n"] > row["diverged"] and np.isfinite(row["mean"])


def _good_scales(table: pd.DataFrame, higher: bool) -> dict[str, list[float]]:
    good = {}
    for norm, rows in table.groupby("norm", sort=False):
        rows = rows[rows.apply(_trained, axis=1)]
        if rows.empty:
            good[norm] = []
            continue
        best = rows["mean"].max() if higher else rows["mean"].min()
        close = (rows["mean"] >= best - GOOD_WITHIN if higher
                 else rows["mean"] <= best + GOOD_WITHIN)  # fmt: skip
        good[norm] = [float(s) for s in rows.loc[close, "scale"]]
    return good


def _span(scales: list[float], all_scales: list[float]) -> str:
    if not scales:
        return "no scale"
    idx = [all_scales.index(s) for s in scales]
    if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 1:
        decades = math.log10(scales[-1] / scales[0])
        return f"{scales[0]:g}-{scales[-1]:g} ({decades:.1f} decades)"
    return ", ".join(f"{s:g}" for s in scales)


def _reading(table, good, metric, higher) -> str:
    parts = []
    for norm, rows in table.groupby("norm", sort=False):
        all_scales = [float(s) for s in rows["scale"]]
        trained = rows[rows.apply(_trained, axis=1)]
        text = f"{norm}: {_span(good[norm], all_scales)}"
        if not trained.empty:
            best = trained.loc[trained["mean"].idxmax() if higher
                               else trained["mean"].idxmin()]  # fmt: skip
            text += f" (best {best['mean']:.3f} at s={best['scale']:g})"
        lost = rows.loc[rows["diverged"] > rows["n"], "scale"]
        if len(lost):
            text += f", most restarts diverge at s={', '.join(f'{s:g}' for s in lost)}"
        parts.append(text)
    return (
        f"reading: scales within {GOOD_WITHIN:g} of each norm's best mean "
        f"{metric}: " + "; ".join(parts)
    )


def _grid_text(table: pd.DataFrame) -> pd.DataFrame:
    def cell(row):
        total = int(row["n"] + row["diverged"])
        if row["n"] == 0:
            return f"diverged {int(row['diverged'])}/{total}"
        text = f"{row['mean']:.3f} [{row['mean_low']:.3f}, {row['mean_high']:.3f}]"
        return text + (f" ({int(row['diverged'])} div.)" if row["diverged"] else "")

    shown = table.assign(cell=table.apply(cell, axis=1))
    grid = shown.pivot(index="scale", columns="norm", values="cell")
    return grid[list(dict.fromkeys(table["norm"]))]


NORM_SCALE = Study(
    "norm_scale", norm_scale, _defaults, finish=_finish,
    fixed={"initializers": "it draws scale x base for each of scales; give "
           "scales=... and base=... instead",
           "model": "it trains resnet(norm=...) for each of norms; give norms=, "
           "num_blocks=, width= instead"},
)  # fmt: skip
