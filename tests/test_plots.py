"""Tests of initlab.plots: every figure renders (Agg) with the expected artists."""

import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from initlab import plots, stats
from initlab.outcomes import Outcomes

matplotlib.use("Agg")

LABELS = ["he_normal", "glorot_uniform", "zeros"]


def synthetic_outcomes(n=20, diverged=(22, 25)):
    """3 initializers x n restarts with loss/accuracy curves; some diverged."""
    rng = np.random.default_rng(0)
    labels = np.repeat(LABELS, n)
    r = labels.size
    steps = np.arange(0, 101, 10)
    skill = np.repeat([0.9, 0.85, 0.3], n) + rng.normal(0, 0.03, r)
    t = steps[None, :] / 100
    loss = 2.3 * np.exp(-3 * t * skill[:, None]) + rng.uniform(0, 0.05, (r, steps.size))
    acc = 0.1 + (skill[:, None] - 0.1) * (1 - np.exp(-5 * t))
    div = np.zeros(r, bool)
    div[list(diverged)] = True
    loss[div, 5:] = np.nan
    return Outcomes(
        initializer=labels,
        restart=np.tile(np.arange(n), 3),
        init_seed=np.tile(np.arange(n), 3),
        data_seed=np.zeros(r, int),
        steps=steps,
        curves={"train_loss": loss, "test_accuracy": acc},
        final={
            "train_loss": loss[:, -1],
            "test_accuracy": np.where(div, np.nan, acc[:, -1]),
        },
        diverged=div,
        diverged_step=np.where(div, 50, -1),
        steps_to_target=np.full(r, -1),
    )


@pytest.fixture(scope="module")
def outcomes():
    return synthetic_outcomes()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_colors_are_stable_and_distinct():
    a = plots.colors(["b", "a", "c"])
    assert a == plots.colors(["c", "b", "a", "a"])  # order and duplicates ignored
    tab10 = matplotlib.colormaps["tab10"]
    assert a["a"] == tab10(0) and a["c"] == tab10(2)
    many = plots.colors([f"init{i:02d}" for i in range(15)])
    assert len(set(many.values())) == 15  # tab20 beyond 10 labels


def test_plot_distributions(outcomes):
    fig, ax = plots.plot_distributions(outcomes, "test_accuracy")
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 3
    n_points = sorted(len(c.get_offsets()) for c in scatters)
    assert n_points == [18, 20, 20]  # glorot_uniform lost its 2 diverged
    bodies = [c for c in ax.collections if type(c) is not PathCollection]
    assert len(bodies) == 3  # one violin each
    texts = legend_texts(ax)
    assert len(texts) == 3
    assert "glorot_uniform (n=18, 2 diverged)" in texts
    assert "2 diverged" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert ax.get_ylabel() == "final test accuracy" and ax.get_xlabel()
    # colour of each initializer's dots is its palette colour
    palette = plots.colors(LABELS)
    for c, label in zip(scatters, LABELS, strict=True):
        np.testing.assert_allclose(c.get_facecolor()[0][:3], palette[label][:3])


def test_plot_distributions_box_mapping_and_given_ax():
    fig0, ax0 = plt.subplots()
    data = {"x": [1.0, 2.0, 3.0], "y": [2.0, 2.0, 2.0]}
    fig, ax = plots.plot_distributions(data, "loss", kind="box", ax=ax0)
    assert ax is ax0 and fig is fig0
    assert len([c for c in ax.collections if isinstance(c, PathCollection)]) == 2
    assert len(ax.lines) > 0  # box whiskers and medians
    assert ax.get_ylabel() == "final loss"
    with pytest.raises(ValueError, match="'violin' or 'box'"):
        plots.plot_distributions(data, kind="strip")
    with pytest.raises(ValueError, match="non-finite"):
        plots.plot_distributions({"x": [1.0, np.nan]})
    with pytest.raises(TypeError, match="mapping"):
        plots.plot_distributions([1.0, 2.0])


