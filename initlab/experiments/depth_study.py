"""The depth study: signal propagation at initialization across depth."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from initlab import _checks, diagnostics
from initlab.engine import TrainConfig, resolve_initializers
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _settings_text
from initlab.experiments.study import Study
from initlab.models import get_activation


def depth(
    config: TrainConfig | None = None,
    *,
    activations: Sequence[str] | None = None,
    depths: Sequence[int] | None = None,
    width: int | None = None,
    num_keys: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Signal propagation at initialization across depth.

    :func:`initlab.diagnostics.depth_sweep` over initializers x activations x
    depths of square MLPs (biases zero): the second moment ``q_L`` of the last
    hidden pre-activation relative to the first layer's ``q_1`` (1 = the
    signal keeps its scale; -> 0 vanishes; large explodes) and the spread of
    the input-output Jacobian's singular values (dynamical isometry: small).
    Medians over ``num_keys`` networks. Nothing trains: of the TrainConfig
    fields only ``initializers`` (default lecun_normal, glorot_normal,
    he_normal, orthogonal) and ``seed`` apply.

    Args:
      config: a :class:`initlab.TrainConfig` (its initializers and seed).
      activations: hidden activations (default relu, tanh).
      depths: numbers of hidden layers (default 2, 4, 8, 16, 32; small 2, 4).
      width: hidden width (default 128; small 16).
      num_keys: networks per cell (default 8; small 2).
      small: a smoke run.
      out_dir: folder for ``depth_sweep.parquet``, figures and report.md.
      progress: unused (every study takes the same run controls).
      **overrides: ``initializers=`` and ``seed=``.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer, activation
      and depth; ``extra["sweep"]`` the full tidy table.

    Example:
      >>> result = depth(depths=(4, 16), activations=("tanh",), width=32,
      ...                num_keys=2)

    References:
      Poole et al. (2016); Schoenholz et al. (2017); Pennington et al. (2017).
    """
    del progress
    config = DEPTH.run_config(config, small=small, **overrides)
    seed = config.seed
    depths = tuple(
        _checks.positive_int(d, "each depth", where="depth")
        for d in (depths or ((2, 4) if small else (2, 4, 8, 16, 32)))
    )
    activations = tuple(activations or ("relu", "tanh"))
    for act in activations:
        get_activation(act)  # unknown names fail here, with the valid ones
    width = _checks.positive_int(width or (16 if small else 128), "width",
                                 where="depth")  # fmt: skip
    num_keys = _checks.positive_int(num_keys or (2 if small else 8), "num_keys",
                                    where="depth")  # fmt: skip
    inits = resolve_initializers(config.initializers)
    sweep = diagnostics.depth_sweep(
        inits, activations, depths, width=width, batch_size=width,
        num_keys=num_keys, seed=seed,
    )  # fmt: skip
    med = (
        sweep.groupby(["initializer", "activation", "depth", "layer", "statistic"],
                      sort=False)["value"].median().reset_index()
    )  # fmt: skip
    rows = []
    for (label, act, d), cell in med.groupby(["initializer", "activation", "depth"],
                                             sort=False):  # fmt: skip
        q = cell[cell.statistic == "second_moment"].set_index("layer")["value"]
        sv = cell[cell.statistic.str.startswith("jacobian_sv")].set_index(
            "statistic")["value"]  # fmt: skip
        rows.append(dict(
            initializer=label, activation=act, depth=int(d),
            q_last_over_q_first=float(q.loc[d] / q.loc[1]),
            jacobian_sv_mean=float(sv.get("jacobian_sv_mean", np.nan)),
            jacobian_sv_std=float(sv.get("jacobian_sv_std", np.nan)),
        ))  # fmt: skip
    table = pd.DataFrame(rows)
    settings = dict(initializers=", ".join(inits), activations=", ".join(activations),
                    depths=", ".join(map(str, depths)), width=width,
                    num_keys=num_keys, seed=seed, biases="zeros")  # fmt: skip
    out = _out_path(out_dir)
    if out is not None:
        _write_depth_report(out, sweep, table, settings, activations, max(depths))
    wide = table.pivot_table(index=["initializer", "activation"], columns="depth",
                             values="q_last_over_q_first", sort=False)  # fmt: skip
    wide.columns = [f"D={c}" for c in wide.columns]
    text = "\n".join([
        "initlab depth: q_D / q_1, second moment of the last hidden pre-activation "
        "over the first's at init (1 = preserved; median over networks)",
        _settings_text(settings),
        wide.map(lambda v: f"{v:.3g}").to_string(),
    ])  # fmt: skip
    return StudyResult("depth", settings, table, text, None, out, {"sweep": sweep})


def _write_depth_report(out: Path, sweep: pd.DataFrame, table: pd.DataFrame,
                        settings: Mapping[str, Any], activations: Sequence[str],
                        deepest: int) -> None:  # fmt: skip
    from initlab import plots

    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    sweep.to_parquet(out / "depth_sweep.parquet", index=False)
    table.to_csv(out / "depth_summary.csv", index=False)
    lines = ["# initlab depth: signal propagation at init", "",
             _settings_text(settings), "", table.to_markdown(index=False)
             if _has_tabulate() else table.to_string(index=False), ""]  # fmt: skip
    deep = sweep[sweep.depth == deepest]
    for act in activations:
        cell = deep[deep.activation == act]
        layer_stats = (
            cell.groupby(["initializer", "layer", "statistic"], sort=False)["value"]
            .median().reset_index()
        )  # fmt: skip
        with plots.figure_style("screen"):
            fig, _ = plots.plot_layer_stats(layer_stats, "second_moment", logy=True)
            fig.suptitle(f"{act}, depth {deepest}: second moment per layer (median)")
            name = f"second_moment_{act}.png"
            plots.save_figure(fig, figures / name, dpi=130, also=("svg",))
        lines += [f"![{act}](figures/{name})", ""]
    (out / "report.md").write_text("\n".join(lines))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _depth_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    del small
    return dict(initializers=("lecun_normal", "glorot_normal", "he_normal",
                              "orthogonal"))  # fmt: skip


DEPTH = Study("depth", depth, _depth_defaults, uses=("initializers", "seed"))
