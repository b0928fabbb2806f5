"""The restart studies (registry, one CLI smoke run) and their figures."""

import contextlib
import dataclasses
import io

import jax
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import initlab  # noqa: E402
from initlab import cli, experiments, plots, restarts, stats  # noqa: E402
from initlab.experiments.how_many import power_table, width_table  # noqa: E402

NEW = ("ensembles", "landscape", "predict", "perturb")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _preds(r=6, m=200, c=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, m)
    logits = rng.normal(size=(r, m, c)) + 1.5 * np.eye(c)[labels]
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return restarts.RestartPredictions(
        labels,
        p.argmax(-1),
        np.take_along_axis(p, labels[None, :, None], -1)[..., 0],
        c,
        p,
    )


# ------------------------------------------------------------------- studies


def test_the_restart_studies_are_registered_and_keep_what_they_need():
    for name in NEW:
        assert experiments.STUDIES[name].name == name
        experiments.check_options(name, small=True, num_restarts=8)
    config = experiments.STUDIES["ensembles"].run_config(small=True)
    assert config.keep_params and config.keep_predictions
    with pytest.raises(ValueError, match="sets keep_params itself"):
        experiments.check_options("ensembles", keep_params=False)
    with pytest.raises(ValueError, match="takes no option"):
        experiments.check_options("landscape", ks=[1, 2])


# The tiny ensembles run every test below reads: 2 initializers x 4 restarts
# of the small digits MLP, 10 steps, params and predictions kept and saved.
SIZES = dict(num_restarts=4, steps=10, devices=1)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies") / "ens"
    argv = ["run", "ensembles", "--small", "--restarts", "4", "--steps", "10",
            "--devices", "1", "--quiet", "--out", str(out)]  # fmt: skip
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(argv)
    # The same config again resumes from the saved chunks (no training) and
    # brings back the params the study kept.
    config = experiments.STUDIES["ensembles"].run_config(small=True, **SIZES)
    return (
        code,
        printed.getvalue(),
        out,
        initlab.train(config, out_dir=out, progress=False),
    )


