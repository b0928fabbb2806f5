"""initlab.restarts: init-time predictors and shared-start perturbations."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import initlab
from initlab import restarts


def _features(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"f{j}": rng.normal(size=n) for j in range(6)}), rng


# ----------------------------------------------------------------- predictors


def test_a_planted_predictor_is_found_and_holds_out():
    # outcome = a monotone function of feature f3 plus noise: Spearman's rho
    # is about 0.9, its t-test p ~ 1e-20 at n = 60, Holm's x6 changes nothing.
    feats, rng = _features(60, 0)
    outcome = np.tanh(feats.f3) + 0.1 * rng.normal(size=60)
    table = restarts.predictor_table(feats, outcome, rng=0, n_resamples=300)
    top = table.iloc[0]
    assert top.feature == "f3" and top.rho > 0.8 and top.low > 0.6
    assert top.p_holm < 1e-6 and table.p_holm.iloc[1:].min() > 1e-3
    assert (table.low <= table.rho).all() and (table.rho <= table.high).all()
    assert list(table.n.unique()) == [60]
    # negated: found with the opposite sign
    flipped = restarts.predictor_table(feats, -outcome, rng=0, n_resamples=50)
    assert flipped.iloc[0].feature == "f3" and flipped.iloc[0].rho < -0.8
    check = restarts.held_out_check(feats, outcome, rng=0, n_permutations=99)
    assert check["chosen"] == {"f3": 5} and check["rho"] > 0.8
    assert check["p"] == pytest.approx(1 / 100)  # no shuffle does as well
    assert check["gain"] > 0 and check["gain_p"] == pytest.approx(1 / 100)
    assert check["null_low"] < 0 < check["null_high"] < check["rho"]


def test_nothing_is_found_in_pure_noise_at_the_stated_rates():
    # 40 datasets where no feature predicts: the permutation p of the
    # held-out check is uniform on {1/20, ..., 1}, so P(p <= 0.05) = 1/20;
    # Holm keeps the family-wise error of the table at most 5 %. Each rate
    # over 40 datasets has sd <= sqrt(0.05 * 0.95 / 40) = 0.034: allow 3 sd.
    held, family = 0, 0
    for seed in range(40):
        feats, rng = _features(30, 100 + seed)
        outcome = rng.normal(size=30)
        check = restarts.held_out_check(feats, outcome, rng=seed, n_permutations=19)
        held += check["p"] <= 0.05
        table = restarts.predictor_table(feats, outcome, rng=seed, n_resamples=20)
        family += table.p_holm.min() <= 0.05
    limit = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 40)
    assert held / 40 <= limit and family / 40 <= limit


def test_predictor_inputs_are_checked():
    feats, rng = _features(10, 1)
    with pytest.raises(ValueError, match="10 rows of features but 9"):
        restarts.predictor_table(feats, rng.normal(size=9), rng=0)
    with pytest.raises(ValueError, match="at least 6"):
        restarts.held_out_check(feats[:5], rng.normal(size=5), rng=0)
    with pytest.raises(ValueError, match="no feature varies"):
        restarts.predictor_table(
            pd.DataFrame({"c": np.ones(10)}), rng.normal(size=10), rng=0
        )
    with pytest.raises(ValueError, match="top_fraction"):
        restarts.held_out_check(feats, rng.normal(size=10), rng=0, top_fraction=2)
    with pytest.raises(ValueError, match="folds"):
        restarts.held_out_check(feats, rng.normal(size=10), rng=0, folds=1)
    # a diverged restart (NaN outcome) and a constant feature are left out
    outcome = rng.normal(size=10)
    outcome[3] = np.nan
    table = restarts.predictor_table(
        feats.assign(c=1.0), outcome, rng=0, n_resamples=20
    )
    assert "c" not in set(table.feature) and set(table.n) == {9}


def test_init_features_measure_the_stored_parameters():
    # Features of the stored parameters, against direct computations.
    task = initlab.get_task("digits")
    model = initlab.models.mlp((8,), 64, 10)
    params = jax.jit(jax.vmap(lambda k: model.init(k, initlab.he_normal())))(
        jax.random.split(jax.random.key(0), 4)
    )
    x, y = task.x_train[:32], task.y_train[:32]
    feats = restarts.init_features(
        model, params, x, y, task.loss, ntk_examples=4, activation="relu"
    )
    assert len(feats) == 4
    assert {"q_0", "q_1", "dead_0", "loss", "grad_norm", "ntk_trace"} <= set(feats)

    def direct(p):
        out = model.apply(p, x)
        jac = jax.jacrev(lambda q: model.apply(q, x[:4]).reshape(-1))(p)
        square = lambda t: sum(jnp.sum(a * a) for a in jax.tree.leaves(t))  # noqa: E731
        return dict(
            loss=task.loss(out, y),
            param_norm=jnp.sqrt(square(p)),
            q_1=jnp.mean(out**2),  # q of the output layer: the logits' mean square
            ntk_trace=square(jac),  # trace of J J^T = |J|_F^2
        )

    want = jax.jit(jax.vmap(direct))(params)
    for name, values in want.items():
        np.testing.assert_allclose(feats[name], values, rtol=1e-4, err_msg=name)
    assert (feats.ntk_log10_cond >= 0).all()
    assert ((feats.dead_0 >= 0) & (feats.dead_0 <= 1)).all()
    with pytest.raises(ValueError, match="fewer than ntk_examples"):
        restarts.init_features(model, params, x[:2], y[:2], task.loss)


# -------------------------------------------------------------- perturbations


@pytest.fixture(scope="module")
def model():
    return initlab.models.mlp((8,), 4, 3)


def _draw(wrapped, init, n=16):
    keys = jax.random.split(jax.random.key(7), n)
    return jax.jit(jax.vmap(lambda k: wrapped.init(k, init)))(keys), keys


def _changes(base, stack):
    """(R,) |new - old| of the one changed entry, and the old value."""
    diffs, olds = [], []
    for r in range(len(jax.tree.leaves(stack)[0])):
        for b, s in zip(jax.tree.leaves(base), jax.tree.leaves(stack), strict=True):
            b, s = np.asarray(b), np.asarray(s)[r]
            where = np.flatnonzero(b != s)
            if where.size:
                diffs.append(float(s.reshape(-1)[where[0]] - b.reshape(-1)[where[0]]))
                olds.append(b.reshape(-1)[where[0]])
    return np.array(diffs), np.array(olds)


def test_one_bit_flip_moves_one_weight_by_one_unit_in_the_last_place(model):
    base_key = jax.random.key(3)
    wrapped = restarts.shared_start(model, base_key)
    assert wrapped.name.endswith("-shared")
    base = model.init(base_key, initlab.glorot_uniform())
    stack, _ = _draw(wrapped, restarts.perturbation("glorot_uniform", bit=0))
    np.testing.assert_array_equal(restarts.changed_entries(base, stack), 1)
    diffs, olds = _changes(base, stack)
    # flipping the mantissa's last bit never crosses an exponent: one ulp
    np.testing.assert_array_equal(np.abs(diffs), np.spacing(np.abs(olds)))
    assert len(set(olds.tolist())) > 4  # the key picks which weight
    # biases (not matching "kernel$") are never touched
    for b, s in zip(jax.tree.leaves(base), jax.tree.leaves(stack), strict=True):
        if np.asarray(b).ndim == 1:
            assert np.array_equal(np.asarray(s), np.broadcast_to(b, s.shape))


def test_epsilon_moves_one_weight_by_plus_or_minus_epsilon(model):
    base = model.init(jax.random.key(0), initlab.glorot_uniform())
    wrapped = restarts.shared_start(model, 0)
    stack, _ = _draw(wrapped, restarts.perturbation(epsilon=1e-2))
    np.testing.assert_array_equal(restarts.changed_entries(base, stack), 1)
    diffs, olds = _changes(base, stack)
    # float32 addition rounds to the spacing of the result (< 1e-8 here)
    np.testing.assert_allclose(np.abs(diffs), 1e-2, atol=1e-8)
    assert (diffs > 0).any() and (diffs < 0).any()  # both signs, 16 keys


def test_other_initializers_redraw_from_the_restart_key(model):
    wrapped = restarts.shared_start(model, 0)
    init = initlab.he_normal()
    stack, keys = _draw(wrapped, init, n=3)
    for i in range(3):
        one = model.init(keys[i], init)
        for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(stack), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[i])
    # as an initializer, a Perturbation is its base initializer
    mark = restarts.perturbation("he_normal", bit=3)
    key = jax.random.key(1)
    np.testing.assert_array_equal(mark(key, (4, 5)), init(key, (4, 5)))
    assert mark.label == "bit 3"
    assert restarts.perturbation(epsilon=1e-4).label == "eps=1e-04"


def test_perturbation_errors_teach(model):
    with pytest.raises(ValueError, match="exactly one of epsilon"):
        restarts.perturbation()
    with pytest.raises(ValueError, match="exactly one of epsilon"):
        restarts.perturbation(epsilon=0.1, bit=0)
    with pytest.raises(ValueError, match="epsilon"):
        restarts.perturbation(epsilon=-1.0)
    with pytest.raises(ValueError, match="bit 40 does not exist in float32"):
        restarts.shared_start(model).init(
            jax.random.key(0), restarts.perturbation(bit=40)
        )
    with pytest.raises(ValueError, match="no parameter path matches"):
        restarts.shared_start(model, where="nothing").init(
            jax.random.key(0), restarts.perturbation(bit=0)
        )
    with pytest.raises(TypeError, match="PureModel"):
        restarts.shared_start(lambda x: x)
    with pytest.raises(ValueError, match="structure"):
        restarts.changed_entries({"a": np.zeros(2)}, {"a": np.zeros((1, 2)), "b": 1})
