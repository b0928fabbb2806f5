"""LSUV: unit output variance per layer on the batch, reproducible from the key."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab import diagnostics as D
from initlab.lsuv import lsuv, lsuv_model, lsuv_rescale

WIDTHS = (32, 64, 64, 64, 10)
X = jax.random.normal(jax.random.key(0), (2048, 32))


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
    hs = D.mlp_preactivations(params, X, "relu")
    np.testing.assert_allclose([float(jnp.var(h)) for h in hs], 1.0, atol=1e-3)


def test_held_out_batch_variance(fitted):
    # On a fresh batch of B = 2048 the variance is a new sample estimate: one
    # unit's sample variance has relative std <= sqrt(2/B) (Gaussian, the worst
    # case when all units are perfectly correlated) and the fitted batch had
    # its own, so their difference has std <= sqrt(2) sqrt(2/B) = 0.044; allow 4.
    params = jax.tree.map(lambda a: a[0], fitted.params)
    fresh = jax.random.normal(jax.random.key(9), X.shape)
    hs = D.mlp_preactivations(params, fresh, "relu")
    tol = 4 * math.sqrt(2) * math.sqrt(2 / fresh.shape[0])
    np.testing.assert_allclose([float(jnp.var(h)) for h in hs], 1.0, atol=tol)
    # Without LSUV, orthogonal ReLU layers would halve the variance per layer.
    raw = D.mlp_init(jax.random.key(1), WIDTHS, initlab.orthogonal())
    q = [float(jnp.var(h)) for h in D.mlp_preactivations(raw, fresh, "relu")]
    assert q[3] < 0.3


def test_reproducible_from_the_key():
    a = jax.jit(lambda k: lsuv(k, WIDTHS, X, "tanh"))
    r1, r2 = a(jax.random.key(3)), a(jax.random.key(3))
    for (w1, b1), (w2, b2) in zip(r1.params, r2.params, strict=True):
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(b1, b2)
    r3 = a(jax.random.key(4))
    assert not np.array_equal(r1.params[0][0], r3.params[0][0])
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


def test_rescale_stops_on_dead_layers_and_caps_iterations():
    params = [(jnp.zeros((32, 8)), jnp.zeros(8)), (jnp.ones((8, 2)), jnp.zeros(2))]
    res = lsuv_rescale(params, X, "relu")
    # A zero layer has variance 0 and cannot be rescaled: no NaN, no step.
    assert int(res.iterations[0]) == 0 and float(res.variances[0]) == 0.0
    assert np.all(np.isfinite(np.asarray(res.params[0][0])))
    # Biases that differ between units add variance (5.25) that no kernel
    # scale removes: the target 1 is out of reach and max_iter stops the loop.
    biased = [(jnp.eye(32, 8), jnp.arange(8.0))]
    res = lsuv_rescale(biased, X, "relu", tol=1e-6, max_iter=2)
    assert int(res.iterations[0]) == 2


@pytest.mark.parametrize(
    "kwargs", [{"tol": 0.0}, {"target_variance": -1.0}, {"max_iter": 0}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        lsuv(jax.random.key(0), WIDTHS, X, **kwargs)


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
