"""Hyper-parameter landscapes and the best value: hand-made runs with coordinates.

Each run is built by hand (no training): its cells' values are chosen so the
statistic, the best value and how often it wins are known, and the intervals
are checked against ``bootstrap_ci`` on the cell's restarts with the child
generator the function documents.
"""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import initlab
from initlab import plots, stats
from initlab.outcomes import Outcomes
from initlab.report.hyper import hyper_section

RATES = (0.01, 0.1, 1.0)
SCALES = (0.5, 2.0)


def run(values, labels=("a", "b"), restarts=8, diverged=None, metric="test_accuracy",
        restart_ids=None):  # fmt: skip
    """Rows: label x scale x rate x restart (the engine's order); value =
    ``values(label, scale, rate, restart)``."""
    rows = [(lab, s, r, i) for lab in labels for s in SCALES for r in RATES
            for i in range(restarts)]  # fmt: skip
    lab, scale, rate, rid = (np.array(c) for c in zip(*rows, strict=True))
    x = np.array([values(*row) for row in rows], np.float64)
    div = np.zeros(len(rows), bool)
    if diverged is not None:
        div = diverged(lab, scale, rate, rid)
    if restart_ids is not None:
        rid = restart_ids(lab, scale, rate, rid)
    n = len(rows)
    final = np.where(div, np.nan, x)
    return Outcomes(
        initializer=lab, restart=rid, init_seed=rid, data_seed=rid,
        steps=np.array([0, 10]), curves={metric: np.stack([final, final], 1)},
        final={metric: final}, diverged=div, diverged_step=np.where(div, 10, -1),
        steps_to_target=np.full(n, -1),
        coords={"init_scale": scale.astype(float), "learning_rate": rate.astype(float)},
    )  # fmt: skip


def bowl(label, scale, rate, i):
    """Best at rate 0.1 for every restart; a large restart effect shared by cells."""
    return 0.5 + 0.05 * i - 0.1 * abs(np.log10(rate) + 1) - 0.01 * scale


def test_landscape_cells_are_the_statistic_of_their_restarts_with_intervals():
    out = run(bowl, diverged=lambda lab, s, r, i: (lab == "a") & (r == 1.0) & (i < 2))
    table = stats.landscape(out, "test_accuracy", "init_scale", "learning_rate",
                            statistic="mean", rng=3, n_resamples=300)  # fmt: skip
    assert len(table) == 2 * 2 * 3
    assert list(table.columns[:3]) == ["initializer", "init_scale", "learning_rate"]
    children = np.random.default_rng(3).spawn(len(table))
    for row, child in zip(table.itertuples(), children, strict=True):
        cell = ((out.initializer == row.initializer)
                & (out.coords["init_scale"] == row.init_scale)
                & (out.coords["learning_rate"] == row.learning_rate))  # fmt: skip
        kept = out.final["test_accuracy"][cell & ~out.diverged]
        assert row.n == kept.size and row.diverged == np.sum(cell & out.diverged)
        assert row.estimate == pytest.approx(kept.mean())
        low, high = stats.bootstrap_ci(kept, np.mean, rng=child, n_resamples=300)
        assert (row.low, row.high) == (low, high)
    assert table.loc[(table.initializer == "a") & (table.learning_rate == 1.0),
                     "diverged"].tolist() == [2, 2]  # fmt: skip
    # a run relabelled with Outcomes.by() gives the same table
    again = stats.landscape(out.by("learning_rate"), "test_accuracy", "init_scale",
                            "learning_rate", statistic="mean", rng=3,
                            n_resamples=300)  # fmt: skip
    pd.testing.assert_frame_equal(again, table)
    # one coordinate: the other stays a column, never pooled
    one = stats.landscape(out, "test_accuracy", "learning_rate", rng=0,
                          n_resamples=50)  # fmt: skip
    assert list(one.columns[:3]) == ["initializer", "init_scale", "learning_rate"]
    assert one.attrs["others"] == ["init_scale"] and one.attrs["columns"] is None


