"""The perturb study: one start, one weight changed, against fully re-drawn starts."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from initlab import _checks, restarts, stats
from initlab.engine import TrainConfig, build_model, build_task, train
from initlab.engine.keys import stream_key
from initlab.engine.specs import labelled_initializers
from initlab.experiments.options import _out_path
from initlab.experiments.restart_reports import Page, ci, save
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study
from initlab.registry import get

#: The arm of fully re-drawn restarts.
REDRAW = "redraw"


def perturb(
    config: TrainConfig | None = None,
    *,
    epsilons: Sequence[float] | None = None,
    bits: Sequence[int] | None = None,
    where: str | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """How much does a tiny change of the start change the outcome?

    Summers & Dinneen's design: every restart of an arm starts from the
    *same* base parameters (restart 0's draw of the initializer) except one
    weight, chosen at random per restart (uniformly over the entries of the
    leaves matching ``where``), moved by +-epsilon or with one bit flipped;
    the "redraw" arm re-draws every start. All arms share the data order
    (``design="fixed_data"``) and train in one compiled call
    (:func:`initlab.restarts.shared_start`). Per arm: the spread (std) of
    the final test accuracy and loss (95 % bootstrap intervals), how often
    two restarts' predictions disagree (U-statistic interval) and how often
    each disagrees with the unperturbed base model (the redraw arm's
    restart 0), against the size of the change actually made (the mean
    |delta w| at init; one bit is one unit in the last place). Defaults:
    digits MLP 64-128-128-10, glorot_uniform, 32 restarts per arm, 300
    steps, bit 0 and epsilons 1e-6, 1e-4, 1e-2; ``small``: MLP 64-32-10, 6
    restarts, 30 steps, bit 0 and 1e-2.

    Args:
      config: a :class:`initlab.TrainConfig` with one initializer (the base);
        None: the defaults above.
      epsilons: sizes of the change (absolute), each > 0; an empty list
        skips them.
      bits: bits to flip (0: the last bit of the mantissa); empty skips.
      where: regular expression of the leaf paths whose entries may change
        (default every kernel: ``kernel$``).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``model=``, ``steps=``, ...).

    Returns:
      :class:`StudyResult`; ``table`` has one row per arm.

    Raises:
      ValueError: not one initializer, a bias rule that is re-drawn per
        restart, no arm besides the redraw.

    Example:
      >>> result = initlab.experiments.run_study("perturb", small=True,
      ...     num_restarts=3, steps=5, progress=False)
      >>> result.table[["arm", "delta", "std", "disagreement_base"]]

    References:
      Summers & Dinneen (2021), "Nondeterminism and instability in neural
      network optimization", ICML.
    """
    own = dict(epsilons=epsilons, bits=bits, where=where)
    config = PERTURB.run_config(config, small=small, **own, **overrides)
    out = _out_path(out_dir)
    outcomes = train(
        config,
        out_dir=out,
        progress=progress,
        record=PERTURB.record(**_own(own, small)),
    )
    metric_names = [m for m in ("test_accuracy", "test_loss") if m in outcomes.final]
    base_rows = np.flatnonzero(outcomes.initializer == REDRAW)
    base_row = base_rows[np.argmin(outcomes.restart[base_rows])]
    base_params = jax.tree.map(
        lambda a: np.asarray(a)[base_row], outcomes.initial_params
    )
    predicted = outcomes.per_example["test_predicted"]
    gens = stats.as_rng(config.seed).spawn(len(outcomes.labels))
    rows = []
    for label, gen in zip(outcomes.labels, gens, strict=True):
        keep = np.flatnonzero((outcomes.initializer == label) & ~outcomes.diverged)
        init = jax.tree.map(lambda a, k=keep: np.asarray(a)[k], outcomes.initial_params)
        changed = restarts.changed_entries(base_params, init)
        row: dict[str, Any] = dict(arm=label, n=int(keep.size))
        if label == REDRAW:
            row.update(delta=np.nan, changed=np.nan)
        else:
            row.update(
                delta=_mean_change(base_params, init),
                changed=float(np.mean(changed == 1)),
            )
        for j, metric in enumerate(metric_names):
            v = outcomes.final[metric][keep]
            key = "std" if j == 0 else f"std_{metric}"
            row[key] = float(np.std(v, ddof=1))
            row[f"{key}_low"], row[f"{key}_high"] = stats.bootstrap_ci(
                v, _std, rng=gen, n_resamples=1000
            )
        d = restarts.pair_mean(restarts.pairwise_disagreement(predicted[keep]))
        row.update(disagreement=d[0], disagreement_low=d[1], disagreement_high=d[2])
        others = keep[keep != base_row]
        vs_base = np.mean(predicted[others] != predicted[base_row][None], axis=1)
        low, high = stats.bootstrap_ci(vs_base, np.mean, rng=gen, n_resamples=1000)
        row.update(
            disagreement_base=float(vs_base.mean()),
            disagreement_base_low=low,
            disagreement_base_high=high,
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    settings = _run_settings(outcomes)
    settings.update(
        base="the redraw arm's restart 0 (its init key)",
        changed=f"one entry of the leaves matching {_where(where)!r}",
        spread="std over restarts, 95 % bootstrap",
    )
    text = [
        "initlab perturb: one weight of one shared start changed, against "
        "re-drawn starts (same data order)",
        _settings_text(settings),
        _shown(table, metric_names[0]).to_string(index=False),
        *_reading(table),
    ]
    if out is not None:
        _write(out, table, settings, text, metric_names[0])
    return StudyResult("perturb", settings, table, "\n".join(text), outcomes, out)


def _std(a, axis=-1):
    return np.std(a, axis=axis, ddof=1)


def _mean_change(base: Any, params: Any) -> float:
    """Mean over restarts of the summed |delta w| from the base (one entry)."""
    total = 0.0
    for b, p in zip(jax.tree.leaves(base), jax.tree.leaves(params), strict=True):
        diff = np.abs(np.asarray(p, np.float64) - np.asarray(b, np.float64)[None])
        total = total + diff.reshape(diff.shape[0], -1).sum(axis=1)
    return float(np.mean(total))


def _where(where: str | None) -> str:
    return r"kernel$" if where is None else where


def _own(own: Mapping[str, Any], small: bool) -> dict[str, Any]:
    return dict(
        epsilons=list(_epsilons(own.get("epsilons"), small)),
        bits=list(_bits(own.get("bits"), small)),
        where=_where(own.get("where")),
    )


def _epsilons(epsilons, small) -> tuple[float, ...]:
    if epsilons is None:
        return (1e-2,) if small else (1e-6, 1e-4, 1e-2)
    return tuple(
        _checks.number(e, "each epsilon", positive=True, where="perturb")
        for e in epsilons
    )


def _bits(bits, small) -> tuple[int, ...]:
    if bits is None:
        return (0,)
    return tuple(
        _checks.integer(b, "each bit", low=0, high=64, where="perturb") for b in bits
    )


def _shown(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    def col(name, pct):
        return [
            ci(v, lo, hi, 2 if pct else 4, pct)
            for v, lo, hi in zip(
                table[name], table[f"{name}_low"], table[f"{name}_high"], strict=True
            )
        ]

    return pd.DataFrame(
        {
            "arm": table.arm,
            "n": table.n,
            "|delta w|": [
                ("–" if not np.isfinite(d) else f"{d:.1e}") for d in table.delta
            ],
            f"std {metric}": col("std", metric.endswith("accuracy")),
            "disagreement": col("disagreement", True),
            "vs base": col("disagreement_base", True),
        }
    )


def _reading(table: pd.DataFrame) -> list[str]:
    redraw = table[table.arm == REDRAW].iloc[0]
    lines = []
    for _, r in table[table.arm != REDRAW].sort_values("delta").iterrows():
        share = r.disagreement / redraw.disagreement if redraw.disagreement else np.nan
        lines.append(
            f"{r.arm} (|delta w| {r.delta:.1e}): restarts disagree on "
            f"{100 * r.disagreement:.2f} % of test examples, {share:.1%} of the "
            f"re-drawn restarts' {100 * redraw.disagreement:.2f} %; std "
            f"{r['std']:.4f} vs {redraw['std']:.4f}"
        )
    return lines


def _write(out: Path, table, settings, text, metric) -> None:
    from initlab import plots

    table.to_csv(out / "perturbation.csv", index=False)
    page = Page(
        "initlab perturb: one start, one weight changed",
        "Every restart of an arm starts from one shared base but for one "
        "weight; the redraw arm re-draws every start. Same data order.",
    )
    page.findings += text[3:]
    with plots.figure_style("screen"):
        fig, _ = plots.plot_perturbation(
            table,
            redraw=REDRAW,
            columns=(
                ("std", f"std of the final {metric}"),
                ("disagreement", "pairwise disagreement"),
                ("disagreement_base", "disagreement with the base"),
            ),
        )
        figures = [
            (
                save(fig, out, "perturbation"),
                "Spread of outcomes and predictions against the size of the "
                "change (grey: re-drawn restarts; 95 % intervals).",
            )
        ]
    page.section(
        "Spread by size of the change", table=_shown(table, metric), figures=figures
    )
    page.write(out, settings)


def _defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(
            task="digits",
            initializers=("glorot_uniform",),
            model={"name": "mlp", "widths": [32]},
            num_restarts=6,
            steps=30,
        )
    return dict(
        task="digits", initializers=("glorot_uniform",), num_restarts=32, steps=300
    )


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    """The arms as initializers of one shared-start model."""
    entries = labelled_initializers(config.initializers)
    if len(entries) != 1:
        raise ValueError(
            "perturb: give one initializer, the base of every start; got "
            f"{list(entries)}."
        )
    if config.bias_init is not None:
        raise ValueError(
            "perturb: leave bias_init at the model's own: the engine applies bias "
            "rules per restart key, which would re-draw the shared biases."
        )
    base = get(next(iter(entries.values())))
    arms: dict[str, Any] = {REDRAW: base}
    for bit in _bits(own.get("bits"), small):
        arms[f"bit {bit}"] = restarts.perturbation(base, bit=bit)
    for eps in _epsilons(own.get("epsilons"), small):
        arms[f"eps={eps:g}"] = restarts.perturbation(base, epsilon=eps)
    if len(arms) == 1:
        raise ValueError("perturb: give at least one epsilon or bit.")
    task = build_task(config.task)
    model = (
        task.default_model()
        if config.model is None
        else build_model(config.model, task)
    )
    base_key = stream_key(config.seed, "init", [config.first_restart])[0]
    shared = restarts.shared_start(model, base_key, where=_where(own.get("where")))
    return dataclasses.replace(
        config,
        initializers=arms,
        model=shared,
        design="fixed_data",
        keep_params=True,
        keep_predictions=True,
    )


_SETS = "the study sets it (restarts share the data order and keep their starts)"
PERTURB = Study(
    "perturb",
    perturb,
    _defaults,
    finish=_finish,
    fixed={"design": _SETS, "keep_params": _SETS, "keep_predictions": _SETS},
)
