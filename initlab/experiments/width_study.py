"""The width study: does the best learning rate move as the network widens?"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from initlab._checks import choice, positive_int
from initlab.engine import TrainConfig, build_task, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _settings_text
from initlab.experiments.study import Study
from initlab.outcomes import Outcomes
from initlab.parametrization import PARAMETRIZATIONS, Parametrization
from initlab.stats import best_value, landscape

#: Default widths (hidden units of both layers) and learning rates (Adam).
WIDTH_WIDTHS = (32, 64, 128, 256, 512)
WIDTH_LEARNING_RATES = tuple(2.0**e for e in range(-12, -2))


def width(
    config: TrainConfig | None = None,
    *,
    widths: Sequence[int] | None = None,
    parametrizations: Sequence[str] | None = None,
    base_width: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """The best learning rate against width under SP and µP (µTransfer).

    The claim of Tensor Programs V: under the standard parametrization (SP)
    the best learning rate moves as the network widens (with Adam, roughly
    as 1 / width), under µP it stays put, so it can be tuned on a narrow
    model and reused on a wide one. For every parametrization and width, an
    MLP with two hidden layers of that width (built by
    :class:`initlab.parametrization.Parametrization` relative to
    ``base_width``, where every parametrization is SP) trains on the task
    with every learning rate of ``learning_rate`` x ``num_restarts`` restarts
    in one compiled loop (one compile per width and parametrization).
    :func:`initlab.stats.best_value` finds the best learning rate per width
    (IQM of the final training loss; diverged restarts count as the worst)
    with the central 95 % interval of the winners over paired resamples of
    the restarts (restart i has the same keys at every width and learning
    rate, so one draw of restart indices serves every cell). The shift is
    log2(best lr at the widest / at the narrowest width), with its interval
    over the same resamples: about 0 means the optimum transferred.

    Defaults: digits, he_normal (the table assumes a 1/fan_in variance),
    Adam, learning rates 2^-12 .. 2^-3, widths 32 .. 512 with base width 32,
    8 restarts, 300 steps, batch 64, evaluated after the last step only
    (unless eval_schedule or eval_every is given); ``small``: widths 8, 16,
    learning rates 0.003 and 0.03, 2 restarts, 5 steps.

    Args:
      config: a :class:`initlab.TrainConfig` (its learning_rate must be a
        list of at least 2 values; optimizer "sgd" or "adam", or a mapping
        with their arguments); None: the defaults above.
      widths: the hidden widths (default 32, 64, 128, 256, 512; small 8, 16).
      parametrizations: any of "sp", "ntk", "mup" (default sp, mup).
      base_width: the width at which every parametrization is SP (default
        the narrowest width).
      small: a smoke run.
      out_dir: folder for the runs (one per parametrization and width, each
        resumable), the tables, figures and report.md; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``learning_rate=[...]``,
        ``num_restarts=``, ``steps=``, ``task=``, ...).

    Returns:
      :class:`StudyResult`; ``table`` has one row per parametrization and
      width: the best learning rate, its interval, the share of resamples
      it wins and the IQM loss there; ``outcomes`` every restart (labels are
      the parametrizations, coordinates learning_rate and width);
      ``extra["shift"]`` the shift per parametrization with its interval,
      ``extra["landscape"]`` the IQM loss in every cell.

    Raises:
      ValueError / TypeError: bad widths, parametrizations, base width, a
        learning_rate that is not a list of 2 or more, another optimizer.

    Example:
      >>> result = width(widths=(8, 16), parametrizations=["mup"],
      ...                learning_rate=[0.003, 0.03], num_restarts=2, steps=2,
      ...                progress=False)
      >>> result.table[["parametrization", "width", "learning_rate"]].shape
      (2, 3)

    References:
      Yang et al. (2022), "Tensor Programs V: Tuning large neural networks
      via zero-shot hyperparameter transfer", arXiv:2203.03466 (Figure 1).
    """
    where = "width"
    config = WIDTH.run_config(config, small=small, **overrides)
    widths = tuple(
        positive_int(w, "each width", where=where)
        for w in (widths or ((8, 16) if small else WIDTH_WIDTHS))
    )
    if len(widths) < 2 or len(set(widths)) != len(widths):
        raise ValueError(
            f"{where}: widths must be 2 or more distinct ints; got {list(widths)}."
        )
    names = tuple(parametrizations or ("sp", "mup"))
    for name in names:
        choice(name, PARAMETRIZATIONS, "each parametrization", where=where)
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: parametrizations repeat: {list(names)}.")
    base = positive_int(base_width or min(widths), "base_width", where=where)
    rates = config.learning_rate
    if not isinstance(rates, tuple) or len(rates) < 2:
        raise ValueError(
            f"{where}: learning_rate must be a list of 2 or more values (the "
            f"axis whose best is found); got {rates!r}."
        )
    opt_name, opt_args = _optimizer(config.optimizer)
    task = build_task(config.task)
    out = _out_path(out_dir)
    parts = []
    for name in names:
        pz = Parametrization(name, base)
        for w in widths:
            pm = pz.build({"name": "mlp", "widths": (w, w)}, task)
            optimizer = pm.optimizer(opt_name, **opt_args)
            run = dataclasses.replace(config, task=task, model=pm.model,
                                      optimizer=optimizer)  # fmt: skip
            folder = None if out is None else out / "runs" / f"{name}_w{w}"
            record = WIDTH.record(widths=widths, base_width=base)
            part = train(run, out_dir=folder, progress=progress, record=record)
            parts.append(_relabel(part, pz.title, w))
    outcomes = Outcomes.concatenate(parts)
    metric = "train_loss"
    best, draws = best_value(outcomes, metric, "learning_rate",
                                   within=["width"], rng=config.seed,
                                   return_draws=True)  # fmt: skip
    cells = landscape(outcomes, metric, "learning_rate", rng=config.seed,
                            n_resamples=1000)  # fmt: skip
    shift = _shift(best, draws, widths)
    table = best.rename(columns={"initializer": "parametrization"})[
        ["parametrization", "width", "learning_rate", "best_low", "best_high",
         "share", "estimate", "low", "high", "diverged"]]  # fmt: skip
    settings = dict(
        task=config.task if isinstance(config.task, str) else task.name,
        initializers=", ".join(map(str, config.initializers)),
        optimizer=opt_name, **opt_args, widths=", ".join(map(str, widths)),
        depth=2, base_width=base, learning_rates=", ".join(f"{r:g}" for r in rates),
        num_restarts=config.num_restarts, steps=config.steps,
        batch_size=config.batch_size, seed=config.seed, metric=f"final {metric}",
    )  # fmt: skip
    text = "\n".join([
        "initlab width: the best learning rate per width (IQM of the final "
        "training loss; interval: 95 % of the winners over paired resamples)",
        _settings_text(settings),
        _best_text(table),
        *(f"{r.parametrization}: log2(best lr at width {widths[-1]} / at "
          f"{widths[0]}) = {r.shift:+.2f} [{r.low:+.2f}, {r.high:+.2f}]"
          for r in shift.itertuples()),
    ])  # fmt: skip
    if out is not None:
        _write_width_report(out, outcomes, best, cells, shift, settings, text)
    return StudyResult("width", settings, table, text, outcomes, out,
                       {"shift": shift, "landscape": cells, "best": best})  # fmt: skip


def _optimizer(spec: Any) -> tuple[str, dict[str, Any]]:
    """("sgd" | "adam", fixed arguments) from the config's optimizer."""
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, Mapping) and "name" in spec:
        name, args = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ValueError(
            "width: optimizer must be 'sgd' or 'adam', or {'name': 'sgd', "
            f"'momentum': 0.9}}-style; got {spec!r} (the parametrization sets "
            "each layer's learning rate, so it builds the optimizer)."
        )
    name = choice(name, ("sgd", "adam"), "optimizer", where="width")
    return name, dict(args)