def test_plot_ecdf(outcomes):
    fig, ax = plots.plot_ecdf(outcomes, "test_accuracy")
    assert len(ax.lines) == 3 and len(legend_texts(ax)) == 3
    y = ax.lines[0].get_ydata()
    assert y[0] == 0.0 and y[-1] == 1.0 and np.all(np.diff(y) >= 0)
    assert ax.get_xlabel() == "final test accuracy" and "fraction" in ax.get_ylabel()


def test_plot_curves(outcomes):
    fig, ax = plots.plot_curves(outcomes, "train_loss")
    assert len(ax.lines) == 3
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    assert ax.get_yscale() == "log"  # a positive loss
    assert ax.get_xlabel() == "training step" and ax.get_ylabel() == "train loss"
    # The median line is the median over the non-diverged restarts.
    keep = (outcomes.initializer == "glorot_uniform") & ~outcomes.diverged
    want = np.median(outcomes.curves["train_loss"][keep], axis=0)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), want)
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), outcomes.steps)
    assert "glorot_uniform (n=18, 2 diverged)" in legend_texts(ax)
    _, ax = plots.plot_curves(outcomes, "test_accuracy")
    assert ax.get_yscale() == "linear"
    _, ax = plots.plot_curves(outcomes, "train_loss", logy=False)
    assert ax.get_yscale() == "linear"
    with pytest.raises(KeyError, match="unknown curve"):
        plots.plot_curves(outcomes, "nope")


def test_plot_best_of_k(outcomes):
    fig, ax = plots.plot_best_of_k(outcomes, "test_accuracy", n_resamples=200)
    assert len(ax.lines) == 3 and len(legend_texts(ax)) == 3
    he = outcomes.values("test_accuracy", "he_normal")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), stats.expected_best_of_k(he))
    assert ax.get_xlabel().startswith("k") and "best" in ax.get_ylabel()
    _, ax = plots.plot_best_of_k(outcomes, "train_loss", ks=[1, 2, 5], n_resamples=50)
    assert list(ax.lines[0].get_xdata()) == [1, 2, 5]
    assert "lowest" in ax.get_ylabel()


def test_plot_profiles(outcomes):
    fig, ax = plots.plot_profiles(outcomes, "test_accuracy", thresholds=[0.5, 0.88])
    assert len(ax.lines) == 3
    he = outcomes.values("test_accuracy", "he_normal")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, np.mean(he > 0.88)])
    assert ">" in ax.get_ylabel() and "τ" in ax.get_xlabel()
    _, ax = plots.plot_profiles(outcomes, "train_loss")
    assert "<" in ax.get_ylabel() and len(ax.lines[0].get_xdata()) == 200


def test_plot_variance_components():
    grid = np.random.default_rng(0).normal(size=(8, 6)) + np.arange(8)[:, None]
    vc = stats.variance_components(grid, rng=0, n_resamples=100)
    fig, ax = plots.plot_variance_components(vc)
    assert len(ax.patches) == 3
    np.testing.assert_allclose([p.get_height() for p in ax.patches], vc["share"])
    assert len(ax.containers) == 2  # the bars and their error bars
    assert ax.get_ylabel() == "share of total variance"
    assert "8 init x 6 data" in ax.get_title()
    with pytest.raises(ValueError, match="share_low"):
        plots.plot_variance_components({"components": [], "share": []})


def layer_table():
    rows = [
        {"initializer": init, "layer": layer, "statistic": stat, "value": v}
        for init, scale in [("he_normal", 1.0), ("zeros", 1e-3)]
        for layer in range(5)
        for stat, v in [("activation_std", scale * 2.0**layer), ("grad_norm", 1.0)]
    ]
    return pd.DataFrame(rows)


def test_plot_layer_stats():
    table = layer_table()
    fig, ax = plots.plot_layer_stats(table, "activation_std", logy=True)
    assert len(ax.lines) == 2 and legend_texts(ax) == ["he_normal", "zeros"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(5))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 2.0 ** np.arange(5))
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "activation std"
    named = table.assign(layer=table["layer"].map(lambda i: f"dense_{i}"))
    _, ax = plots.plot_layer_stats(named, "grad_norm")
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["dense_0", "dense_1"]
    with pytest.raises(ValueError, match="pass statistic="):
        plots.plot_layer_stats(table)
    with pytest.raises(ValueError, match="needs columns"):
        plots.plot_layer_stats(table.drop(columns="value"))


