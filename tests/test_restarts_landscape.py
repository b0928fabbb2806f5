"""initlab.restarts: interpolation barriers, weight matching, spawned children."""

import jax
import numpy as np
import pytest

import initlab
from initlab import restarts


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _same(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True)
    )


def _stack(*trees):
    return jax.tree.map(lambda *x: np.stack(x), *trees)


@pytest.fixture(scope="module")
def mlp():
    return initlab.models.mlp((16, 12), 64, 10)


@pytest.fixture(scope="module")
def core(mlp):
    return initlab.make_train("digits", mlp, steps=20, kernel_init="glorot_uniform")


@pytest.fixture(scope="module")
def children(core):
    """Two parents spawned at steps 0 and 10: the trained restarts of the tests."""
    init_keys, data_keys = initlab.stream_keys(0, range(2), range(2))
    return restarts.spawn(core, init_keys, data_keys, (0, 10))


@pytest.fixture(scope="module")
def inits(mlp):
    """Four initial parameter trees (one compiled draw), as numpy."""
    draw = jax.jit(
        jax.vmap(
            lambda k: mlp.init(
                k, initlab.glorot_uniform(), initlab.random_normal(stddev=0.1)
            )
        )
    )
    stack = draw(jax.random.split(jax.random.key(0), 4))
    return [jax.tree.map(lambda x, i=i: np.asarray(x)[i], stack) for i in range(4)]


def _planted(params, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for n in restarts.hidden_widths(params)]


# ------------------------------------------------------------------ alignment