def _relabel(part: Outcomes, title: str, w: int) -> Outcomes:
    """A run's restarts labelled by parametrization, with a width coordinate."""
    inits = np.unique(part.initializer)
    labels = (np.full(len(part), title) if inits.size == 1
              else np.char.add(part.initializer.astype(str), f" {title}"))  # fmt: skip
    coords = {**part.coords, "width": np.full(len(part), float(w))}
    return dataclasses.replace(part, initializer=labels, coords=coords)


def _shift(
    best: pd.DataFrame, draws: np.ndarray, widths: Sequence[int]
) -> pd.DataFrame:
    """log2(best lr at the widest / narrowest width), with its paired interval."""
    rows = []
    lo_w, hi_w = float(min(widths)), float(max(widths))
    for label in dict.fromkeys(best["initializer"].tolist()):
        mine = best["initializer"] == label
        at_lo = np.flatnonzero(mine & (best["width"] == lo_w))[0]
        at_hi = np.flatnonzero(mine & (best["width"] == hi_w))[0]
        point = np.log2(best["learning_rate"][at_hi] / best["learning_rate"][at_lo])
        boot = np.log2(draws[at_hi] / draws[at_lo])
        low, high = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")
        rows.append(dict(parametrization=label, shift=float(point),
                         low=float(low), high=float(high)))  # fmt: skip
    return pd.DataFrame(rows)


