"""Tests of initlab.stats.failures and improvement_matrix (hand-made runs)."""

import numpy as np
import pytest

from initlab import stats
from initlab.outcomes import Outcomes

N_TEST = 200  # test examples; 10 classes of 20 each


def labels_of_examples():
    return np.repeat(np.arange(10), N_TEST // 10)


def make_run(groups, metadata=None):
    """Outcomes from {label: (final accuracy (R,), correct (R, M), start (R,),
    diverged (R,))}; curves have steps 0 and 10 (start, final)."""
    inits, finals, correct, starts, div = [], [], [], [], []
    for label, (acc, corr, start, d) in groups.items():
        inits += [label] * len(acc)
        finals.append(acc)
        correct.append(corr)
        starts.append(start)
        div.append(d)
    acc = np.concatenate(finals)
    r = acc.size
    start = np.concatenate(starts)
    div = np.concatenate(div)
    curve = np.stack([start, acc], axis=1)
    return Outcomes(
        initializer=np.array(inits),
        restart=np.arange(r),
        init_seed=np.arange(r),
        data_seed=np.arange(r),
        steps=np.array([0, 10]),
        curves={
            "test_accuracy": curve,
            "train_loss": np.where(div[:, None], np.nan, 1.0 - curve),
        },  # fmt: skip
        final={"test_accuracy": np.where(div, np.nan, acc)},
        diverged=div,
        diverged_step=np.where(div, 10, -1),
        steps_to_target=np.full(r, -1),
        metadata=metadata or {},
        per_example={"test_correct": np.concatenate(correct)},
    )


def one_class_restarts(classes, rng):
    """Restarts that each predict one class (given) for every test example."""
    y = labels_of_examples()
    corr = np.stack([y == c for c in classes])
    return corr.mean(1), corr


def noisy_restarts(n, skill, rng):
    corr = rng.uniform(size=(n, N_TEST)) < skill
    return corr.mean(1), corr


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(0)
    n = 8
    groups = {}
    acc, corr = noisy_restarts(n, 0.9, rng)
    groups["good"] = (acc, corr, rng.uniform(0.05, 0.2, n), np.zeros(n, bool))
    # A constant start: every restart starts from the same network (identical
    # step-0 accuracy for different init seeds) and ends predicting one class.
    acc, corr = one_class_restarts([3, 3, 5, 3, 7, 3, 3, 5], rng)
    groups["const"] = (acc, corr, np.full(n, 0.1), np.zeros(n, bool))
    # Random starts that all end predicting one class (e.g. every unit died).
    acc, corr = one_class_restarts([1, 2, 2, 4, 1, 6, 2, 8], rng)
    groups["dead"] = (acc, corr, rng.uniform(0.05, 0.2, n), np.zeros(n, bool))
    # Input-dependent but no better than chance: only the chance level finds it.
    acc, corr = noisy_restarts(n, 0.1, rng)
    groups["guess"] = (acc, corr, rng.uniform(0.05, 0.2, n), np.zeros(n, bool))
    acc, corr = noisy_restarts(n, 0.9, rng)
    d = np.zeros(n, bool)
    d[:5] = True  # 5 of 8 diverged: more than half
    groups["blowup"] = (acc, corr, rng.uniform(0.05, 0.2, n), d)
    acc, corr = noisy_restarts(n, 0.9, rng)
    d = np.zeros(n, bool)
    d[:3] = True  # 3 of 8 diverged: still working
    groups["some_div"] = (acc, corr, rng.uniform(0.05, 0.2, n), d)
    return make_run(groups)


def test_failures_names_each_reason(run):
    found = stats.failures(run, "test_accuracy", rng=0, chance=0.1)
    assert list(found) == ["const", "dead", "guess", "blowup"]  # label order
    assert found["const"].kind == "symmetry"
    assert found["const"].short == "symmetry never broken"
    assert "same network" in found["const"].reason
    assert found["dead"].kind == "one_class"
    assert found["guess"].kind == "chance"
    assert found["blowup"].kind == "diverged"
    assert found["blowup"].reason == "5 of 8 restarts diverged"
    assert (found["blowup"].n, found["blowup"].diverged) == (3, 5)
    assert all(f.chance == 0.1 for f in found.values())


def test_failures_without_a_chance_level_still_find_one_class_models(run):
    # No chance level: "guess" (input-dependent) cannot be told from a weak
    # model, but one-class predictors are recognised from their correct sets.
    found = stats.failures(run, "test_accuracy", rng=0)
    assert list(found) == ["const", "dead", "blowup"]
    assert "ended at chance" in found["const"].reason


def test_failures_reads_the_chance_level_from_the_metadata(run):
    import dataclasses

    meta = dataclasses.replace(run, metadata={"num_classes": 10})
    assert stats.chance_level(meta, "test_accuracy") == pytest.approx(0.1)
    assert stats.chance_level(meta, "test_loss") is None
    assert "guess" in stats.failures(meta, "test_accuracy", rng=0)
    other = dataclasses.replace(run, metadata={"chance": {"test_accuracy": 0.5}})
    assert stats.chance_level(other, "test_accuracy") == 0.5
    assert stats.chance_level(other, "test_accuracy", chance=0.2) == 0.2


def test_all_diverged_and_identical_values():
    n = 6
    rng = np.random.default_rng(1)
    acc, corr = noisy_restarts(n, 0.9, rng)
    same = np.full(n, 0.1)
    groups = {
        "ok": (acc, corr, rng.uniform(size=n), np.zeros(n, bool)),
        "gone": (acc, corr, rng.uniform(size=n), np.ones(n, bool)),
        # random starts, but every restart ended identically (value and the
        # examples it got right)
        "flat": (
            same,
            np.tile(rng.uniform(size=N_TEST) < 0.1, (n, 1)),
            rng.uniform(size=n),
            np.zeros(n, bool),
        ),  # fmt: skip
    }
    found = stats.failures(make_run(groups), "test_accuracy", rng=0, chance=0.1)
    assert found["gone"].reason == "all 6 restarts diverged"
    assert found["flat"].kind == "symmetry"
    assert "ended identically" in found["flat"].reason
    assert "ok" not in found


def test_a_perfect_model_is_not_a_one_class_model():
    n = 4
    corr = np.ones((n, N_TEST), bool)
    groups = {"perfect": (np.ones(n), corr, np.random.default_rng(2).uniform(size=n),
                          np.zeros(n, bool))}  # fmt: skip
    assert stats.failures(make_run(groups), "test_accuracy", rng=0) == {}


def test_at_chance_band():
    # accuracy: delta = 0.05 * (1 - 0.1) = 0.045 above chance
    assert stats.at_chance(0.1, 0.145, 0.1, metric="test_accuracy")
    assert not stats.at_chance(0.1, 0.146, 0.1, metric="test_accuracy")
    # a loss at chance ln(10): delta = 0.05 * ln(10) = 0.1151 below it
    ln10 = float(np.log(10))
    assert stats.at_chance(2.19, 2.4, ln10, metric="test_loss",
                           higher_is_better=False)  # fmt: skip
    assert not stats.at_chance(2.18, 2.4, ln10, metric="test_loss",
                               higher_is_better=False)  # fmt: skip
    with pytest.raises(ValueError, match="tolerance"):
        stats.at_chance(0.1, 0.1, 0.1, tolerance=0)


def test_failures_refuses_bad_input(run):
    with pytest.raises(KeyError, match="unknown metric"):
        stats.failures(run, "nope", rng=0)
    table = stats.summary_table(run, "test_accuracy", rng=0, n_resamples=50)
    with pytest.raises(ValueError, match="iqm_low"):
        stats.failures(run, "test_accuracy", rng=0, table=table.drop(columns="iqm_low"))


def test_summary_table_has_the_median_interval_of_summarize(run):
    table = stats.summary_table(run, "test_accuracy", rng=3, n_resamples=200)
    children = stats.as_rng(3).spawn(len(run.labels))
    row = table.iloc[0]
    full = stats.summarize(run.values("test_accuracy", "good"), rng=children[0],
                           n_resamples=200)  # fmt: skip
    assert (row["median_low"], row["median_high"]) == (
        full["median_low"],
        full["median_high"],
    )
    assert row["median_low"] <= row["median"] <= row["median_high"]


def test_improvement_matrix_hand_case():
    m = stats.improvement_matrix({"a": [3, 4, 5], "b": [1, 2, 3], "c": [0, 0, 1]},
                                 rng=0, n_resamples=300)  # fmt: skip
    assert m["labels"] == ["a", "b", "c"]
    # P(a > b) + P(a = b) / 2 over the 9 pairs: 8 wins, one tie (3 vs 3)
    assert m["p"][0, 1] == pytest.approx(8.5 / 9)
    assert m["p"][1, 0] == pytest.approx(0.5 / 9)
    np.testing.assert_allclose(m["p"] + m["p"].T, 1.0)
    np.testing.assert_array_equal(np.diag(m["p"]), 0.5)
    assert np.all(np.isnan(np.diag(m["low"])))
    # Mirrored intervals; each pair i < j is resampled from child i of rng.
    np.testing.assert_allclose(m["low"][1, 0], 1 - m["high"][0, 1])
    children = stats.as_rng(0).spawn(3)  # pairs (a,b), (a,c), (b,c)
    want = stats.probability_of_improvement([1, 2, 3], [0, 0, 1], rng=children[2],
                                            n_resamples=300)  # fmt: skip
    assert (m["p"][1, 2], m["low"][1, 2], m["high"][1, 2]) == pytest.approx(want)
    lower = stats.improvement_matrix({"a": [3, 4, 5], "b": [1, 2, 3]}, rng=0,
                                     higher_is_better=False)  # fmt: skip
    assert lower["p"][0, 1] == pytest.approx(0.5 / 9)


def test_improvement_matrix_of_outcomes_and_refusals(run):
    m = stats.improvement_matrix(run, "test_accuracy", rng=0, n_resamples=100,
                                 labels=["good", "guess"])  # fmt: skip
    want = stats.probability_of_improvement(
        run.values("test_accuracy", "good"), run.values("test_accuracy", "guess"),
        rng=stats.as_rng(0).spawn(1)[0], n_resamples=100,
    )  # fmt: skip
    assert (m["p"][0, 1], m["low"][0, 1], m["high"][0, 1]) == pytest.approx(want)
    with pytest.raises(KeyError, match="unknown label"):
        stats.improvement_matrix(run, "test_accuracy", rng=0, labels=["good", "x"])
    with pytest.raises(ValueError, match="at least 2 labels"):
        stats.improvement_matrix(run, "test_accuracy", rng=0, labels=["good"])
    with pytest.raises(KeyError, match="unknown metric"):
        stats.improvement_matrix(run, "nope", rng=0)
    with pytest.raises(TypeError, match="mapping"):
        stats.improvement_matrix([1, 2], rng=0)