def test_permuting_hidden_units_keeps_the_function(mlp, inits):
    params = inits[0]
    x = initlab.get_task("digits").x_test[:32]
    permuted = restarts.permute_hidden(params, _planted(params))
    assert not _same(params, permuted)
    np.testing.assert_allclose(
        mlp.apply(permuted, x), mlp.apply(params, x), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weight_matching_recovers_a_planted_permutation_exactly(inits, seed):
    params = inits[seed]
    planted = _planted(params, seed)
    copy = restarts.permute_hidden(params, planted)
    perms, aligned = restarts.weight_matching(params, copy, rng=seed)
    for p, q in zip(perms, planted, strict=True):
        np.testing.assert_array_equal(p, np.argsort(q))
    assert _same(aligned, params)  # bit for bit: alignment only indexes


def test_weight_matching_of_two_restarts_keeps_b_and_raises_the_match(mlp, inits):
    a, b = inits[0], inits[1]
    perms, aligned = restarts.weight_matching(a, b)
    x = initlab.get_task("digits").x_test[:16]
    np.testing.assert_allclose(
        mlp.apply(aligned, x), mlp.apply(b, x), rtol=1e-5, atol=1e-5
    )

    def match(p, q):
        return sum(
            float(np.sum(np.asarray(u) * np.asarray(v)))
            for u, v in zip(_leaves(p), _leaves(q), strict=True)
        )

    assert match(a, aligned) > match(a, b)


def test_check_permutable_accepts_mlps_and_refuses_the_rest(mlp, inits):
    x = initlab.get_task("digits").x_test[:8]
    restarts.check_permutable(mlp, inits[0], x)
    residual = initlab.models.residual_mlp(64, 10, hidden=16)
    with pytest.raises(ValueError, match="another function when its hidden units"):
        restarts.check_permutable(residual, residual.init(jax.random.key(0)), x)
    conv = initlab.models.cnn1d(40, 1, (4, 4), 10)
    with pytest.raises(ValueError, match="plain MLP.*convs"):
        restarts.check_permutable(
            conv, conv.init(jax.random.key(0)), np.zeros((2, 40, 1), np.float32)
        )


def test_mlp_layers_refuses_trees_that_are_not_an_mlp(inits):
    params = inits[0]
    stacked = _stack(params, params)
    with pytest.raises(ValueError, match="without the restart axis"):
        restarts.mlp_layers(stacked)
    with pytest.raises(ValueError, match="layers are"):
        restarts.mlp_layers({"layers": {1: {"kernel": np.zeros((2, 2))}}})
    with pytest.raises(ValueError, match="permutation 0"):
        restarts.permute_hidden(params, [np.zeros(16, int), np.arange(12)])


# --------------------------------------------------------------- interpolation


def test_interpolate_is_exact_at_the_ends_and_on_itself(inits):
    a, b = inits[0], inits[1]
    assert _same(restarts.interpolate(a, b, 0.0), a)
    assert _same(restarts.interpolate(a, b, 1.0), b)
    assert _same(restarts.interpolate(a, a, 0.37), a)


def test_barrier_hand_cases():
    assert restarts.barrier([1.0, 3.0, 1.0], higher_is_better=False) == 2.0
    assert restarts.barrier([1.0, 2.0, 3.0], higher_is_better=False) == 0.0
    assert restarts.barrier([1.0, 0.5, 1.0], higher_is_better=False) == 0.0
    # accuracy: the error barrier (a dip of accuracy below the chord)
    assert restarts.barrier([0.9, 0.6, 0.8], higher_is_better=True) == pytest.approx(
        0.25
    )
    np.testing.assert_array_equal(
        restarts.barrier(np.ones((3, 5)), higher_is_better=False), np.zeros(3)
    )


def test_barriers_to_itself_and_to_a_permuted_copy(core, children):
    # Pair 0: a trained restart and itself (barrier exactly 0); pair 1: it and
    # a unit-permuted copy (the same function, but far in weight space: a
    # barrier); pair 2: that copy aligned back (exactly 0 again).
    a = jax.tree.map(lambda x: np.asarray(x)[0], children[0]["a"])
    copy = restarts.permute_hidden(a, _planted(a, 3))
    aligned = restarts.weight_matching(a, copy)[1]
    evaluate = restarts.evaluator(core)
    alphas, curves = restarts.interpolation_curves(
        evaluate, _stack(a, a, a), _stack(a, copy, aligned), num_points=7
    )
    assert alphas[0] == 0.0 and alphas[-1] == 1.0 and len(alphas) == 7
    for metric, higher in (
        ("test_loss", False),
        ("train_loss", False),
        ("test_accuracy", True),
    ):
        b = restarts.barrier(curves[metric], higher_is_better=higher)
        assert b[0] == 0.0 and b[2] == 0.0
        # the ends are the same function: equal metrics to float rounding
        assert curves[metric][1, 0] == pytest.approx(curves[metric][1, -1], abs=1e-5)
    assert restarts.barrier(curves["test_loss"], higher_is_better=False)[1] > 0.05
    summary = restarts.barrier_summary(
        {"loss": restarts.barrier(curves["test_loss"], higher_is_better=False)},
        rng=0,
        n_resamples=200,
    )
    row = summary.iloc[0]
    assert row.n == 3 and row.low <= row["mean"] <= row.high


def test_interpolation_curves_checks_its_stacks(inits, core):
    a = _stack(inits[0])
    b = _stack(inits[1], inits[2])
    with pytest.raises(ValueError, match="leading pair axis"):
        restarts.interpolation_curves(restarts.evaluator(core), a, b)


# ---------------------------------------------------------------------- spawn


def test_spawned_children_share_the_past_and_differ_after(children):
    assert sorted(children) == [0, 10]
    for child in children.values():
        a, b = _leaves(child["a"]), _leaves(child["b"])
        assert a[0].shape[0] == 2
        assert not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        assert set(child["metrics_a"]) >= {"test_loss", "train_accuracy"}

    # children of step 10 share 10 steps: closer to each other than those of 0
    def gap(child):
        return sum(
            float(np.sum((x - y) ** 2))
            for x, y in zip(_leaves(child["a"]), _leaves(child["b"]), strict=True)
        )

    assert gap(children[10]) < gap(children[0])


def test_spawn_refuses_runs_without_minibatch_randomness():
    full = initlab.make_train("xor", steps=10)
    keys = initlab.stream_keys(0, range(2), range(2))
    with pytest.raises(ValueError, match="minibatch order"):
        restarts.spawn(full, *keys, (0,))
    small = initlab.make_train("digits", initlab.models.mlp((4,), 64, 10), steps=10)
    with pytest.raises(ValueError, match="spawn step"):
        restarts.spawn(small, *keys, (10,))
