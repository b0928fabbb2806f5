"""Tests of initlab.stats over a whole run: seed grids, variance split, best vs rest.

Each function is checked against the array-level statistic it is built on
(variance_components, probability_of_improvement, binomial_check) applied by
hand to the restarts it should select, with the child generator it should use.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from initlab import stats
from initlab.outcomes import Outcomes

INIT_SEEDS = np.array([7, 3, 11])  # not sorted, not contiguous
DATA_SEEDS = np.array([5, 2])


def grid_run(labels=("a", "b"), n_rep=1, diverged=(), shuffle=True, extra=None):
    """Every label x (3 init seeds x 2 data seeds x n_rep), value = 10 i + d + rep/2.

    With ``shuffle`` the restarts come in a random order, so a correct grid
    must be built from the seeds, not from the row order. ``extra`` adds a
    label that ran 4 restarts of one data seed (no grid).
    """
    rows = [
        (lab, i, d, r)
        for lab in labels
        for i in INIT_SEEDS
        for d in DATA_SEEDS
        for r in range(n_rep)
    ]
    if extra:
        rows += [(extra, i, 0, 0) for i in range(4)]
    order = np.random.default_rng(0).permutation(len(rows)) if shuffle else None
    if order is not None:
        rows = [rows[k] for k in order]
    lab, init, data, rep = (np.array(c) for c in zip(*rows, strict=True))
    offset = np.array([labels.index(x) if x in labels else 0 for x in lab])
    acc = 10.0 * init + data + rep / 2 + 100 * offset  # exact in float64
    div = np.isin(np.arange(len(rows)), list(diverged))
    n = len(rows)
    correct = np.random.default_rng(1).uniform(size=(n, 30)) < 0.7
    return Outcomes(
        initializer=lab,
        restart=np.arange(n),
        init_seed=init,
        data_seed=data,
        steps=np.array([0, 10]),
        curves={"test_accuracy": np.repeat(acc[:, None], 2, 1)},
        final={"test_accuracy": np.where(div, np.nan, acc), "test_loss": -acc},
        diverged=div,
        diverged_step=np.where(div, 10, -1),
        steps_to_target=np.full(n, -1),
        per_example={"test_correct": correct},
    )


# ------------------------------------------------------------------ seed grid


def test_seed_grid_is_indexed_by_sorted_seeds():
    out = grid_run()
    grid = stats.seed_grid(out, "b", "test_accuracy")
    init, data = np.sort(INIT_SEEDS), np.sort(DATA_SEEDS)
    want = 10.0 * init[:, None] + data[None, :] + 100
    np.testing.assert_array_equal(grid, want)
    assert grid.shape == (3, 2)


def test_seed_grid_with_replicates_keeps_their_order():
    out = grid_run(n_rep=2, shuffle=False)
    grid = stats.seed_grid(out, "a", "test_accuracy")
    assert grid.shape == (3, 2, 2)
    np.testing.assert_array_equal(grid[..., 1] - grid[..., 0], 0.5)
    mixed = stats.seed_grid(grid_run(n_rep=2), "a", "test_accuracy")
    np.testing.assert_array_equal(np.sort(mixed, -1), grid)  # same cells


def test_seed_grid_refuses():
    out = grid_run(diverged=(0,), extra="c")
    diverged_label = str(out.initializer[0])
    with pytest.raises(ValueError, match="1 diverged cell"):
        stats.seed_grid(out, diverged_label, "test_accuracy")
    with pytest.raises(ValueError, match="design='grid'"):
        stats.seed_grid(out, "c", "test_accuracy")
    with pytest.raises(KeyError, match="unknown initializer"):
        stats.seed_grid(out, "nope", "test_accuracy")
    with pytest.raises(KeyError, match="unknown metric"):
        stats.seed_grid(out, "a", "nope")


# ------------------------------------------------------------- variance split


def test_variance_split_is_variance_components_per_label_stream():
    out = grid_run(labels=("a", "b"), extra="c")
    split = stats.variance_split(out, "test_accuracy", rng=4, n_resamples=200)
    assert sorted(split) == ["a", "b"]  # "c" has no grid: left out
    children = np.random.default_rng(4).spawn(len(out.labels))
    for label in ("a", "b"):
        child = children[out.labels.index(label)]
        want = stats.variance_components(
            stats.seed_grid(out, label, "test_accuracy"), rng=child, n_resamples=200
        )
        got = split[label]
        for key in ("variance", "variance_low", "share", "share_low", "share_high"):
            np.testing.assert_array_equal(got[key], want[key])
    # value = 10 x init seed + data seed: the init seed's share dominates.
    assert split["a"]["share"][0] > 0.9


def test_variance_split_names_why_a_grid_was_not_split():
    out = grid_run(diverged=(0, 1), shuffle=False)  # rows 0 and 1 are "a"
    split = stats.variance_split(out, "test_accuracy", rng=0, n_resamples=50)
    assert split["a"].startswith("seed grid not decomposed, 2 diverged cell")
    assert isinstance(split["b"], dict)
    again = stats.variance_split(out, "test_accuracy", rng=0, n_resamples=50)
    np.testing.assert_array_equal(
        split["b"]["variance_high"], again["b"]["variance_high"]
    )
    with pytest.raises(KeyError, match="unknown metric"):
        stats.variance_split(out, "nope")
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        stats.variance_split(out, "test_accuracy", confidence=2)
    with pytest.raises(ValueError, match=">= 1"):
        stats.variance_split(out, "test_accuracy", n_resamples=0)


# ---------------------------------------------------------- compare with best


def runs_of(values):
    """One Outcomes with the given label -> final accuracies (some NaN = diverged)."""
    labels = np.concatenate([[k] * len(v) for k, v in values.items()])
    acc = np.concatenate([np.asarray(v, float) for v in values.values()])
    div = ~np.isfinite(acc)
    n = acc.size
    return Outcomes(
        initializer=labels,
        restart=np.arange(n),
        init_seed=np.arange(n),
        data_seed=np.zeros(n, int),
        steps=np.array([0]),
        curves={"test_accuracy": acc[:, None]},
        final={"test_accuracy": acc, "test_loss": 1 - acc},
        diverged=div,
        diverged_step=np.where(div, 0, -1),
        steps_to_target=np.full(n, -1),
    )


RUN = {
    "low": [0.1, 0.2, 0.3, 0.25],
    "high": [0.8, 0.9, 0.85, 0.95],
    "mid": [0.5, 0.4, 0.6, 0.55],
    "alone": [0.99, np.nan, np.nan],  # one kept restart: takes no part
}


def test_compare_with_best_picks_the_best_iqm_and_uses_child_streams():
    out = runs_of(RUN)
    best, p = stats.compare_with_best(out, "test_accuracy", rng=2, n_resamples=300)
    assert best == "high" and list(p) == ["low", "mid"]  # run order, "alone" out
    children = np.random.default_rng(2).spawn(2)
    for label, child in zip(["low", "mid"], children, strict=True):
        want = stats.probability_of_improvement(
            out.values("test_accuracy", "high"),
            out.values("test_accuracy", label),
            rng=child,
            n_resamples=300,
        )
        assert p[label] == want
    assert p["low"][0] == 1.0  # every "high" restart beats every "low" one


def test_compare_with_best_lower_is_better_and_given_table():
    out = runs_of(RUN)
    best, p = stats.compare_with_best(out, "test_loss", rng=0, n_resamples=100)
    assert best == "high" and p["low"][0] == 1.0  # the lowest loss is "high"
    table = stats.summary_table(out, "test_loss", rng=1, n_resamples=100)
    assert stats.compare_with_best(
        out, "test_loss", rng=0, table=table, n_resamples=100
    ) == (best, p)


def test_compare_with_best_needs_two_initializers():
    out = runs_of({"a": [0.1, 0.2], "b": [0.3, np.nan]})
    assert stats.compare_with_best(out, "test_accuracy", rng=0) == (None, {})
    with pytest.raises(KeyError, match="unknown metric"):
        stats.compare_with_best(out, "nope", rng=0)
    with pytest.raises(ValueError, match="lacks column"):
        stats.compare_with_best(
            out, "test_accuracy", rng=0, table=pd.DataFrame({"initializer": ["a"]})
        )


# ------------------------------------------------------------ binomial checks


def test_binomial_checks_per_label_leave_out_diverged():
    out = grid_run(diverged=(0, 3))
    checks = stats.binomial_checks(out)
    assert list(checks) == out.labels
    correct = out.per_example["test_correct"]
    for label in out.labels:
        keep = (out.initializer == label) & ~out.diverged
        assert checks[label] == stats.binomial_check(correct[keep])
    assert sum(c["n_restarts"] for c in checks.values()) == len(out) - 2


def test_binomial_checks_messages_and_missing_results():
    out = runs_of({"a": [0.1, 0.2, 0.3], "b": [0.5, np.nan]})
    out = dataclasses.replace(
        out, per_example={"test_correct": np.eye(5, 4, dtype=bool)}
    )
    checks = stats.binomial_checks(out)
    assert isinstance(checks["a"], dict)
    assert checks["b"].startswith("no binomial check (") and ">= 2" in checks["b"]
    out = dataclasses.replace(out, per_example={})
    with pytest.raises(KeyError, match="no 'test_correct'"):
        stats.binomial_checks(out)