def test_best_value_finds_the_best_and_pairing_makes_it_sure():
    out = run(bowl)
    best = stats.best_value(out, "test_accuracy", "learning_rate", rng=0,
                            n_resamples=400)  # fmt: skip
    assert best.learning_rate.tolist() == [0.1] * 4
    assert list(best.columns[:2]) == ["initializer", "init_scale"]
    # every restart is best at 0.1 by 0.1: with paired resamples it always wins
    assert best.share.tolist() == [1.0] * 4 and best.paired.all()
    assert (best.best_low == 0.1).all() and (best.best_high == 0.1).all()
    at = (
        (out.initializer == "a")
        & (out.coords["init_scale"] == 0.5)
        & (out.coords["learning_rate"] == 0.1)
    )
    assert best.estimate[0] == pytest.approx(stats.iqm(out.final["test_accuracy"][at]))
    assert best.low[0] <= best.estimate[0] <= best.high[0]
    # The restart effect (0.05 per restart, 0.35 across them) dwarfs the 0.1
    # between rates: resampled on their own, the cells' IQMs overlap and 0.1
    # no longer always wins. Give each rate other restarts to break the pairing.
    apart = run(
        bowl, restart_ids=lambda lab, s, r, i: i + 100 * np.searchsorted(RATES, r)
    )
    unpaired = stats.best_value(apart, "test_accuracy", rng=0, n_resamples=400)
    assert not unpaired.paired.any()
    assert (unpaired.share < 0.95).all() and (unpaired.learning_rate == 0.1).all()
    assert all(sum(w.values()) == pytest.approx(1.0) for w in unpaired.wins)


def test_best_value_ties_lower_is_better_divergence_and_draws():
    # rates 0.1 and 1.0 tie exactly for every restart: each wins about half;
    # 2000 resamples: binomial sd sqrt(0.25 / 2000) = 0.011, 5 sd = 0.056
    tie = run(lambda lab, s, r, i: 0.5 + 0.01 * i + (0.1 if r > 0.05 else 0.0))
    best, draws = stats.best_value(tie, "test_accuracy", rng=1, n_resamples=2000,
                                   return_draws=True)  # fmt: skip
    assert draws.shape == (4, 2000) and set(np.unique(draws)) == {0.1, 1.0}
    for row, d in zip(best.itertuples(), draws, strict=True):
        assert 0.5 - 0.056 < row.wins[0.1] < 0.5 + 0.056
        assert row.wins[0.1] == pytest.approx(np.mean(d == 0.1))
        assert row.learning_rate == max(row.wins, key=row.wins.get)
        assert (row.best_low, row.best_high) == (0.1, 1.0)
    # a loss: lower is better, the best is the minimum
    flipped = run(lambda *a: -bowl(*a), metric="test_loss")
    assert (stats.best_value(flipped, "test_loss", rng=0,
                             n_resamples=100).learning_rate == 0.1).all()  # fmt: skip
    # rate 1.0 is best by 0.2 but one of 8 restarts diverged there: the mean
    # counts it as the worst outcome, so on all restarts 1.0 is not best, and
    # it wins exactly the resamples that leave that restart out: probability
    # (7/8)^8 = 0.344; 2000 resamples: sd 0.011, 5 sd = 0.053. The median
    # shrugs one bad restart off.
    good = run(lambda lab, s, r, i: 0.5 + 0.01 * i + 0.2 * (r == 1.0),
               diverged=lambda lab, s, r, i: (r == 1.0) & (i == 0))  # fmt: skip
    by_mean = stats.best_value(good, "test_accuracy", statistic="mean", rng=0,
                               n_resamples=2000)  # fmt: skip
    by_median = stats.best_value(good, "test_accuracy", statistic="median", rng=0,
                                 n_resamples=200)  # fmt: skip
    assert (by_mean.learning_rate != 1.0).all()
    wins = by_mean.wins.map(lambda w: w[1.0])
    assert (abs(wins - (7 / 8) ** 8) < 0.053).all()
    assert (by_median.learning_rate == 1.0).all()
    assert by_median.diverged.tolist() == [1] * 4


def test_bad_coordinates_and_groups_are_refused():
    out = run(bowl)
    with pytest.raises(KeyError, match="unknown coordinate 'lr'"):
        stats.landscape(out, "test_accuracy", "lr")
    with pytest.raises(KeyError, match="unknown metric"):
        stats.best_value(out, "accuracy")
    with pytest.raises(ValueError, match="both"):
        stats.landscape(out, "test_accuracy", "init_scale", "init_scale")
    with pytest.raises(ValueError, match="both the coordinate and in within"):
        stats.best_value(out, "test_accuracy", within=["learning_rate"])
    with pytest.raises(ValueError, match="Allowed: 'mean', 'median', 'iqm'"):
        stats.landscape(out, "test_accuracy", "init_scale", statistic="max")
    one = out.select(out.coords["learning_rate"] == 0.1)
    with pytest.raises(ValueError, match="a best needs at least 2"):
        stats.best_value(one, "test_accuracy")
    few = out.select(out.restart == 0)
    with pytest.raises(ValueError, match="at least 2 needed"):
        stats.best_value(few, "test_accuracy")
    plain = dataclasses.replace(out, coords={})
    with pytest.raises(KeyError, match="train with a list of values"):
        stats.best_value(plain, "test_accuracy")


