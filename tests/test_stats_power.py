"""initlab.stats.power: sample sizes against textbook values and simulations."""

import math

import numpy as np
import pytest
import scipy.stats

from initlab import stats


def _unit_pilot(n=4000, seed=0):
    """A normal pilot rescaled to mean 0 and sample variance exactly 1."""
    x = np.random.default_rng(seed).normal(size=n)
    return (x - x.mean()) / x.std(ddof=1)


@pytest.mark.parametrize(("d", "n"), [(0.2, 394), (0.5, 64), (0.8, 26)])
def test_restarts_needed_matches_the_two_sample_t_test_tables(d, n):
    # Cohen (1988), table 2.4.1 (alpha 0.05 two-sided, power 0.8): n = 393, 64,
    # 26 per group from the normal approximation; the noncentral t gives 394
    # for d = 0.2 (statsmodels' TTestIndPower.solve_power: 393.4 -> 394).
    assert stats.restarts_needed(_unit_pilot(), difference=d, power=0.8) == n


def test_power_at_is_the_noncentral_t_power():
    pilot = _unit_pilot()
    n, d = 30, 0.6
    df = 2 * n - 2
    nc = d / math.sqrt(2 / n)
    crit = scipy.stats.t.ppf(0.975, df)
    want = scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.cdf(-crit, df, nc)
    assert stats.power_at(pilot, n=n, difference=d) == pytest.approx(want, rel=1e-9)


def test_power_of_the_computed_n_matches_a_simulation_of_welch_tests():
    # Draw n restarts per arm from N(0, 1) and N(d, 1), run Welch's t-test at
    # 5 %: the rejection rate estimates the power. 4000 simulations: standard
    # error sqrt(p (1 - p) / 4000) <= 0.0079; allow 4 of them.
    pilot = _unit_pilot()
    d = 0.5
    n = stats.restarts_needed(pilot, difference=d, power=0.8)
    want = stats.power_at(pilot, n=n, difference=d)
    rng = np.random.default_rng(1)
    sims = 4000
    a = rng.normal(size=(sims, n))
    b = rng.normal(d, 1.0, size=(sims, n))
    p = scipy.stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
    rate = np.mean(p < 0.05)
    assert abs(rate - want) < 4 * math.sqrt(want * (1 - want) / sims)
    assert want >= 0.8


def test_iqm_power_matches_a_simulation_of_yuen_tests():
    # A heavy-tailed outcome (t with 3 df): the IQM's variance from the
    # winsorized variance, tested by Yuen's trimmed t (scipy, trim=0.25).
    # Samples are drawn from a large pilot (the "population"); 3000
    # simulations: standard error <= 0.0091, allowed 4 of them.
    rng = np.random.default_rng(2)
    population = scipy.stats.t.rvs(3, size=200_000, random_state=rng)
    d = 0.4
    n = stats.restarts_needed(population, difference=d, statistic="iqm", power=0.8)
    want = stats.power_at(population, n=n, difference=d, statistic="iqm")
    sims = 3000
    a = rng.choice(population, size=(sims, n))
    b = rng.choice(population, size=(sims, n)) + d
    p = scipy.stats.ttest_ind(a, b, axis=1, equal_var=False, trim=0.25).pvalue
    rate = np.mean(p < 0.05)
    assert abs(rate - want) < 4 * math.sqrt(want * (1 - want) / sims)
    # The IQM resolves a shift of a heavy-tailed outcome with fewer restarts.
    assert n < stats.restarts_needed(population, difference=d, power=0.8)


def test_minimum_difference_inverts_restarts_needed():
    pilot = _unit_pilot()
    for n in (16, 64, 300):
        d = stats.minimum_difference(pilot, n=n)
        assert stats.power_at(pilot, n=n, difference=d) == pytest.approx(0.8, abs=1e-6)
        assert stats.restarts_needed(pilot, difference=d * 1.0001) == n


def test_two_pilots_add_their_variances():
    # Var(mean_a - mean_b) = (v_a + v_b) / n: a pilot b of variance 3 needs
    # the same restarts as one pilot of variance 2 used for both arms.
    a = _unit_pilot()
    b = _unit_pilot(seed=1) * math.sqrt(3.0)
    both = _unit_pilot(seed=2) * math.sqrt(2.0)
    n_ab = stats.restarts_needed(a, b, difference=0.5)
    assert n_ab == stats.restarts_needed(both, difference=0.5)


def test_bootstrap_variance_agrees_with_the_formula():
    # n * Var*(mean) = var * (n - 1) / n in expectation; with 4000 resamples the
    # variance of a variance estimate has relative SE sqrt(2 / 3999) = 0.022;
    # allow 4 of them (9 %). For the IQM the formula is asymptotic: 15 %.
    x = np.random.default_rng(3).normal(size=400)
    formula = stats.per_restart_variance(x)
    boot = stats.per_restart_variance(x, method="bootstrap", rng=0, n_resamples=4000)
    assert boot == pytest.approx(formula * 399 / 400, rel=0.09)
    f_iqm = stats.per_restart_variance(x, "iqm")
    b_iqm = stats.per_restart_variance(
        x, "iqm", method="bootstrap", rng=0, n_resamples=4000
    )
    assert b_iqm == pytest.approx(f_iqm, rel=0.15)
    # For a normal, the IQM's efficiency relative to the mean is about 0.83.
    assert f_iqm / formula == pytest.approx(1 / 0.83, rel=0.1)


def test_expected_interval_width_formula_matches_simulated_bootstrap():
    # Percentile-bootstrap intervals of n = 50 normal restarts: their mean
    # width is 2 z s sqrt((n - 1) / n) / sqrt(n) to O(1/n); 300 simulations
    # of widths with relative sd ~ 1 / sqrt(2 n) = 0.1 give a Monte Carlo
    # error of 0.006 relative; allow 4 % (with the 1 % sqrt((n - 1) / n)).
    pilot = _unit_pilot()
    formula = stats.expected_interval_width(pilot, 50)
    assert formula == pytest.approx(2 * 1.959964 / math.sqrt(50), rel=1e-4)
    sim = stats.expected_interval_width(
        pilot, 50, method="simulation", rng=0, n_simulations=300, n_resamples=1000
    )
    assert sim == pytest.approx(formula, rel=0.04)


def test_interval_width_shrinks_as_one_over_sqrt_n():
    pilot = _unit_pilot()
    w = [stats.expected_interval_width(pilot, n) for n in (16, 64, 256)]
    assert w[0] / w[1] == pytest.approx(2.0) and w[1] / w[2] == pytest.approx(2.0)


def test_errors_teach():
    pilot = _unit_pilot(100)
    with pytest.raises(ValueError, match="non-zero"):
        stats.restarts_needed(pilot, difference=0.0)
    with pytest.raises(ValueError, match="power must be in"):
        stats.restarts_needed(pilot, difference=0.1, power=1.5)
    with pytest.raises(ValueError, match="at least 4"):
        stats.restarts_needed([1.0, 2.0], difference=0.1)
    with pytest.raises(ValueError, match="statistic"):
        stats.per_restart_variance(pilot, "median")
    with pytest.raises(ValueError, match="method"):
        stats.expected_interval_width(pilot, 10, method="exact")
    with pytest.raises(TypeError):
        stats.power_at(pilot, n=1.5, difference=0.1)
    # No spread: any difference is resolved by the fewest restarts.
    assert stats.restarts_needed(np.ones(10), difference=0.1) == 2
    # A hopeless difference is capped, not an endless search.
    assert stats.restarts_needed(pilot, difference=1e-9, max_restarts=1000) == 1000
