"""LSUV: unit output variance per layer on the batch, reproducible from the key."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab import models
from initlab.lsuv import lsuv, lsuv_model, lsuv_rescale

WIDTHS = (32, 64, 64, 64, 10)
X = jax.random.normal(jax.random.key(0), (2048, 32))


def _preactivations(params, x, activation):
    """Every layer's pre-activation of the one MLP, the output last."""
    out, values = models.mlp_from_params(params, activation).intermediates(params, x)
    return [*values["preactivations"], out]


@pytest.fixture(scope="module")
def fitted():
    run = jax.jit(
        jax.vmap(lambda k: lsuv(k, WIDTHS, X, "relu", tol=1e-3)),
    )
    return run(jax.random.split(jax.random.key(1), 4))


def test_unit_variance_on_the_batch(fitted):
    assert np.all(np.abs(np.asarray(fitted.variances) - 1) < 1e-3)
    assert np.all(np.asarray(fitted.iterations) >= 1)
    # The reported variances are those of the returned network's layers.
    params = jax.tree.map(lambda a: a[2], fitted.params)
    hs = _preactivations(params, X, "relu")
    np.testing.assert_allclose([float(jnp.var(h)) for h in hs], 1.0, atol=1e-3)


def test_held_out_batch_variance(fitted):
    # On a fresh batch of B = 2048 the variance is a new sample estimate: one
    # unit's sample variance has relative std <= sqrt(2/B) (Gaussian, the worst
    # case when all units are perfectly correlated) and the fitted batch had
    # its own, so their difference has std <= sqrt(2) sqrt(2/B) = 0.044; allow 4.
    params = jax.tree.map(lambda a: a[0], fitted.params)
    fresh = jax.random.normal(jax.random.key(9), X.shape)
    hs = _preactivations(params, fresh, "relu")
    tol = 4 * math.sqrt(2) * math.sqrt(2 / fresh.shape[0])
    np.testing.assert_allclose([float(jnp.var(h)) for h in hs], 1.0, atol=tol)
    # Without LSUV, orthogonal ReLU layers would halve the variance per layer.
    model = models.mlp(WIDTHS[1:-1], WIDTHS[0], WIDTHS[-1], "relu")
    raw = model.init(jax.random.key(1), initlab.orthogonal())
    q = [float(jnp.var(h)) for h in _preactivations(raw, fresh, "relu")]
    assert q[3] < 0.3


def test_reproducible_from_the_key():
    a = jax.jit(lambda k: lsuv(k, WIDTHS, X, "tanh"))
    r1, r2 = a(jax.random.key(3)), a(jax.random.key(3))
    chex.assert_trees_all_equal(r1.params, r2.params)
    r3 = a(jax.random.key(4))
    first = lambda r: r.params["layers"][0]["kernel"]  # noqa: E731
    assert not np.array_equal(first(r1), first(r3))
    # The default tolerance is the paper's Tol_var = 0.1.
    assert np.all(np.abs(np.asarray(r1.variances) - 1) < 0.1)


def test_biases_make_it_iterative():
    # With non-zero biases one rescaling does not hit the target exactly.
    run = jax.jit(
        lambda k: lsuv(
            k,
            WIDTHS,
            X,
            "tanh",
            bias_init=initlab.random_normal(stddev=0.5),
            tol=1e-4,
            max_iter=50,
        )  # fmt: skip
    )
    res = run(jax.random.key(5))
    assert np.all(np.abs(np.asarray(res.variances) - 1) < 1e-4)
    assert np.any(np.asarray(res.iterations) > 1)


def _tree(*layers):
    """The MLP's params tree of (kernel, bias) pairs."""
    return {"layers": {i: {"kernel": w, "bias": b} for i, (w, b) in enumerate(layers)}}