def _best_text(table: pd.DataFrame) -> str:
    cells = [f"{r.learning_rate:.3g} [{r.best_low:.3g}, {r.best_high:.3g}]"
             for r in table.itertuples()]  # fmt: skip
    wide = table.assign(best=cells).pivot(
        index="width", columns="parametrization", values="best"
    )
    wide.index = wide.index.astype(int)
    return wide[list(dict.fromkeys(table["parametrization"]))].to_string()


def _write_width_report(out: Path, outcomes: Outcomes, best: pd.DataFrame,
                        cells: pd.DataFrame, shift: pd.DataFrame,
                        settings: Mapping[str, Any], text: str) -> None:  # fmt: skip
    from initlab import plots

    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    outcomes.save(out / "results.parquet")
    best.drop(columns=["wins"]).to_csv(out / "best_learning_rate.csv", index=False)
    cells.to_csv(out / "landscape.csv", index=False)
    shift.to_csv(out / "shift.csv", index=False)
    with plots.figure_style("screen"):
        fig, _ = plots.plot_coordinate_curves(cells, hue="width", best=best)
        plots.save_figure(fig, figures / "loss_vs_lr.png", dpi=130)
        fig, _ = plots.plot_best_values(best, "width")
        plots.save_figure(fig, figures / "best_lr_vs_width.png", dpi=130)
    lines = ["# initlab width: learning-rate transfer across widths", "", "```",
             text, "```", "", "![loss against learning rate](figures/loss_vs_lr.png)",
             "", "![best learning rate against width](figures/best_lr_vs_width.png)",
             ""]  # fmt: skip
    (out / "report.md").write_text("\n".join(lines))


def _width_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(task="digits", initializers=("he_normal",), optimizer="adam",
                    learning_rate=(0.003, 0.03), num_restarts=2, steps=5,
                    batch_size=64)  # fmt: skip
    return dict(task="digits", initializers=("he_normal",), optimizer="adam",
                learning_rate=WIDTH_LEARNING_RATES, num_restarts=8, steps=300,
                batch_size=64)  # fmt: skip


def _width_finish(config: TrainConfig, own: Mapping[str, Any],
                  small: bool) -> TrainConfig:  # fmt: skip
    """Evaluates only after the last step (the study reads final metrics only)."""
    del own, small
    if config.eval_schedule is None and config.eval_every is None:
        return dataclasses.replace(config, eval_schedule=(config.steps,))
    return config


WIDTH = Study(
    "width", width, _width_defaults,
    fixed={"model": "an MLP of each width under each parametrization (widths=)"},
    finish=_width_finish,
)  # fmt: skip