def test_ensembles_from_the_command_line(cli_run):
    code, text, out, run = cli_run
    assert code == 0
    assert "to resolve 0.1 pp between glorot_uniform and he_normal" in text
    saved = initlab.Outcomes.load(out)
    np.testing.assert_array_equal(saved.final["test_loss"], run.final["test_loss"])
    table = pd.read_csv(out / "ensembles.csv")
    for row in table.itertuples():
        # an "ensemble" of one restart is the mean restart of the run
        acc = run.values("test_accuracy", row.initializer)
        assert row.n == 4 and row.single == pytest.approx(acc.mean(), abs=1e-6)
        assert 0 <= row.disagreement_low <= row.disagreement <= 1
    curves = pd.read_csv(out / "ensemble_curves.csv")
    assert set(curves.k) == {1, 2, 4} and set(curves.metric) >= {"accuracy", "ece"}
    needed = pd.read_csv(out / "restarts_needed.csv")
    assert (needed.restarts >= 2).all()
    for name in ("ensemble_curves", "agreement", "reliability", "interval_widths"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
    assert "How many restarts" in (out / "report.md").read_text()


def test_train_core_starts_where_the_run_started(cli_run):
    # The core of the study's config draws every restart's start exactly as
    # initlab.train drew it (bit for bit); the engine's own tests prove that
    # its driver and core then train alike.
    run = cli_run[3]
    config = experiments.STUDIES["ensembles"].run_config(small=True, **SIZES)
    core = restarts.train_core(config, "he_normal")
    assert (core.steps, core.data_order) == (10, "shuffle")
    rows = np.flatnonzero(run.initializer == "he_normal")
    keys = initlab.stream_keys(0, run.init_seed[rows], run.data_seed[rows])
    state = jax.jit(jax.vmap(core.init))(*keys)
    for a, b in zip(
        jax.tree.leaves(state.params), jax.tree.leaves(run.initial_params), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[rows])
    with pytest.raises(ValueError, match="unknown initializer"):
        restarts.train_core(config, "zeros")
    grid = dataclasses.replace(config, learning_rate=(0.1, 0.3))
    with pytest.raises(ValueError, match="hyper-parameter axes"):
        restarts.train_core(grid)


def test_predict_agrees_with_the_predictions_the_run_kept(cli_run):
    run = cli_run[3]
    config = experiments.STUDIES["ensembles"].run_config(small=True, **SIZES)
    task = initlab.get_task("digits")
    rows = np.flatnonzero(run.initializer == "glorot_uniform")
    params = jax.tree.map(lambda a: np.asarray(a)[rows], run.final_params)
    model = restarts.train_core(config).model
    preds = restarts.predict(model, params, task.x_test, task.y_test, block=3)
    kept = restarts.from_outcomes(run, "glorot_uniform")
    assert preds.probs.shape == (4, task.y_test.size, 10)
    np.testing.assert_allclose(preds.probs.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(preds.predicted, kept.predicted)
    np.testing.assert_allclose(preds.p_true, kept.p_true, atol=1e-6)
    # the run's own accuracy is the share of examples each restart gets right
    np.testing.assert_allclose(
        kept.correct.mean(axis=1), run.final["test_accuracy"][rows], atol=1e-6
    )
    everything = restarts.from_outcomes(run)
    assert everything.num_restarts == 8 and everything.probs is None
    with pytest.raises(KeyError, match="unknown initializer"):
        restarts.from_outcomes(run, "zeros")
    with pytest.raises(ValueError, match="labels"):
        restarts.predict(model, params, task.x_test, [0, 1])
    with pytest.raises(ValueError, match="keep_predictions=True"):
        restarts.from_outcomes(dataclasses.replace(run, per_example={}))


def test_power_table_matches_restarts_needed():
    rng = np.random.default_rng(0)
    values = {"a": rng.normal(0.9, 0.01, 40), "b": rng.normal(0.9, 0.02, 40)}
    table = power_table(values, (0.005,), 0.8)
    row = table[(table.kind == "needed") & (table.statistic == "mean")].iloc[0]
    assert row.restarts == stats.restarts_needed(
        values["a"], values["b"], difference=0.005, power=0.8
    )
    widths = width_table(values, (16, 64))
    w = widths[(widths.initializer == "a") & (widths.statistic == "mean")].width
    assert w.iloc[0] / w.iloc[1] == pytest.approx(2.0)  # 1 / sqrt(n)


# ------------------------------------------------------------------- figures


def test_ensemble_curves_draw_the_table():
    preds = _preds()
    curve = restarts.ensemble_curve(preds, [1, 2, 3], rng=0)
    table = pd.concat([curve.assign(initializer="he"), curve.assign(initializer="g")])
    fig, axes = plots.plot_ensemble_curves(table, metrics=["accuracy", "nll"])
    assert axes.shape == (1, 2)
    lines = axes[0, 0].get_lines()
    assert len(lines) == 2
    acc = curve[curve.metric == "accuracy"].sort_values("k")
    np.testing.assert_allclose(lines[0].get_ydata(), acc.value)
    assert axes[0, 0].get_xscale() == "log"
    with pytest.raises(ValueError, match="no column"):
        plots.plot_ensemble_curves(curve)  # no initializer column


def test_agreement_and_reliability_figures_draw_their_tables():
    preds = _preds()
    tab, summ = restarts.agreement(preds.correct, rng=0, n_resamples=50)
    fig, ax = plots.plot_agreement(tab, summ, title="he")
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_array_equal(heights, tab.observed)
    assert ax.get_title().startswith("he: rho ")
    rel = restarts.reliability(preds.probs, preds.labels, n_bins=5)
    fig, ax = plots.plot_reliability({"one": rel})
    line = ax.get_lines()[1]  # after the diagonal
    keep = rel["count"] > 0
    np.testing.assert_allclose(line.get_ydata(), rel.accuracy[keep])


def test_interval_width_figure_has_a_line_per_label_and_statistic():
    rng = np.random.default_rng(1)
    widths = width_table({"a": rng.normal(size=30), "b": rng.normal(size=30)}, (8, 64))
    fig, ax = plots.plot_interval_widths(widths, difference=0.1)
    assert len(ax.get_lines()) == 2 * 2 + 1  # labels x statistics + the target
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_landscape_figures_draw_their_tables():
    alphas = np.linspace(0, 1, 5)
    raw = np.array([[1, 2, 3, 2, 1], [1, 3, 5, 3, 1.0]])
    fig, ax = plots.plot_interpolation(alphas, {"raw": raw, "aligned": raw * 0 + 1})
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.median(raw, 0))
    summary = restarts.barrier_summary(
        {"raw": restarts.barrier(raw, higher_is_better=False), "aligned": [0.0, 0.1]},
        rng=0,
        n_resamples=50,
    )
    fig, ax = plots.plot_estimates(summary, xlabel="barrier")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "raw"  # the largest on top
    table = pd.DataFrame(
        dict(
            arm=["redraw", "bit 0", "eps=0.01"],
            delta=[np.nan, 1e-8, 1e-2],
            std=[0.02, 0.0, 0.001],
            std_low=[0.01, 0.0, 0.0],
            std_high=[0.03, 0.0, 0.002],
            disagreement=[0.2, 0.0, 0.01],
            disagreement_low=[0.18, 0.0, 0.0],
            disagreement_high=[0.22, 0.0, 0.02],
        )
    )
    fig, axes = plots.plot_perturbation(table)
    assert axes.shape == (1, 2)
    with pytest.raises(ValueError, match="no column"):
        plots.plot_perturbation(table.drop(columns="std_low"))