def test_palette_is_shared_across_figures(outcomes):
    palette = plots.colors([*LABELS, "lecun_normal"])
    _, ax = plots.plot_ecdf(outcomes, "test_accuracy", palette=palette)
    _, ax2 = plots.plot_curves(outcomes, "test_accuracy", palette=palette)
    for a, b, label in zip(ax.lines, ax2.lines, LABELS, strict=True):
        assert a.get_color() == b.get_color() == palette[label]
    with pytest.raises(ValueError, match="no colour for"):
        plots.plot_ecdf(outcomes, "test_accuracy", palette={"zeros": "k"})


def test_importing_initlab_plots_and_report_does_not_import_matplotlib():
    # Only drawing imports matplotlib: not `import initlab`, not initlab.plots
    # or initlab.report, not any of their modules.
    code = (
        "import importlib, pkgutil, sys\n"
        "import initlab\n"
        "assert 'matplotlib' not in sys.modules, 'import initlab: matplotlib'\n"
        "import initlab.plots, initlab.report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "for pkg in (initlab.plots, initlab.report):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        "        assert 'matplotlib' not in sys.modules, m.name\n"
        "print(len(list(pkgutil.iter_modules(initlab.plots.__path__))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) >= 6  # the package really was walked


def test_every_plot_draws_on_a_given_ax_or_makes_one(outcomes):
    vc = stats.variance_components(
        np.random.default_rng(0).normal(size=(4, 3)), rng=0, n_resamples=50
    )
    calls = {
        "plot_distributions": lambda ax: plots.plot_distributions(
            outcomes, "test_accuracy", ax=ax
        ),
        "plot_ecdf": lambda ax: plots.plot_ecdf(outcomes, "test_accuracy", ax=ax),
        "plot_curves": lambda ax: plots.plot_curves(outcomes, "train_loss", ax=ax),
        "plot_best_of_k": lambda ax: plots.plot_best_of_k(
            outcomes, "test_accuracy", ax=ax, n_resamples=20
        ),
        "plot_profiles": lambda ax: plots.plot_profiles(
            outcomes, "test_accuracy", ax=ax
        ),
        "plot_variance_components": lambda ax: plots.plot_variance_components(
            vc, ax=ax
        ),
        "plot_layer_stats": lambda ax: plots.plot_layer_stats(
            layer_table(), "grad_norm", ax=ax
        ),
        "plot_improvement_matrix": lambda ax: plots.plot_improvement_matrix(
            outcomes, "test_accuracy", n_resamples=20, ax=ax
        ),
    }
    # Figures of panels take the given axes' place (it is replaced by a grid).
    panels = {
        "plot_interval_estimates": lambda ax: plots.plot_interval_estimates(
            outcomes, "test_accuracy", n_resamples=50, ax=ax
        ),
        "plot_strips": lambda ax: plots.plot_strips(outcomes, "test_accuracy", ax=ax),
        "plot_ecdf_split": lambda ax: plots.plot_ecdf_split(
            outcomes, "test_accuracy", ax=ax
        ),
        "plot_curve_panels": lambda ax: plots.plot_curve_panels(
            outcomes, "test_accuracy", ax=ax
        ),
    }
    # Every public plot_* function is covered here, or (figures of a study's
    # own tables) in that study's tests.
    elsewhere = {
        "test_restarts_studies.py": ["plot_agreement", "plot_ensemble_curves",
            "plot_estimates", "plot_interpolation", "plot_interval_widths",
            "plot_perturbation", "plot_reliability"],
        "test_landscape.py": ["plot_best_values", "plot_coordinate_curves",
                              "plot_landscape"],
        "test_parametrization.py": ["plot_coord_check"],
    }  # fmt: skip
    for file, names in elsewhere.items():
        text = (Path(__file__).parent / file).read_text()
        assert all(f"{name}(" in text for name in names), file
    assert sorted([*calls, *panels, *sum(elsewhere.values(), [])]) == sorted(
        n for n in plots.__all__ if n.startswith("plot_")
    )
    for name, call in calls.items():
        fig0, given = plt.subplots(1, 2)
        fig, ax = call(given[1])
        assert fig is fig0 and ax is given[1], name
        assert not given[0].has_data(), name  # nothing drawn on the other axes
        fig, ax = call(None)
        assert fig is not fig0 and ax in fig.axes and ax.has_data(), name
        plt.close("all")
    for name, call in panels.items():
        fig0, given = plt.subplots(1, 2)
        box = given[1].get_position()
        fig, axes = call(given[1])
        assert fig is fig0 and given[1] not in fig.axes, name  # replaced
        assert given[0] in fig.axes and not given[0].has_data(), name
        fig.canvas.draw()
        for a in axes.flat:
            if a.get_visible() and a.axison:
                p = a.get_position()
                assert p.x0 >= box.x0 - 0.05 and p.x1 <= box.x1 + 0.05, name
        fig, axes = call(None)
        assert fig is not fig0 and all(a in fig.axes for a in axes.flat), name
        assert axes.flat[0].has_data(), name
        plt.close("all")


def test_save_figure_writes_and_closes(tmp_path, outcomes):
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    path = plots.save_figure(fig, tmp_path / "ecdf.png", dpi=50)
    assert path == tmp_path / "ecdf.png" and not plt.fignum_exists(fig.number)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (int.from_bytes(path.read_bytes()[k : k + 4]) for k in (16, 20))
    assert (width, height) == (320, 200)  # 6.4 x 4 in at 50 dpi
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    with pytest.raises(ValueError, match="dpi must be a number > 0"):
        plots.save_figure(fig, tmp_path / "x.png", dpi=0)
    assert not plt.fignum_exists(fig.number)  # closed even when refused
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    with pytest.raises(TypeError, match="path must be a str"):
        plots.save_figure(fig, 3)
    assert not (tmp_path / "x.png").exists() and not plt.fignum_exists(fig.number)


# ----- the figures of rows: sorted, failed initializers apart -----------------


def rows_outcomes(n=16, metric_noise=0.01):
    """Four working initializers of known order, one at chance, one all diverged."""
    rng = np.random.default_rng(3)
    skills = {"he_normal": 0.95, "orthogonal": 0.97, "glorot_uniform": 0.93,
              "lecun_normal": 0.96, "zeros": 0.1, "ones": 0.5}  # fmt: skip
    labels = np.repeat(list(skills), n)
    r = labels.size
    acc = np.repeat(list(skills.values()), n) + rng.normal(0, metric_noise, r)
    div = labels == "ones"
    steps = np.array([0, 10, 100, 1000])
    t = np.log1p(steps)[None, :] / np.log1p(1000)
    curve = 0.1 + (acc[:, None] - 0.1) * t
    loss = np.where(div[:, None], np.nan, 2.3 * (1.05 - curve))
    return Outcomes(
        initializer=labels,
        restart=np.tile(np.arange(n), len(skills)),
        init_seed=np.tile(np.arange(n), len(skills)),
        data_seed=np.tile(np.arange(n), len(skills)),
        steps=steps,
        curves={"test_accuracy": curve, "train_loss": loss},
        final={
            "test_accuracy": np.where(div, np.nan, acc),
            "train_loss": loss[:, -1],
        },  # fmt: skip
        diverged=div,
        diverged_step=np.where(div, 10, -1),
        steps_to_target=np.full(r, -1),
        metadata={"num_classes": 10},
    )


WORKING = ["orthogonal", "lecun_normal", "he_normal", "glorot_uniform"]  # best first


@pytest.fixture(scope="module")
def rows():
    return rows_outcomes()


def tick_texts(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


def figure_legends(fig):
    return [a.get_legend() for a in fig.axes if a.get_legend()] + list(fig.legends)


def test_interval_estimates_rows_sorted_failed_apart(rows):
    table = stats.summary_table(rows, "test_accuracy", rng=0, n_resamples=100)
    fig, axes = plots.plot_interval_estimates(rows, "test_accuracy", table=table)
    assert axes.shape == (2, 3)  # working / failed x mean, IQM, median
    names = [t.split(" ")[0] for t in tick_texts(axes[0, 0])]
    assert names == WORKING  # best IQM on top
    failed = [t.split(":")[0] for t in tick_texts(axes[1, 0])]
    assert sorted(failed) == ["ones", "zeros"]  # exactly the failing ones
    assert "ones: diverged" in tick_texts(axes[1, 0])
    # every zeros restart starts from the same network (step-0 accuracy 0.1 for
    # all init seeds) and ends at chance
    assert "zeros: symmetry never broken" in tick_texts(axes[1, 0])
    # The IQM panel's points are the table's IQMs, row by row.
    iqm = table.set_index("initializer")["iqm"]
    dots = [ln for ln in axes[0, 1].lines if ln.get_marker() == "o"]
    np.testing.assert_allclose([d.get_xdata()[0] for d in dots], iqm[WORKING])
    # The working panel zooms to the working ones: zeros (0.1) is off its axis,
    # and the chance level is dashed in the failed panel.
    assert axes[0, 0].get_xlim()[0] > 0.5
    assert any(ln.get_linestyle() == "--" and ln.get_xdata()[0] == 0.1
               for ln in axes[1, 0].lines)  # fmt: skip
    assert not figure_legends(fig)  # the names are on the axis: no legend
    palette = plots.colors(rows.labels)
    np.testing.assert_allclose(dots[0].get_color()[:3], palette["orthogonal"][:3])


def test_interval_estimates_direction_sort_key_and_no_split(rows):
    data = {"a": [3.0, 3.1, 2.9, 3.0], "b": [1.0, 1.2, 0.9, 1.1],
            "c": [2.0, 2.2, 1.9, 2.1]}  # fmt: skip
    _, axes = plots.plot_interval_estimates(data, "loss", higher_is_better=False,
                                            n_resamples=50)  # fmt: skip
    assert axes.shape == (1, 3)  # nothing failed: one row of panels
    assert tick_texts(axes[0, 0]) == ["b", "c", "a"]  # lowest loss first
    _, axes = plots.plot_interval_estimates(
        {"x": [0.0, 10.0, 10.0, 10.0, 10.0], "y": [5.0, 5.0, 5.0, 5.0, 5.0]},
        sort_by="mean", statistics=["mean", "median"], n_resamples=50,
    )  # fmt: skip
    assert axes.shape == (1, 2) and tick_texts(axes[0, 0]) == ["x", "y"]  # 8 > 5
    _, axes = plots.plot_interval_estimates(rows, "test_accuracy", failed=False,
                                            n_resamples=50)  # fmt: skip
    assert axes.shape == (1, 3) and len(tick_texts(axes[0, 0])) == 6
    _, axes = plots.plot_interval_estimates(
        rows, "test_accuracy", failed=["he_normal"], n_resamples=50
    )
    assert tick_texts(axes[1, 0]) == ["he_normal: failed"]


def test_interval_estimates_refuse_bad_arguments(rows):
    with pytest.raises(ValueError, match="statistics must be"):
        plots.plot_interval_estimates(rows, "test_accuracy", statistics=["max"])
    with pytest.raises(ValueError, match="sort_by"):
        plots.plot_interval_estimates(rows, "test_accuracy", sort_by="max")
    with pytest.raises(ValueError, match="unknown label"):
        plots.plot_interval_estimates(rows, "test_accuracy", failed=["nope"])
    with pytest.raises(TypeError, match="list of labels"):
        plots.plot_interval_estimates(rows, "test_accuracy", failed="zeros")


def test_strips_rows_points_and_failed_panel(rows):
    fig, axes = plots.plot_strips(rows, "test_accuracy")
    names = [t.split(" ")[0] for t in tick_texts(axes[0, 0])]
    assert names == WORKING and tick_texts(axes[0, 0])[0] == "orthogonal (n=16)"
    assert sorted(t.split(":")[0] for t in tick_texts(axes[1, 0])) == ["ones", "zeros"]
    # one point per kept restart, in the row of its initializer
    points = [c for c in axes[0, 0].collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [16] * 4
    for y, (label, c) in enumerate(zip(WORKING, points, strict=True)):
        xy = c.get_offsets()
        np.testing.assert_allclose(
            np.sort(xy[:, 0]), np.sort(rows.values("test_accuracy", label))
        )
        assert np.all(np.abs(xy[:, 1] - y) < 0.5)
    # "ones" diverged everywhere: no points, the panel says so
    assert any("all 16 diverged" in t.get_text() for t in axes[1, 0].texts)
    assert not figure_legends(fig)
    _, axes = plots.plot_strips(rows, "test_accuracy", kind="strip", failed=False)
    assert axes.shape == (1, 1)
    with pytest.raises(ValueError, match="kind"):
        plots.plot_strips(rows, "test_accuracy", kind="violin")
    with pytest.raises(ValueError, match="jitter"):
        plots.plot_strips(rows, "test_accuracy", jitter=0.6)


def test_ecdf_split_one_legend_best_first(rows):
    fig, axes = plots.plot_ecdf_split(rows, "test_accuracy")
    assert axes.shape == (1, 2)
    assert len(axes[0, 0].lines) == 4 and len(axes[0, 1].lines) >= 1  # zeros
    legends = figure_legends(fig)
    assert len(legends) == 1
    texts = [t.get_text().split(":")[0] for t in legends[0].get_texts()]
    assert texts[:4] == WORKING and sorted(texts[4:]) == ["ones", "zeros"]
    assert axes[0, 0].get_xlim()[0] > 0.5  # zoomed on the working ones


def test_improvement_matrix_cells(rows):
    working = stats.improvement_matrix(
        rows, "test_accuracy", rng=0, labels=WORKING, n_resamples=100
    )
    fig, ax = plots.plot_improvement_matrix(working)
    shown = ax.images[0].get_array()
    assert np.all(np.ma.getmaskarray(shown)[np.eye(4, dtype=bool)])  # no diagonal
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(np.ma.getdata(shown)[off], working["p"][off])
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 2 * 12  # probability and interval in each of 12 cells
    bold = [t for t in ax.texts if t.get_fontweight() == "bold"]
    resolved = ~((working["low"] <= 0.5) & (0.5 <= working["high"])) & off
    assert len(bold) == int(resolved.sum())
    assert [t.get_text() for t in ax.get_yticklabels()] == WORKING
    # A subset in another order; no intervals when asked.
    _, ax = plots.plot_improvement_matrix(working, labels=WORKING[::-1][:3],
                                          annotate=False)  # fmt: skip
    assert [t.get_text() for t in ax.get_yticklabels()] == WORKING[::-1][:3]
    assert len(ax.texts) == 6
    with pytest.raises(ValueError, match="lacks 'low'"):
        plots.plot_improvement_matrix({"labels": ["a"], "p": [[0.5]]})


def test_curve_panels_one_per_initializer_best_first(rows):
    fig, axes = plots.plot_curve_panels(rows, "test_accuracy")
    assert axes.shape == (2, 5) and not axes.flat[-1].axison  # 6 panels, 1 spare
    titles = [a.get_title().split("\n")[0] for a in axes.flat[:6]]
    assert titles[:4] == WORKING and titles[5] == "ones (16 diverged)"
    # each panel: the others' medians in grey (5, less the all-diverged one),
    # then its own median over kept restarts
    a = axes.flat[0]
    grey = [ln for ln in a.lines if ln.get_color() == plots.style.REFERENCE]
    assert len(grey) == 4
    own = a.lines[-1]
    keep = (rows.initializer == "orthogonal") & ~rows.diverged
    np.testing.assert_allclose(
        own.get_ydata(), np.median(rows.curves["test_accuracy"][keep], 0)
    )
    assert a.get_xscale() == "symlog"  # steps 0..1000 span three decades
    assert not figure_legends(fig)
    _, axes = plots.plot_curve_panels(rows, "train_loss", order=WORKING, ncols=2,
                                      logx=False)  # fmt: skip
    assert axes.shape == (2, 2) and axes.flat[0].get_yscale() == "log"
    assert axes.flat[0].get_xscale() == "linear"
    with pytest.raises(ValueError, match="order must list"):
        plots.plot_curve_panels(rows, "train_loss", order=["nope"])


def test_log_steps_and_curves_outer_band(rows):
    assert plots.log_steps([0, 10, 100, 1000])
    assert not plots.log_steps([0, 100, 200, 300])
    assert not plots.log_steps([0, 1, 2])
    _, ax = plots.plot_curves(rows, "test_accuracy", outer=(5, 95))
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 * 5  # inner and outer band, 5 with kept restarts
    assert ax.get_xscale() == "symlog"
    with pytest.raises(ValueError, match="outer"):
        plots.plot_curves(rows, "test_accuracy", outer=(95, 5))


# ----- style: colours, one legend, sizes, formats --------------------------------


def test_known_names_keep_their_colour_in_any_subset():
    from initlab.registry import REGISTRY

    names = sorted(REGISTRY)
    everyone = plots.colors(names)
    assert len(set(everyone.values())) == len(names)  # distinct, 30+ of them
    rng = np.random.default_rng(0)
    for _ in range(20):
        subset = list(rng.choice(names, size=rng.integers(1, 8), replace=False))
        subset += ["my_init", "other"]  # unknown names do not move known ones
        got = plots.colors(subset)
        for name in subset[:-2]:
            assert got[name] == everyone[name], name
        assert len(set(got.values())) == len(subset)
    # a derived label takes its base name's colour when the base is absent
    assert plots.colors(["constant(0.1)"])["constant(0.1)"] == everyone["constant"]
    both = plots.colors(["constant", "constant(0.1)"])
    assert both["constant"] == everyone["constant"] != both["constant(0.1)"]
    assert len(set(plots.PALETTE)) == len(plots.PALETTE) >= 40
    assert plots.style.REFERENCE not in plots.PALETTE  # grey is for references


def test_a_legend_at_most_once_per_figure(outcomes):
    fig, axes = plt.subplots(1, 3)
    plots.plot_curves(outcomes, "test_accuracy", ax=axes[0])
    plots.plot_curves(outcomes, "train_loss", ax=axes[1])
    plots.plot_ecdf(outcomes, "test_accuracy", ax=axes[2])
    assert [a.get_legend() is not None for a in axes] == [True, False, False]


def test_figure_style_sizes_and_vector_copies(tmp_path, outcomes):
    for medium, spec in plots.MEDIA.items():
        with plots.figure_style(medium):
            fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
            assert fig.get_size_inches()[0] == pytest.approx(spec["width"])
            assert matplotlib.rcParams["font.size"] == spec["font"]
            fig2, axes = plots.plot_interval_estimates(
                outcomes, "test_accuracy", n_resamples=30
            )
            assert fig2.get_size_inches()[0] == pytest.approx(spec["width"])
    assert matplotlib.rcParams["font.size"] == 10  # restored after the block
    with pytest.raises(ValueError, match="medium"):
        with plots.figure_style("poster"):
            pass
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    path = plots.save_figure(fig, tmp_path / "e.png", also=["svg", "pdf"])
    assert (tmp_path / "e.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "e.pdf").read_bytes()[:4] == b"%PDF"
    assert path.read_bytes()[:4] == b"\x89PNG"
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    with pytest.raises(ValueError, match="format"):
        plots.save_figure(fig, tmp_path / "f.png", also=["docx"])
    fig, _ = plots.plot_ecdf(outcomes, "test_accuracy")
    with pytest.raises(TypeError, match="list of format names"):
        plots.save_figure(fig, tmp_path / "f.png", also="svg")


def test_long_names_fit_and_stay_distinct():
    # Two names that would shorten to the same text stay whole; others shorten.
    a = "variance_scaling(scale=2.0, mode='fan_in', distribution='uniform')"
    b = "variance_scaling(scale=2.0, mode='fan_out', distribution='uniform')"
    c = "truncated_normal(mean=0.0, stddev=0.05, a_rather_long_suffix=True)"
    data = {a: [1.0, 2.0, 3.0], b: [2.0, 3.0, 4.0], c: [3.0, 4.0, 5.0],
            "he": [0.0, 1.0, 2.0]}  # fmt: skip
    _, axes = plots.plot_strips(data, failed=False)
    names = [t.split(" (n=")[0] for t in tick_texts(axes[0, 0])]
    assert len(set(names)) == 4 and a in names and b in names
    short = next(n for n in names if n.startswith("truncated"))
    assert "…" in short and len(short) <= 26
