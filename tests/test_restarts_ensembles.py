"""initlab.restarts: ensembles, diversity, calibration (hand cases and simulations)."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from initlab import restarts
from initlab.restarts import RestartPredictions


def _random_predictions(r=10, m=120, c=4, seed=0, probs=True):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(r, m, c)) + 2.0 * np.eye(c)[rng.integers(0, c, m)]
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, c, m)
    return RestartPredictions(
        labels=labels,
        predicted=p.argmax(-1),
        p_true=np.take_along_axis(p, labels[None, :, None], -1)[..., 0],
        num_classes=c,
        probs=p if probs else None,
    )


# ------------------------------------------------------------------ ensembles


@pytest.mark.parametrize("combine", ["mean", "vote"])
def test_an_ensemble_of_identical_restarts_is_that_restart(combine):
    one = _random_predictions(r=1)
    copies = one.select(np.zeros(8, int))
    curve = restarts.ensemble_curve(copies, combine=combine, rng=0)
    single = restarts.ensemble_metrics(one, [[0]], combine=combine)
    for metric, part in curve.groupby("metric"):
        np.testing.assert_allclose(part.value, single[metric][0], rtol=0, atol=1e-12)
    assert np.isclose(single["accuracy"][0], one.correct.mean())
    assert np.isclose(single["nll"][0], -np.log(one.p_true).mean())


def test_k1_is_the_mean_restart_with_the_t_interval():
    preds = _random_predictions(r=12)
    row = restarts.ensemble_curve(preds, [1], metrics=["accuracy"], rng=0).iloc[0]
    acc = preds.correct.mean(axis=1)
    assert row.value == pytest.approx(acc.mean(), abs=1e-12)
    half = scipy.stats.t.ppf(0.975, 11) * acc.std(ddof=1) / math.sqrt(12)
    assert (row.low, row.high) == pytest.approx((acc.mean() - half, acc.mean() + half))
    whole = restarts.ensemble_curve(preds, [12], rng=0)
    assert whole.low.isna().all()  # one ensemble of R: no interval
    probs = preds.probs.mean(axis=0)
    acc_all = np.mean(probs.argmax(-1) == preds.labels)
    assert whole[whole.metric == "accuracy"].value.iloc[0] == pytest.approx(acc_all)


def test_vote_ties_credit_the_share_of_tied_classes():
    # Example 0: votes 0, 1 -> tie, label 0 among the 2 tied: credit 1/2.
    # Example 1: votes 2, 2 -> 2 wins, label 2: credit 1.
    # Example 2: votes 0, 1 -> tie, label 2 not tied: credit 0.
    preds = RestartPredictions(
        labels=np.array([0, 2, 2]),
        predicted=np.array([[0, 2, 0], [1, 2, 1]]),
        p_true=np.full((2, 3), 0.5),
        num_classes=3,
    )
    acc = restarts.ensemble_metrics(preds, [[0, 1]], combine="vote")["accuracy"]
    assert acc[0] == pytest.approx((0.5 + 1 + 0) / 3)


def test_ensemble_interval_covers_the_true_majority_accuracy():
    # Binary task, M examples with fixed difficulty p_m; each restart is right
    # on m independently with probability p_m. The expected accuracy of a
    # majority vote of k = 3 independent restarts is exactly
    # mean_m P(Binomial(3, p_m) >= 2). Over 200 simulated pools of R = 24
    # restarts the 95 % interval (conservative by Hoeffding's bound) must
    # cover it at least 95 % - 3 sd of a binomial proportion (3 * 0.0154).
    rng = np.random.default_rng(0)
    m, r, k = 200, 24, 3
    p = rng.beta(4, 1.5, m)
    truth = np.mean(scipy.stats.binom.sf(1, k, p))
    hits = 0
    for _ in range(200):
        correct = rng.random((r, m)) < p
        preds = RestartPredictions(
            labels=np.zeros(m, int),
            predicted=(~correct).astype(int),
            p_true=np.where(correct, 0.9, 0.1),
            num_classes=2,
        )
        row = restarts.ensemble_curve(
            preds, [k], metrics=["accuracy"], n_subsets=64, combine="vote", rng=rng
        ).iloc[0]
        hits += row.low <= truth <= row.high
    assert hits / 200 >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 200)


def test_ensemble_errors_say_how_to_get_probabilities():
    compact = _random_predictions(probs=False)
    with pytest.raises(ValueError, match="restarts.predict"):
        restarts.ensemble_curve(compact, combine="mean", rng=0)
    with pytest.raises(ValueError, match="ece"):
        restarts.ensemble_curve(compact, metrics=["ece"], rng=0)
    with pytest.raises(ValueError, match="1..10"):
        restarts.ensemble_curve(compact, [11], rng=0)
    with pytest.raises(ValueError, match="index"):
        restarts.ensemble_metrics(compact, [[0, 10]])
    # compact predictions default to the vote and score accuracy and NLL
    curve = restarts.ensemble_curve(compact, rng=0)
    assert set(curve.metric) == {"accuracy", "nll"}
    assert set(curve["combine"]) == {"vote"}


def test_predictions_validate_their_shapes():
    with pytest.raises(ValueError, match="p_true"):
        RestartPredictions(np.zeros(3, int), np.zeros((2, 3), int), np.zeros((2, 4)), 2)
    with pytest.raises(ValueError, match="classes"):
        RestartPredictions(np.zeros(3, int), np.full((2, 3), 5), np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="probabilities"):
        RestartPredictions(
            np.zeros(3, int), np.zeros((2, 3), int), np.full((2, 3), np.nan), 2
        )


# ---------------------------------------------------------------- calibration


def test_ece_hand_cases():
    # confidence 0.9 in one bin, right half the time: |0.5 - 0.9| = 0.4
    assert restarts.expected_calibration_error(
        [[0.9, 0.1], [0.9, 0.1]], [0, 1]
    ) == pytest.approx(0.4)
    # always sure and always wrong: ECE 1
    assert restarts.expected_calibration_error(
        [[1.0, 0.0]] * 5, [1] * 5
    ) == pytest.approx(1.0)
    # two bins, each exactly calibrated: 0
    probs = [[0.75, 0.25]] * 4 + [[0.25, 0.75]] * 4
    labels = [0, 0, 0, 1, 1, 1, 1, 0]
    assert restarts.expected_calibration_error(probs, labels, n_bins=4) == 0.0


def test_ece_of_a_calibrated_model_is_its_sampling_noise():
    # Labels drawn from the model's own probabilities: per bin, the accuracy
    # is a binomial mean around the confidence, so E|acc - conf| is about
    # sqrt(2 / pi) * sqrt(conf (1 - conf) / n_b) weighted by n_b / M: with
    # 20000 examples well below 0.02. A stack is scored row by row.
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0.05, 0.95, 20000)
    probs = np.stack([1 - p1, p1], -1)
    labels = (rng.random(20000) < p1).astype(int)
    ece = restarts.expected_calibration_error(probs, labels)
    assert ece < 0.02
    stack = restarts.expected_calibration_error(np.stack([probs, probs]), labels)
    np.testing.assert_allclose(stack, [ece, ece])


def test_reliability_table_pools_examples():
    probs = np.array([[[0.9, 0.1], [0.6, 0.4]], [[0.2, 0.8], [0.55, 0.45]]])
    rel = restarts.reliability(probs, [0, 1], n_bins=5)
    assert rel["count"].sum() == 4 and rel["share"].sum() == pytest.approx(1.0)
    top = rel[rel["count"] > 0]
    assert set(top.bin) == {2, 3, 4}
    assert rel.loc[2, "accuracy"] == 0.0  # confidences 0.6, 0.55: both wrong


# ------------------------------------------------------------------ diversity


def test_disagreement_and_churn_against_brute_force():
    preds = _random_predictions(r=7)
    d = restarts.pairwise_disagreement(preds.predicted)
    ch = restarts.pairwise_churn(preds.correct)
    for i, j in itertools.product(range(7), repeat=2):
        assert d[i, j] == pytest.approx(
            np.mean(preds.predicted[i] != preds.predicted[j])
        )
        assert ch[i, j] == pytest.approx(np.mean(preds.correct[i] != preds.correct[j]))
    assert np.all(np.diag(d) == 0) and np.all(np.diag(ch) == 0)


def test_error_consistency_of_same_and_independent_errors():
    rng = np.random.default_rng(0)
    same = np.tile(rng.random(500) < 0.7, (3, 1))
    np.testing.assert_allclose(restarts.error_consistency(same), 1.0)
    # Independent restarts: kappa ~ N(0, 1/M) roughly; M = 20000 -> sd 0.007;
    # the mean over 45 pairs is well within 0.02.
    independent = rng.random((10, 20000)) < 0.7
    mean, low, high = restarts.pair_mean(restarts.error_consistency(independent))
    assert abs(mean) < 0.02 and low <= 0 <= high


def test_pair_mean_interval_covers_the_population_disagreement():
    # Restarts predict class 1 on example m with probability q_m,
    # independently: two restarts disagree with probability 2 q (1 - q), so
    # the population mean disagreement is mean_m 2 q_m (1 - q_m). Coverage of
    # the 95 % U-statistic interval over 300 pools of 20 restarts must be at
    # least 95 % - 3 sd (3 * 0.0126) (the plug-in zeta_1 is conservative).
    rng = np.random.default_rng(1)
    q = rng.uniform(0, 1, 100)
    truth = np.mean(2 * q * (1 - q))
    hits = 0
    for _ in range(300):
        predicted = (rng.random((20, 100)) < q).astype(int)
        _, low, high = restarts.pair_mean(restarts.pairwise_disagreement(predicted))
        hits += low <= truth <= high
    assert hits / 300 >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 300)


def test_pair_mean_of_a_constant_matrix_is_exact():
    mean, low, high = restarts.pair_mean(np.full((5, 5), 0.25))
    assert (mean, low, high) == (0.25, 0.25, 0.25)
    with pytest.raises(ValueError, match="R >= 3"):
        restarts.pair_mean(np.zeros((2, 2)))


def test_agreement_of_identical_and_of_independent_restarts():
    rng = np.random.default_rng(0)
    row = rng.random(2000) < 0.8
    table, summary = restarts.agreement(np.tile(row, (6, 1)), rng=0, n_resamples=100)
    assert summary["rho"] == pytest.approx(1.0)
    assert summary["always_right"] + summary["never_right"] == pytest.approx(1.0)
    assert table.observed.sum() == 2000
    assert table.binomial.sum() == pytest.approx(2000)
    # Every example equally hard, restarts independent: counts ~ Binomial,
    # rho ~ 0 with sd about sqrt(2 / M) / (R - 1) = 0.0035 (M = 2000, R = 10):
    # allow 5 sd.
    independent = rng.random((10, 2000)) < 0.8
    _, summary = restarts.agreement(independent, rng=0, n_resamples=200)
    assert abs(summary["rho"]) < 5 * math.sqrt(2 / 1999) / 9
    assert summary["rho_low"] <= summary["rho"] <= summary["rho_high"]
    with pytest.raises(ValueError, match="2 restarts"):
        restarts.agreement(independent[:1], rng=0)
    with pytest.raises(TypeError, match="bool"):
        restarts.agreement(independent.astype(int), rng=0)