def test_the_figures_show_the_tables():
    out = run(bowl, diverged=lambda lab, s, r, i: (r == 1.0) & (s == 2.0))
    grid = stats.landscape(out, "test_accuracy", "init_scale", "learning_rate",
                           rng=0, n_resamples=100)  # fmt: skip
    fig, axes = plots.plot_landscape(grid)
    shown = [a for a in axes.ravel() if a.get_visible()]
    assert [a.get_title() for a in shown] == ["a", "b"]
    texts = [t.get_text() for t in shown[0].texts]
    assert any("diverged" in t for t in texts) and any("[" in t for t in texts)
    box = [p for p in shown[0].patches if not p.get_fill()]
    assert len(box) == 1 and box[0].get_xy() == (0.5, -0.5)  # rate 0.1, scale 0.5
    import matplotlib.pyplot as plt

    plt.close(fig)
    curve = stats.landscape(out, "test_accuracy", "learning_rate", rng=0,
                            n_resamples=100)  # fmt: skip
    best = stats.best_value(out, "test_accuracy", rng=0, n_resamples=100)
    fig, axes = plots.plot_coordinate_curves(curve, best=best)
    stars = [ln for ln in axes.ravel()[0].lines if ln.get_marker() == "*"]
    assert [s.get_xdata()[0] for s in stars] == [0.1, 0.1]  # a and b, scale 0.5
    plt.close(fig)
    fig, axes = plots.plot_coordinate_curves(curve, hue="init_scale")
    assert [a.get_title() for a in axes.ravel() if a.get_visible()] == ["a", "b"]
    plt.close(fig)
    fig, ax = plots.plot_best_values(best, "init_scale")
    assert ax.get_xlabel() == "init scale"
    plt.close(fig)
    with pytest.raises(ValueError, match="one coordinate"):
        plots.plot_landscape(curve)
    with pytest.raises(ValueError, match="attrs"):
        plots.plot_landscape(pd.DataFrame(grid))


def test_a_report_of_a_run_with_coordinates_has_the_hyper_parameter_section(tmp_path):
    out = initlab.train(
        initlab.make_task("tiny", *_blobs(), kind="classification",
                          defaults=dict(batch_size=8, steps=10, eval_every=10)),
        "he_normal", learning_rate=[0.03, 0.3],
        init_scale=[0.5, 1.0], num_restarts=3, progress=False,
    )  # fmt: skip
    folder = initlab.write_report(out, tmp_path / "r", n_resamples=100, vector=None)
    md = (folder / "report.md").read_text()
    assert "## Hyper-parameters" in md and "he_normal lr=0.03 scale=0.5" in md
    assert (folder / "figures" / "hyper_learning_rate.png").exists()
    assert (folder / "figures" / "hyper_init_scale_learning_rate.png").exists()
    assert "Hyper-parameters" in (folder / "report.html").read_text()
    # each line quotes the summary table's IQM of its best cell
    for line in [x for x in md.splitlines() if "wins" in x and x.startswith("- ")]:
        label, scale, rate = re.search(
            r"- (\S+) \(init scale ([\d.]+)\): learning rate ([\d.]+) wins", line
        ).groups()
        quoted = re.search(r"IQM ([\d.]+) \[([\d.]+), ([\d.]+)\]", line).groups()
        row = next(x for x in md.splitlines()
                   if x.startswith(f"| {label} lr={rate} scale={scale} |"))  # fmt: skip
        cells = [c.strip() for c in row.split("|")]
        iqm = re.match(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", cells[5]).groups()
        places = min(len(q.split(".")[-1]) for q in (*quoted, *iqm))
        for a, b in zip(quoted, iqm, strict=True):
            assert abs(float(a) - float(b)) <= 10.0**-places, (line, row)
    # a run without coordinates: no section, no figure (the rest of its
    # report is tests/test_report.py's)
    without = dataclasses.replace(out, coords={})
    assert hyper_section(without, "test_accuracy", tmp_path, rng=0, confidence=0.95,
                         n_resamples=10, vector=None) == ([], [])  # fmt: skip


def _blobs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return x[:40], y[:40], x[40:], y[40:]
