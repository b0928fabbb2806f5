"""Tests of initlab.plots: every figure renders (Agg) with the expected artists."""

import subprocess
import sys

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
    }
    # Every public plot_* function is covered here.
    assert sorted(calls) == sorted(n for n in plots.__all__ if n.startswith("plot_"))
    for name, call in calls.items():
        fig0, given = plt.subplots(1, 2)
        fig, ax = call(given[1])
        assert fig is fig0 and ax is given[1], name
        assert not given[0].has_data(), name  # nothing drawn on the other axes
        fig, ax = call(None)
        assert fig is not fig0 and ax in fig.axes and ax.has_data(), name


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