def test_rescale_stops_on_dead_layers_and_caps_iterations():
    params = _tree((jnp.zeros((32, 8)), jnp.zeros(8)), (jnp.ones((8, 2)), jnp.zeros(2)))
    res = lsuv_rescale(params, X, "relu")
    # A zero layer has variance 0 and cannot be rescaled: no NaN, no step.
    assert int(res.iterations[0]) == 0 and float(res.variances[0]) == 0.0
    assert np.all(np.isfinite(np.asarray(res.params["layers"][0]["kernel"])))
    # Biases that differ between units add variance (5.25) that no kernel
    # scale removes: the target 1 is out of reach and max_iter stops the loop.
    biased = _tree((jnp.eye(32, 8), jnp.arange(8.0)))
    res = lsuv_rescale(biased, X, "relu", tol=1e-6, max_iter=2)
    assert int(res.iterations[0]) == 2


def test_lsuv_is_lsuv_model_of_the_one_mlp():
    # lsuv draws models.mlp of the widths and rescales it as lsuv_model does;
    # lsuv_rescale on that draw is the same loop again.
    key, x = jax.random.key(7), X[:256]
    model = models.mlp(WIDTHS[1:-1], WIDTHS[0], WIDTHS[-1], "tanh")
    ours = lsuv(key, WIDTHS, x, "tanh", tol=1e-3)
    theirs = lsuv_model(model, key, x, tol=1e-3)
    chex.assert_trees_all_equal(ours, theirs)
    start = model.init(key, initlab.orthogonal(), initlab.zeros())
    again = lsuv_rescale(start, x, "tanh", tol=1e-3)
    chex.assert_trees_all_equal(again, theirs)


def test_a_list_of_layers_is_deprecated_and_returned_as_a_list():
    key, x = jax.random.key(7), X[:256]
    tree = models.mlp(WIDTHS[1:-1], WIDTHS[0], WIDTHS[-1]).init(
        key, initlab.orthogonal()
    )
    layers = [(lay.kernel, lay.bias) for lay in initlab.tree_paths.layers(tree)]
    with pytest.warns(DeprecationWarning, match="params tree"):
        res = lsuv_rescale(layers, x, "relu", tol=1e-3)
    expected = lsuv_rescale(tree, x, "relu", tol=1e-3)
    assert isinstance(res.params, list) and len(res.params) == len(layers)
    for (w, b), lay in zip(res.params, initlab.tree_paths.layers(expected.params),
                           strict=True):  # fmt: skip
        np.testing.assert_array_equal(w, lay.kernel)
        np.testing.assert_array_equal(b, lay.bias)
    np.testing.assert_array_equal(res.variances, expected.variances)


@pytest.mark.parametrize(
    "kwargs", [{"tol": 0.0}, {"target_variance": -1.0}, {"max_iter": 0}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        lsuv(jax.random.key(0), WIDTHS, X, **kwargs)


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        ({"max_iter": 2.5}, TypeError, "max_iter must be an int"),
        ({"tol": "0.1"}, TypeError, "tol must be a number"),
        ({"widths": (32,)}, ValueError, ">= 2 entries"),
        ({"widths": 32}, TypeError, "sequence"),
        ({"activation": "rleu"}, ValueError, "valid names"),
    ],
)
def test_bad_arguments_teach(kwargs, error, needle):
    kwargs = {"widths": WIDTHS} | kwargs
    with pytest.raises(error, match=needle):
        lsuv(jax.random.key(0), x=X, **kwargs)
    if "widths" not in kwargs or kwargs["widths"] == WIDTHS:
        tree = models.mlp((8,), 32, 2).init(jax.random.key(0))
        rest = {k: v for k, v in kwargs.items() if k != "widths"}
        with pytest.raises(error, match=needle):
            lsuv_rescale(tree, X, **rest)


def test_lsuv_on_an_nnx_mlp():
    from initlab import models

    model = models.mlp((64, 64, 64), 32, 10, "relu")
    res = jax.jit(lambda k: lsuv_model(model, k, X[:512], tol=1e-3))(jax.random.key(6))
    out, values = model.intermediates(res.params, X[:512])
    hs = [*values["preactivations"], out]
    np.testing.assert_allclose([float(jnp.var(h)) for h in hs], 1.0, atol=1e-3)
    np.testing.assert_allclose(res.variances, 1.0, atol=1e-3)
    plain = models.from_pure(
        lambda k: {"w": jnp.ones((32, 2))}, lambda p, x: x @ p["w"]
    )
    with pytest.raises(ValueError, match="intermediates"):
        lsuv_model(plain, jax.random.key(0), X)
