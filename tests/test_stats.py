"""Tests of initlab.stats: hand-computed cases, scipy agreement, brute force."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from initlab import stats
from initlab.outcomes import Outcomes

X40 = np.random.default_rng(0).normal(size=40)


def _mean_median_iqm(a, axis=-1):
    return np.stack(
        [
            np.mean(a, axis=axis),
            np.median(a, axis=axis),
            scipy.stats.trim_mean(a, 0.25, axis=axis),
        ]
    )


# ------------------------------------------------------------ point estimates


def test_iqm_hand_cases():
    assert stats.iqm([1, 2, 3, 4, 5, 6, 7, 8]) == 4.5  # mean of 3, 4, 5, 6
    assert stats.iqm([1, 2, 3, 4, 100]) == 3.0  # floor(5/4) = 1 cut each end
    assert stats.iqm([7.0]) == 7.0


def test_summarize_hand_values():
    s = stats.summarize(np.arange(10.0), rng=0)
    assert s["n"] == 10
    assert s["mean"] == 4.5 and s["median"] == 4.5 and s["iqm"] == 4.5
    assert s["std"] == pytest.approx(math.sqrt(82.5 / 9))  # sum of squares 82.5
    assert s["sem"] == pytest.approx(s["std"] / math.sqrt(10))
    assert (s["min"], s["max"]) == (0.0, 9.0)
    assert s["q05"] == pytest.approx(0.45) and s["q25"] == pytest.approx(2.25)
    assert s["q75"] == pytest.approx(6.75) and s["q95"] == pytest.approx(8.55)
    for name in ("mean", "median", "iqm"):
        assert s[f"{name}_low"] < s[name] < s[f"{name}_high"]


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_summarize_intervals_are_scipy_bootstrap(method):
    s = stats.summarize(X40, rng=7, n_resamples=500, method=method)
    ref = scipy.stats.bootstrap(
        (X40,),
        _mean_median_iqm,
        n_resamples=500,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(7),
    ).confidence_interval
    got_low = [s["mean_low"], s["median_low"], s["iqm_low"]]
    got_high = [s["mean_high"], s["median_high"], s["iqm_high"]]
    np.testing.assert_allclose(got_low, ref.low, rtol=1e-12)
    np.testing.assert_allclose(got_high, ref.high, rtol=1e-12)


# ------------------------------------------------------------------ bootstrap


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_ci_agrees_with_scipy(method):
    low, high = stats.bootstrap_ci(
        X40, np.median, rng=3, n_resamples=999, method=method
    )
    ref = scipy.stats.bootstrap(
        (X40,),
        np.median,
        n_resamples=999,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(3),
    ).confidence_interval
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_stratified_bootstrap_with_one_group_is_scipys(method):
    # One stratum = ordinary bootstrap with the same index draws, so our own
    # stratified code (percentile and BCa) must reproduce scipy exactly.
    groups = np.full(X40.size, "g")
    got = stats.bootstrap_ci(
        X40, _mean_median_iqm, rng=5, n_resamples=700, method=method, groups=groups
    )
    ref = scipy.stats.bootstrap(
        (X40,),
        _mean_median_iqm,
        n_resamples=700,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(5),
    ).confidence_interval
    np.testing.assert_allclose(got[0], ref.low, rtol=1e-12)
    np.testing.assert_allclose(got[1], ref.high, rtol=1e-12)


def test_stratified_bootstrap_keeps_group_sizes():
    # Values constant within groups: a stratified resample always holds 3 zeros
    # and 5 ones, so the mean never moves; the plain bootstrap's does.
    values = np.array([0, 0, 0, 1, 1, 1, 1, 1], float)
    groups = values.astype(int)
    for method in ("percentile", "bca"):
        low, high = stats.bootstrap_ci(
            values, np.mean, rng=0, groups=groups, method=method
        )
        assert low == high == 5 / 8
    low, high = stats.bootstrap_ci(values, np.mean, rng=0)
    assert low < 5 / 8 < high


def test_bootstrap_seeds():
    a = stats.bootstrap_ci(X40, np.mean, rng=1)
    assert a == stats.bootstrap_ci(X40, np.mean, rng=1)
    assert a == stats.bootstrap_ci(X40, np.mean, rng=np.random.default_rng(1))
    assert a != stats.bootstrap_ci(X40, np.mean, rng=2)
    g = np.arange(40) % 2
    b = stats.bootstrap_ci(X40, np.mean, rng=1, groups=g)
    assert b == stats.bootstrap_ci(X40, np.mean, rng=1, groups=g)
    assert b != stats.bootstrap_ci(X40, np.mean, rng=2, groups=g)


def test_bootstrap_statistic_without_axis_argument():
    def plain_mean(v):
        return float(np.mean(v))

    for groups in (None, np.zeros(40)):
        slow = stats.bootstrap_ci(
            X40, plain_mean, rng=4, n_resamples=200, groups=groups
        )
        fast = stats.bootstrap_ci(X40, np.mean, rng=4, n_resamples=200, groups=groups)
        assert slow == pytest.approx(fast, rel=1e-12)


def test_bootstrap_constant_data_is_a_point_not_nan():
    for method in ("percentile", "bca"):
        assert stats.bootstrap_ci(np.ones(6), np.mean, rng=0, method=method) == (
            1.0,
            1.0,
        )


def test_bootstrap_interval_narrows_with_more_restarts():
    # The percentile interval of a mean has width ~ 2 * 1.96 * s / sqrt(n);
    # from n = 50 to n = 800 it shrinks by sqrt(16) = 4 times s_50 / s_800. The
    # sample std s_50 has relative sd 1/sqrt(2 * 49) = 0.10 (s_800's is 4x
    # smaller), so the ratio has sd ~ 4 * 0.105 = 0.42; 4 sd allows +-1.7.
    rng = np.random.default_rng(11)
    small = np.subtract(*stats.bootstrap_ci(rng.normal(size=50), np.mean, rng=0))
    large = np.subtract(*stats.bootstrap_ci(rng.normal(size=800), np.mean, rng=0))
    assert abs(small / large - 4) < 4 * 0.42


# ---------------------------------------------------------------- success rate


def _wilson_by_hand(k, n, confidence):
    z = scipy.stats.norm.ppf(0.5 + confidence / 2)
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * math.sqrt(k * (n - k) / n + z**2 / 4)
    return centre - half, centre + half


def test_success_rate_wilson_by_hand():
    values = [0.9] * 8 + [0.1] * 2
    rate, low, high = stats.success_rate(values, 0.5)
    assert rate == 0.8
    assert (low, high) == pytest.approx(_wilson_by_hand(8, 10, 0.95), abs=1e-12)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=5e-5)  # Wilson tables
    rate, low, high = stats.success_rate(values, 0.5, confidence=0.8)
    assert (low, high) == pytest.approx(_wilson_by_hand(8, 10, 0.8), abs=1e-12)


def test_success_rate_direction_and_ties():
    losses = [0.1, 0.2, 0.3, 0.4]
    assert stats.success_rate(losses, 0.2, higher_is_better=False)[0] == 0.5
    assert stats.success_rate(losses, 0.2)[0] == 0.75  # >= counts the tie
    rate, low, high = stats.success_rate(losses, 5.0)
    assert rate == 0.0 and low == 0.0 and 0 < high < 1


# ------------------------------------------------------------------ best of k


def _brute_best(values, k, replace, best=max):
    draws = (
        itertools.product(values, repeat=k)
        if replace
        else itertools.combinations(values, k)
    )
    outcomes = [best(d) for d in draws]
    return sum(outcomes) / len(outcomes)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("replace", [True, False])
def test_best_of_k_matches_enumeration(n, replace):
    values = [0.3, -1.2, 0.3, 2.5, 0.7][:n]  # includes a tie
    ks = [k for k in (1, 2, 3) if k <= n]
    got = stats.expected_best_of_k(values, ks, replace=replace)
    want = [_brute_best(values, k, replace) for k in ks]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = stats.expected_best_of_k(values, ks, replace=replace, higher_is_better=False)
    want = [_brute_best(values, k, replace, best=min) for k in ks]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_best_of_k_hand_cases_and_defaults():
    assert stats.expected_best_of_k([0.0, 1.0], 2) == 0.75
    assert stats.expected_best_of_k([0.0, 1.0], 2, replace=False) == 1.0
    x = np.array([3.0, 1.0, 2.0])
    curve = stats.expected_best_of_k(x)
    assert curve.shape == (3,)
    assert curve[0] == pytest.approx(2.0)  # k = 1 is the mean
    assert np.all(np.diff(curve) > 0)
    assert stats.expected_best_of_k(x, 3, replace=False) == 3.0
    assert isinstance(stats.expected_best_of_k(x, 2), float)


def test_best_of_k_ci():
    est, low, high = stats.best_of_k_ci(X40, [1, 5, 10], rng=0, n_resamples=500)
    np.testing.assert_allclose(est, stats.expected_best_of_k(X40, [1, 5, 10]))
    assert np.all(low < est) and np.all(est < high)
    again = stats.best_of_k_ci(X40, [1, 5, 10], rng=0, n_resamples=500)
    np.testing.assert_array_equal(low, again[1])
    est, low, high = stats.best_of_k_ci(
        X40, [5], rng=0, higher_is_better=False, method="bca", n_resamples=500
    )
    assert est[0] == pytest.approx(
        stats.expected_best_of_k(X40, 5, higher_is_better=False)
    )
    assert low[0] < est[0] < high[0]


# ---------------------------------------------------- improvement and profile


def test_probability_of_improvement_hand_case():
    # 6 pairs: 2>1, 2<3, 3>1, 3=3, 3>1, 3=3 -> 3 wins + 2 ties / 2 = 4 of 6.
    x, y = [2.0, 3.0, 3.0], [1.0, 3.0]
    assert stats.probability_of_improvement(x, y, rng=0)[0] == pytest.approx(4 / 6)
    p = stats.probability_of_improvement(x, y, rng=0, higher_is_better=False)[0]
    assert p == pytest.approx(2 / 6)
    assert stats.probability_of_improvement([3, 4], [1, 2], rng=0) == (1.0, 1.0, 1.0)


def test_probability_of_improvement_is_mann_whitney_u():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 6, 30).astype(float)  # many ties
    y = rng.integers(0, 5, 25).astype(float)
    p, low, high = stats.probability_of_improvement(x, y, rng=9, n_resamples=400)
    u = scipy.stats.mannwhitneyu(x, y).statistic
    assert p == pytest.approx(u / (30 * 25), rel=1e-12)

    def brute(a, b, axis=-1):
        d = a[..., :, None] - b[..., None, :]
        return np.mean(d > 0, axis=(-2, -1)) + 0.5 * np.mean(d == 0, axis=(-2, -1))

    ref = scipy.stats.bootstrap(
        (x, y),
        brute,
        n_resamples=400,
        method="percentile",
        rng=np.random.default_rng(9),
    ).confidence_interval
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert low < p < high
    p_b, low_b, high_b = stats.probability_of_improvement(x, y, rng=9, method="bca")
    assert low_b < p_b < high_b


def test_performance_profile_hand_case():
    frac, low, high = stats.performance_profile([1, 2, 3, 4], [0, 2, 2.5, 9])
    np.testing.assert_array_equal(frac, [1.0, 0.5, 0.5, 0.0])  # strict ">"
    assert (low[1], high[1]) == pytest.approx(_wilson_by_hand(2, 4, 0.95))
    assert low[3] == 0.0 and 0 < high[3] < 1 and high[0] == 1.0 and low[0] < 1
    frac, _, _ = stats.performance_profile([1, 2, 3, 4], [2, 9], higher_is_better=False)
    np.testing.assert_array_equal(frac, [0.25, 1.0])


# ------------------------------------------------------- sources of variance


def test_variance_components_hand_case_one_per_cell():
    # rows 1.5, 3.5; columns 2, 3; grand 2.5; no residual. MS_init = 2 * (1 + 1)
    # = 4, MS_data = 2 * (0.25 + 0.25) = 1 -> var 4 / 2 = 2 and 1 / 2 = 0.5.
    vc = stats.variance_components([[1.0, 2.0], [3.0, 4.0]], rng=0)
    assert vc["components"] == ["init", "data", "interaction+residual"]
    np.testing.assert_allclose(vc["variance"], [2.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(vc["share"], [0.8, 0.2, 0.0], atol=1e-12)
    assert vc["confounded"] and vc["n_rep"] == 1


def test_variance_components_hand_case_not_square():
    # rows 1.5, 4, 6.5; columns 10/3, 14/3; grand 4. MS_init = 2 * 12.5 / 2 =
    # 12.5; MS_data = 3 * (4/9 + 4/9) = 8/3; residuals +-1/6, +-1/3, +-1/6 give
    # SS = 1/3 over 2 df: MS_res = 1/6. var_init = (12.5 - 1/6) / 2 = 37/6,
    # var_data = (8/3 - 1/6) / 3 = 5/6.
    grid = np.array([[1.0, 2.0], [3.0, 5.0], [6.0, 7.0]])
    vc = stats.variance_components(grid, rng=0, n_resamples=100)
    np.testing.assert_allclose(vc["variance"], [37 / 6, 5 / 6, 1 / 6], rtol=1e-12)
    swapped = stats.variance_components(grid.T, rng=0, n_resamples=100)
    np.testing.assert_allclose(swapped["variance"], [5 / 6, 37 / 6, 1 / 6])


def test_variance_components_hand_case_with_replicates_and_clipping():
    # cell means [[2, 3], [6, 7]], interaction 0, within-cell deviations +-1:
    # MS_init = 4 * 8 = 32, MS_data = 4 * 0.5 = 2, MS_inter = 0, MS_resid = 2.
    # var_init = 32 / 4 = 8, var_data = 2 / 4 = 0.5,
    # var_inter = (0 - 2) / 2 = -1 -> clipped to 0, var_resid = 2.
    grid = [[[1, 3], [2, 4]], [[5, 7], [6, 8]]]
    vc = stats.variance_components(grid, rng=0)
    assert vc["components"] == ["init", "data", "interaction", "residual"]
    np.testing.assert_allclose(vc["variance"], [8.0, 0.5, 0.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(vc["share"], np.array([8, 0.5, 0, 2]) / 10.5)
    assert not vc["confounded"]


def _sd_init_component(var, n_init, n_data, n_rep):
    # MS_init ~ E[MS_init] chi2_{I-1} / (I-1) has variance 2 E^2 / (I-1); MS_inter
    # likewise with (I-1)(J-1) df; var_init = (MS_init - MS_inter) / (J R).
    e_inter = n_rep * var.get("inter", 0.0) + var["resid"]
    e_init = e_inter + n_data * n_rep * var["init"]
    v = 2 * e_init**2 / (n_init - 1) + 2 * e_inter**2 / ((n_init - 1) * (n_data - 1))
    return math.sqrt(v) / (n_data * n_rep)


@pytest.mark.parametrize("n_rep", [1, 3])
def test_variance_components_recover_simulated(n_rep):
    rng = np.random.default_rng(2024)
    n_init, n_data = 40, 40
    var = {"init": 1.0, "data": 0.5, "inter": 0.3 if n_rep > 1 else 0.0, "resid": 0.25}
    y = (
        rng.normal(0, math.sqrt(var["init"]), (n_init, 1, 1))
        + rng.normal(0, math.sqrt(var["data"]), (1, n_data, 1))
        + rng.normal(0, math.sqrt(var["inter"]), (n_init, n_data, 1))
        + rng.normal(0, math.sqrt(var["resid"]), (n_init, n_data, n_rep))
    )
    vc = stats.variance_components(
        y if n_rep > 1 else y[..., 0], rng=1, n_resamples=400
    )
    truth = [var["init"], var["data"]]
    truth += [var["inter"], var["resid"]] if n_rep > 1 else [var["resid"]]
    true_share = np.array(truth) / sum(truth)
    # 95 % intervals: each true share should lie inside (one fixed seed, so
    # this is one draw of a ~95 % event per component, not a tuned tolerance).
    assert np.all(vc["share_low"] <= true_share), (vc["share_low"], true_share)
    assert np.all(true_share <= vc["share_high"]), (vc["share_high"], true_share)
    # Point estimate of the init variance within 4 sampling SDs (derived above).
    sd = _sd_init_component(var, n_init, n_data, n_rep)
    assert abs(vc["variance"][0] - var["init"]) < 4 * sd
    # Residual: MS_resid has many df, so it is precise: SD = sqrt(2/df) sigma^2.
    df = (n_init - 1) * (n_data - 1) if n_rep == 1 else n_init * n_data * (n_rep - 1)
    assert abs(vc["variance"][-1] - var["resid"]) < 4 * math.sqrt(2 / df) * 0.25


def test_variance_components_pure_init_and_seeds():
    grid = np.repeat(np.arange(5.0)[:, None], 4, axis=1)  # depends on init only
    vc = stats.variance_components(grid, rng=0, n_resamples=200)
    np.testing.assert_allclose(vc["share"], [1.0, 0.0, 0.0], atol=1e-12)
    g = np.random.default_rng(0).normal(size=(6, 5))
    a = stats.variance_components(g, rng=3, n_resamples=200)
    b = stats.variance_components(g, rng=3, n_resamples=200)
    c = stats.variance_components(g, rng=4, n_resamples=200)
    np.testing.assert_array_equal(a["share_low"], b["share_low"])
    assert not np.array_equal(a["share_low"], c["share_low"])


# ------------------------------------------------------------ binomial check


def test_binomial_check_hand_cases():
    # Every restart all right or all wrong: observed std 0.5 (ddof 0) while the
    # binomial prediction is sqrt(4 * 0.25) / 4 = 0.25: ratio sqrt(M) = 2.
    out = stats.binomial_check(np.array([[1, 1, 1, 1], [0, 0, 0, 0]], bool))
    assert out["observed_std"] == 0.5 and out["predicted_std"] == 0.25
    assert out["ratio"] == 2.0 and out["mean_accuracy"] == 0.5
    assert (out["n_restarts"], out["n_examples"]) == (2, 4)
    assert stats.binomial_check([[1, 0], [0, 1]])["observed_std"] == 0.0


def test_binomial_check_independent_examples_ratio_near_one():
    # Independent Bernoulli examples: observed^2 - predicted^2 is the sum of
    # sample covariances (ddof 0), and the ratio is ~1. With R = 2000 the
    # observed std has relative SD ~ 1 / sqrt(2 (R - 1)) = 0.016: allow 4 SD.
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 100)
    correct = rng.uniform(size=(2000, 100)) < p
    out = stats.binomial_check(correct)
    assert abs(out["ratio"] - 1) < 4 * 0.016
    cov = np.cov(correct.astype(float), rowvar=False, ddof=0)
    off_diag = cov.sum() - np.trace(cov)
    assert out["observed_std"] ** 2 - out["predicted_std"] ** 2 == pytest.approx(
        off_diag / 100**2, abs=1e-12
    )


# --------------------------------------------------------------- tables


def test_drop_diverged():
    kept, n = stats.drop_diverged([1.0, np.nan, 3.0], [False, True, False])
    np.testing.assert_array_equal(kept, [1.0, 3.0])
    assert n == 1
    kept, n = stats.drop_diverged(np.ones((3, 2)), np.array([True, True, False]))
    assert kept.shape == (1, 2) and n == 2


def make_outcomes(accuracy=None, diverged=None):
    """3 initializers x 6 restarts, synthetic; 'b' has 2 diverged, 'c' all."""
    labels = np.repeat(["a", "b", "c"], 6)
    r = len(labels)
    rng = np.random.default_rng(0)
    if accuracy is None:
        accuracy = np.concatenate(
            [rng.uniform(0.8, 0.9, 6), rng.uniform(0.5, 0.95, 6), np.full(6, np.nan)]
        )
    if diverged is None:
        diverged = np.array([False] * 6 + [True, True] + [False] * 4 + [True] * 6)
    accuracy = np.where(diverged, np.nan, accuracy)
    loss = np.where(diverged, np.inf, 1 - accuracy)
    steps = np.array([0, 10, 20])
    return Outcomes(
        initializer=labels,
        restart=np.tile(np.arange(6), 3),
        init_seed=np.tile(np.arange(6), 3),
        data_seed=np.zeros(r, int),
        steps=steps,
        curves={"test_accuracy": np.repeat(accuracy[:, None], 3, 1)},
        final={"test_accuracy": accuracy, "test_loss": loss},
        diverged=diverged,
        diverged_step=np.where(diverged, 10, -1),
        steps_to_target=np.full(r, -1),
    )


def test_summary_table():
    out = make_outcomes()
    table = stats.summary_table(
        out, "test_accuracy", rng=0, target=0.85, k=3, n_resamples=300
    )
    assert table["initializer"].tolist() == ["a", "b", "c"]
    assert table["n"].tolist() == [6, 4, 0]
    assert table["diverged"].tolist() == [0, 2, 6]
    a = out.values("test_accuracy", "a")
    b = out.values("test_accuracy", "b")
    row_a, row_b, row_c = (table.iloc[i] for i in range(3))
    assert row_a["mean"] == pytest.approx(a.mean())
    assert row_b["iqm"] == pytest.approx(stats.iqm(b))
    assert row_b["median"] == pytest.approx(np.median(b))
    assert row_b["success_rate"] == np.mean(b >= 0.85)
    assert row_a["best_of_3"] == pytest.approx(stats.expected_best_of_k(a, 3))
    assert row_a["mean_low"] < row_a["mean"] < row_a["mean_high"]
    assert row_c[["mean", "iqm", "best_of_3", "success_rate"]].isna().all()
    again = stats.summary_table(
        out, "test_accuracy", rng=0, target=0.85, k=3, n_resamples=300
    )
    assert table.equals(again)
    assert "success_rate" not in stats.summary_table(out, "test_accuracy", rng=0)


def test_summary_table_lower_is_better_metric():
    out = make_outcomes()
    table = stats.summary_table(
        out, "test_loss", rng=0, target=0.15, k=2, n_resamples=200
    )
    loss_a = out.values("test_loss", "a")
    assert table.iloc[0]["success_rate"] == np.mean(loss_a <= 0.15)
    assert table.iloc[0]["best_of_2"] == pytest.approx(
        stats.expected_best_of_k(loss_a, 2, higher_is_better=False)
    )
    assert table.iloc[0]["best_of_2"] < loss_a.mean()


def test_summary_table_refuses_unflagged_nan():
    acc = np.linspace(0.5, 0.9, 18)
    acc[3] = np.nan
    out = make_outcomes(accuracy=acc, diverged=np.zeros(18, bool))
    with pytest.raises(ValueError, match=r"1 non-finite.*index 3.*drop_diverged"):
        stats.summary_table(out, "test_accuracy", rng=0)
    with pytest.raises(KeyError, match="unknown metric"):
        stats.summary_table(out, "nope", rng=0)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: stats.iqm([]), ValueError, "0 value"),
        (lambda: stats.summarize([1.0], rng=0), ValueError, "at least 2"),
        (lambda: stats.summarize(np.ones((3, 2)), rng=0), ValueError, "1-D"),
        (lambda: stats.summarize([1, np.nan, 2, np.nan], rng=0), ValueError,
         r"2 non-finite .* index 1, 3.*drop_diverged"),
        (lambda: stats.summarize(["a", "b"], rng=0), TypeError, "numbers"),
        (lambda: stats.summarize(X40, rng=0, confidence=0), ValueError, r"\(0, 1\)"),
        (lambda: stats.summarize(X40, rng=0, confidence=1.0), ValueError, "got 1.0"),
        (lambda: stats.summarize(X40, rng=0, confidence=95), ValueError, "0.95"),
        (lambda: stats.summarize(X40, rng=0, confidence="0.9"), TypeError, "number"),
        (lambda: stats.summarize(X40, rng=0, confidence=True), TypeError, "number"),
        (lambda: stats.summarize(X40, rng=None), TypeError, "rng=0"),
        (lambda: stats.summarize(X40, rng=1.5), TypeError, "int seed"),
        (lambda: stats.summarize(X40, rng=0, method="basic"), ValueError, "bca"),
        (lambda: stats.summarize(X40, rng=0, n_resamples=0), ValueError, ">= 1"),
        (lambda: stats.bootstrap_ci(X40, np.mean, rng=0, groups=[0, 1]),
         ValueError, "one group label per restart"),
        (lambda: stats.expected_best_of_k([1, 2, 3], 4), ValueError, "larger than"),
        (lambda: stats.expected_best_of_k([1, 2, 3], 0), ValueError, ">= 1"),
        (lambda: stats.expected_best_of_k([1, 2, 3], [1.5]), TypeError, "integers"),
        (lambda: stats.best_of_k_ci([1, 2, 3], 3, rng=0, replace=False,
                                    method="bca"), ValueError, "k < n"),
        (lambda: stats.success_rate([1, 2], np.nan), ValueError, "finite"),
        (lambda: stats.probability_of_improvement([1], [1, 2], rng=0),
         ValueError, "x has 1"),
        (lambda: stats.performance_profile([1, 2], [np.nan]), ValueError,
         "thresholds has 1 non-finite"),
        (lambda: stats.variance_components([[1, 2, 3]], rng=0), ValueError,
         "n_init >= 2"),
        (lambda: stats.variance_components([[1, np.nan], [3, 4]], rng=0),
         ValueError, r"first at \(init, data, rep\) = \(0, 1, 0\)"),
        (lambda: stats.variance_components(np.ones((3, 3)), rng=0), ValueError,
         "no variance"),
        (lambda: stats.binomial_check([[1, 0, 1]]), ValueError, ">= 2 restarts"),
        (lambda: stats.binomial_check([[1, 2], [0, 1]]), ValueError, "booleans"),
        (lambda: stats.binomial_check([[1, 0], [1, 0]]), ValueError, "undefined"),
        (lambda: stats.drop_diverged([1, 2, 3], [True, False]), ValueError,
         "one flag per restart"),
        (lambda: stats.drop_diverged([1, 2], [1, 0]), ValueError, "boolean"),
    ],
)  # fmt: skip
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_best_of_k_without_replacement_large_n_is_finite():
    # C(n, k) overflows float64 beyond n ~ 1030; the weights are computed in
    # log space. The best of all n values without replacement is the maximum.
    values = np.arange(1200.0)
    got = stats.expected_best_of_k(values, [1, 600, 1200], replace=False)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[[0, 2]], [values.mean(), values.max()], rtol=1e-9)
    # E[max of k from 0..n-1 without replacement] = k (n + 1) / (k + 1) - 1.
    np.testing.assert_allclose(got[1], 600 * 1201 / 601 - 1, rtol=1e-9)


# ------------------------------------------------------------ argument helpers


def test_as_rng_seeds_and_generators():
    # A seed is NumPy's default_rng of that seed: the same stream.
    np.testing.assert_array_equal(
        stats.as_rng(5).random(4), np.random.default_rng(5).random(4)
    )
    np.testing.assert_array_equal(
        stats.as_rng(np.int64(5)).random(4), np.random.default_rng(5).random(4)
    )
    # A generator is passed through, not copied: drawing advances the caller's.
    gen = np.random.default_rng(0)
    assert stats.as_rng(gen) is gen
    first = stats.as_rng(gen).random()
    assert gen.random() != first
    # Children spawned from a seed are the same each call (reproducible).
    a = [c.random() for c in stats.as_rng(3).spawn(3)]
    b = [c.random() for c in stats.as_rng(3).spawn(3)]
    assert a == b and len(set(a)) == 3


@pytest.mark.parametrize(
    "rng, error, match",
    [(-1, ValueError, ">= 0"), (True, TypeError, "int seed"),
     (1.0, TypeError, "int seed"), (None, TypeError, "rng=0"),
     ("0", TypeError, "str")],
)  # fmt: skip
def test_as_rng_refuses(rng, error, match):
    with pytest.raises(error, match=match):
        stats.as_rng(rng)


def test_check_values_converts_and_keeps_values():
    x = stats.check_values([1, 2, 3])
    assert x.dtype == np.float64 and x.shape == (3,)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    v = np.array([0.5, 0.25], np.float32)
    np.testing.assert_array_equal(stats.check_values(v), v.astype(np.float64))
    assert stats.check_values([], min_n=0).shape == (0,)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [(dict(values=[1.0, np.inf, np.nan], name="acc of 'he'"), ValueError,
      r"acc of 'he' has 2 non-finite .* index 1, 2\..*drop_diverged"),
     (dict(values=[1.0], min_n=2), ValueError, "at least 2 needed"),
     (dict(values=[], min_n=1), ValueError, "0 value"),
     (dict(values=[[1.0, 2.0]]), ValueError, r"1-D .* shape \(1, 2\)"),
     (dict(values=["a"]), TypeError, "must be numbers"),
     (dict(values=[1.0], name=3), TypeError, "name must be a str"),
     (dict(values=[1.0], min_n=-1), ValueError, "min_n must be an int >= 0"),
     (dict(values=[1.0], min_n=1.5), TypeError, "min_n must be an int")],
)  # fmt: skip
def test_check_values_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        stats.check_values(**kwargs)


def test_private_helper_names_still_work_inside_stats():
    from initlab.stats import _checks

    assert _checks._as_rng is stats.as_rng
    assert _checks._check_values is stats.check_values
