"""Diagnostics: known facts of signal propagation in deep random MLPs, the
per-layer statistics against hand computations, and unit symmetry."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab import diagnostics as D
from initlab import models, tree_paths
from initlab.initializers import literature as L

WIDTH, BATCH, HIDDEN, NUM_KEYS = 256, 256, 32, 16
KEY = jax.random.key(1)
X = jax.random.normal(jax.random.key(0), (BATCH, WIDTH))
Q_INPUT = float(jnp.mean(X * X))


@pytest.fixture(scope="module")
def deep():
    """Second moments q_l, (keys, layers), of 32 hidden layers + a readout."""
    inits = {
        ("tanh", "lecun"): initlab.lecun_normal(),
        ("tanh", "half"): initlab.variance_scaling(
            0.25, "fan_in", "untruncated_normal"
        ),
        ("relu", "he"): initlab.he_normal(),
        ("relu", "glorot"): initlab.glorot_normal(),
    }
    out = {}
    for (act, label), init in inits.items():
        stats = D.signal_propagation(
            jax.random.key(1), (WIDTH,) * (HIDDEN + 2), init, None, act, X,
            num_keys=NUM_KEYS, gradients=False, jacobian=False,
        )  # fmt: skip
        out[act, label] = stats
    return out


def _mean_and_se(values):
    """Mean over keys and its standard error (sample std / sqrt(K))."""
    values = np.asarray(values, np.float64)
    return values.mean(0), values.std(0, ddof=1) / math.sqrt(values.shape[0])


# Tolerances: 4 standard errors of the mean over K = 16 independent networks
# (the spread across networks is the finite-width sampling error), plus a floor
# for the O(1/width) bias of mean-field theory at width 256 (a few percent).
Z, FLOOR = 4.0, 0.05


def test_tanh_lecun_loses_variance_polynomially(deep):
    q = np.asarray(deep["tanh", "lecun"].second_moment)[:, :HIDDEN]
    theory = L.mean_field_q(HIDDEN, 1.0, 0.0, "tanh", Q_INPUT)
    mean, se = _mean_and_se(np.log(q))
    assert np.all(np.abs(mean - np.log(theory)) < Z * se + FLOOR)
    # q_l ~ 1/(2 l): halving from layer 16 to 32 (theory 2.09, see literature).
    mean, se = _mean_and_se(np.log(q[:, 15] / q[:, 31]))
    assert abs(mean - math.log(2.09)) < Z * se + FLOOR
    mean, se = _mean_and_se(q[:, 31] * 2 * 32)
    assert 1.0 - Z * se - FLOOR < mean < 1.15 + Z * se + FLOOR


def test_tanh_small_weights_vanish_geometrically(deep):
    q = np.asarray(deep["tanh", "half"].second_moment)[:, :HIDDEN]
    theory = L.mean_field_q(HIDDEN, 0.5, 0.0, "tanh", Q_INPUT)
    assert theory[-1] < 1e-18  # ~ 0.25^l
    mean, se = _mean_and_se(np.log(q))
    assert np.all(np.abs(mean - np.log(theory)) < Z * se + FLOOR)
    # Deep layers are linear: each multiplies q by sigma_w^2 = 1/4.
    mean, se = _mean_and_se(np.log(q[:, 31] / q[:, 15]) / 16)
    assert abs(mean - math.log(0.25)) < Z * se + 0.01


def test_relu_he_keeps_and_glorot_halves_the_second_moment(deep):
    # He: E[q_{l+1}] = 2 E[relu(h)^2] = q_l exactly, for the second moment
    # mean(h^2) (the variance of a ReLU's *output* is smaller: it has a mean).
    # Finite width makes log q_l a random walk (variance ~5/width per layer,
    # Hanin & Rolnick 2018), hence the key-to-key spread that sets the SE.
    he = np.asarray(deep["relu", "he"].second_moment)[:, :HIDDEN]
    mean, se = _mean_and_se(he[:, -1] / he[:, 0])
    assert abs(mean - 1) < Z * se + FLOOR
    assert se < 0.5  # the check above is not vacuous
    # Glorot on square layers: variance 1/fan, so q_{l+1} = q_l / 2.
    glorot = np.asarray(deep["relu", "glorot"].second_moment)[:, :HIDDEN]
    mean, se = _mean_and_se(np.log2(glorot[:, -1] / glorot[:, 0]) / (HIDDEN - 1))
    assert abs(mean + 1) < Z * se + 0.01
    # Pre-activations have mean ~0, so their variance tracks the second moment.
    stats = deep["relu", "he"]
    np.testing.assert_allclose(
        np.asarray(stats.variance)[:, :HIDDEN],
        he - np.asarray(stats.mean)[:, :HIDDEN] ** 2,
        rtol=1e-3,
    )


def test_dead_relu_units(deep):
    tanh_dead = np.asarray(deep["tanh", "lecun"].dead_fraction)
    assert np.all(tanh_dead[:, :-1] == 0) and np.all(np.isnan(tanh_dead[:, -1]))
    relu_dead = np.asarray(deep["relu", "he"].dead_fraction)
    # Layer 1 sees isotropic inputs: a unit is dead with probability 2^-256.
    assert np.all(relu_dead[:, 0] == 0)
    # Deep ReLU layers correlate the inputs, and some units die.
    assert relu_dead[:, HIDDEN - 1].mean() > 0.01
    # A hand-made case: two of four units never fire on positive inputs.
    w1 = jnp.asarray([[1.0, -1.0, 2.0, -3.0], [1.0, -1.0, 0.5, -1.0]])
    layer0 = {"kernel": w1, "bias": jnp.zeros(4)}
    params = {
        "layers": {0: layer0, 1: {"kernel": jnp.ones((4, 1)), "bias": jnp.zeros(1)}}
    }
    x = jnp.abs(jax.random.normal(jax.random.key(3), (10, 2))) + 0.1
    stats = D.signal_stats(params, x, "relu")
    assert float(stats.dead_fraction[0]) == 0.5


def _hand_preactivations(layers, x, phi):
    """h_l = phi(h_{l-1}) W_l + b_l, h_0 = x: the MLP written out by hand."""
    hs, h = [], x
    for i, (w, b) in enumerate(layers):
        h = (phi(h) if i else h) @ w + b[None, :]
        hs.append(h)
    return hs


def test_grad_norms_and_moments_match_a_direct_computation():
    # Hidden layers 2 and 3 have equal shapes: the MLP scans them.
    model = models.mlp((5, 5, 5), 6, 3, "tanh")
    params = model.init(
        jax.random.key(2), initlab.glorot_uniform(), initlab.random_normal()
    )
    layers = [(lay.kernel, lay.bias) for lay in tree_paths.layers(params)]
    x = jax.random.normal(jax.random.key(3), (7, 6))
    y = jax.random.normal(jax.random.key(4), (7, 3))
    stats = D.signal_stats(params, x, "tanh", y)

    def loss(kernels):
        bl = [(w, b) for w, (_, b) in zip(kernels, layers, strict=True)]
        h = _hand_preactivations(bl, x, jnp.tanh)[-1]
        return 0.5 * jnp.mean(jnp.sum((h - y) ** 2, axis=1))

    grads = jax.grad(loss)([w for w, _ in layers])
    expected = [float(jnp.linalg.norm(g)) for g in grads]
    np.testing.assert_allclose(stats.grad_norm, expected, rtol=1e-5)
    hs = _hand_preactivations(layers, x, jnp.tanh)
    np.testing.assert_allclose(stats.mean, [float(jnp.mean(h)) for h in hs], atol=1e-6)
    np.testing.assert_allclose(
        stats.variance, [float(jnp.var(h)) for h in hs], rtol=1e-5
    )
    np.testing.assert_allclose(model.apply(params, x), hs[-1], rtol=1e-5, atol=1e-6)
    # The Jacobian of the output at x[0], by hand: the product of the layers'.
    jac = jax.jacfwd(lambda x0: _hand_preactivations(layers, x0[None], jnp.tanh)[-1][0])
    np.testing.assert_allclose(
        stats.jacobian_singular_values,
        jnp.linalg.svd(jac(x[0]), compute_uv=False),
        rtol=1e-4,
        atol=1e-6,
    )


def test_signal_stats_gradients_and_jacobian_flags():
    params = models.mlp((5, 5), 6, 3).init(jax.random.key(5), initlab.he_normal())
    x = jax.random.normal(jax.random.key(6), (7, 6))
    off = D.signal_stats(params, x, "relu", gradients=False, jacobian=False)
    assert off.grad_norm.shape == (3,) and np.all(np.isnan(off.grad_norm))
    assert off.jacobian_singular_values.shape == (0,)
    on = D.signal_stats(params, x, "relu", gradients=True, jacobian=True)
    assert np.all(np.isfinite(on.grad_norm)) and np.all(on.grad_norm > 0)
    svs = on.jacobian_singular_values
    assert svs.shape == (3,) and np.all(np.isfinite(svs))
    # The flags change nothing else.
    np.testing.assert_allclose(off.second_moment, on.second_moment)
    # Vmapped over keys, the flags are static: same shapes with a key axis.
    many = D.signal_propagation(
        0, (6, 5, 5, 3), initlab.he_normal(), num_keys=2, batch_size=4,
        gradients=False, jacobian=False,
    )  # fmt: skip
    assert np.all(np.isnan(many.grad_norm))
    assert many.jacobian_singular_values.shape == (2, 0)


def test_one_activation_table():
    from initlab.models import modules

    assert D.ACTIVATIONS is modules.ACTIVATIONS
    params = models.mlp((5, 5), 6, 3).init(jax.random.key(5), initlab.he_normal())
    x = jax.random.normal(jax.random.key(6), (7, 6))
    for name in ("erf", "silu", "elu", "softplus"):
        by_name = D.signal_stats(params, x, name, jacobian=False)
        by_fn = D.signal_stats(params, x, modules.ACTIVATIONS[name], jacobian=False)
        np.testing.assert_array_equal(by_name.second_moment, by_fn.second_moment)
    with pytest.raises(ValueError, match="valid names"):
        D.signal_stats(params, x, "rleu")


def test_jacobian_singular_values_dynamical_isometry():
    # A deep linear net with orthogonal weights is an isometry: every singular
    # value of its input-output Jacobian is exactly 1 (up to float32 rounding).
    widths = (32,) * 17
    iso = D.signal_propagation(2, widths, initlab.orthogonal(), None, "linear",
                               num_keys=2, batch_size=8)  # fmt: skip
    np.testing.assert_allclose(iso.jacobian_singular_values, 1.0, atol=1e-4)
    # Gaussian weights of the same variance spread the spectrum widely.
    gauss = D.signal_propagation(2, widths, initlab.lecun_normal(), None, "linear",
                                 num_keys=2, batch_size=8)  # fmt: skip
    svs = np.asarray(gauss.jacobian_singular_values)
    assert np.all(svs[:, 0] / svs[:, -1] > 100)
    assert svs.shape == (2, 32) and np.all(np.diff(svs, axis=1) <= 0)


def test_depth_sweep_table():
    df = D.depth_sweep(
        {"he": initlab.he_normal(), "zero": (L.zero_init(), initlab.zeros())},
        activations=("relu",), depths=(2, 3), width=16, batch_size=8, num_keys=2,
    )  # fmt: skip
    assert tuple(df.columns) == D.COLUMNS
    assert set(df.initializer) == {"he", "zero"} and set(df.depth) == {2, 3}
    per_layer = df[df.statistic == "second_moment"]
    # depth D: D hidden layers + the readout, numbered 1..D+1, 2 keys each.
    assert len(per_layer) == 2 * 2 * ((2 + 1) + (3 + 1))
    assert set(per_layer[per_layer.depth == 3].layer) == {1, 2, 3, 4}
    jac = df[df.statistic == "jacobian_sv_min"]
    assert set(jac.layer) == {3, 4}
    # ZerO on square layers is the identity: h_1 = x, h_2 = relu(x), exactly.
    zero = per_layer[(per_layer.initializer == "zero") & (per_layer.depth == 3)]
    q = zero[zero.key == 0].sort_values("layer").value.to_numpy()
    x = jax.random.normal(jax.random.key(0), (8, 16))
    np.testing.assert_allclose(q[1], float(jnp.mean(jax.nn.relu(x) ** 2)), rtol=1e-5)


def test_model_signal_propagation_matches_signal_stats_per_key():
    # Vmapped over keys (each drawn by model.init, jitted per layer shape) and
    # one network at a time agree; so does signal_propagation of the same MLP.
    model = models.mlp((16, 16, 16), 16, 4, "tanh")
    x = jax.random.normal(jax.random.key(5), (32, 16))
    keys = jax.random.split(jax.random.key(6), 3)
    inits = (initlab.he_normal(), initlab.random_normal())
    stats = D.model_signal_propagation(model, keys, x, *inits, activation="tanh")
    params = model.init(keys[1], initlab.he_normal(), initlab.random_normal())
    plain = D.signal_stats(params, x, "tanh")
    again = D.signal_propagation(keys, (16, 16, 16, 16, 4), *inits, "tanh", x)
    for field in D.SignalStats._fields:
        np.testing.assert_allclose(
            getattr(again, field), getattr(stats, field), rtol=1e-6, atol=1e-7
        )
    for field in ("mean", "variance", "second_moment", "grad_norm"):
        np.testing.assert_allclose(
            getattr(stats, field)[1], getattr(plain, field), rtol=2e-5, atol=1e-6
        )
    np.testing.assert_allclose(stats.dead_fraction[1, :-1], 0.0)
    np.testing.assert_allclose(
        stats.jacobian_singular_values[1],
        plain.jacobian_singular_values,
        rtol=1e-4,
        atol=1e-5,
    )


def test_deprecated_list_mlp_wraps_the_one_mlp():
    # mlp_init / mlp_preactivations / mlp_apply and a list given to
    # signal_stats warn, name the replacement, and compute with models.mlp.
    key, widths = jax.random.key(7), (6, 5, 5, 3)
    kernel_init, bias_init = initlab.he_normal(), initlab.random_normal()
    model = models.mlp(widths[1:-1], widths[0], widths[-1], "tanh")
    params = model.init(key, kernel_init, bias_init)
    x = jax.random.normal(jax.random.key(8), (9, 6))
    with pytest.warns(DeprecationWarning, match=r"initlab\.models\.mlp\("):
        layers = D.mlp_init(key, widths, kernel_init, bias_init)
    for (w, b), lay in zip(layers, tree_paths.layers(params), strict=True):
        np.testing.assert_array_equal(w, lay.kernel)
        np.testing.assert_array_equal(b, lay.bias)
    # Its documented draws: layer l's kernel from fold_in(key, 2 l), bias 2 l + 1.
    for i, (w, b) in enumerate(layers):
        np.testing.assert_array_equal(
            w, kernel_init(jax.random.fold_in(key, 2 * i), w.shape)
        )
        np.testing.assert_array_equal(
            b, bias_init(jax.random.fold_in(key, 2 * i + 1), b.shape)
        )
    out, values = model.intermediates(params, x)
    with pytest.warns(DeprecationWarning, match="intermediates"):
        hs = D.mlp_preactivations(layers, x, "tanh")
    for h, expected in zip(hs, [*values["preactivations"], out], strict=True):
        np.testing.assert_array_equal(h, expected)
    with pytest.warns(DeprecationWarning, match="mlp_from_params"):
        np.testing.assert_array_equal(D.mlp_apply(layers, x, "tanh"), out)
    with pytest.warns(DeprecationWarning, match="params tree"):
        from_list = D.signal_stats(layers, x, "tanh")
    for field in D.SignalStats._fields:
        np.testing.assert_array_equal(
            getattr(from_list, field), getattr(D.signal_stats(params, x, "tanh"), field)
        )
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=">= 2"):
        D.mlp_init(key, (6,), kernel_init)


def test_a_linear_mlp_has_one_layer():
    params = models.mlp((), 6, 3).init(jax.random.key(0), initlab.lecun_normal())
    x = jax.random.normal(jax.random.key(1), (64, 6))
    stats = D.signal_stats(params, x, "relu")
    w = params["layers"][0]["kernel"][...]
    np.testing.assert_allclose(stats.second_moment, [jnp.mean((x @ w) ** 2)], rtol=1e-5)
    assert np.isnan(stats.dead_fraction[0]) and stats.grad_norm.shape == (1,)


def test_arguments_are_checked():
    params = models.mlp((5,), 6, 3).init(jax.random.key(0))
    x = jnp.ones((4, 6))
    stacked = jax.vmap(models.mlp((5,), 6, 3).init)(jax.random.split(KEY, 2))
    with pytest.raises(ValueError, match="no restart axis"):
        D.signal_stats(stacked, x)
    with pytest.raises(ValueError, match=r"expected input \(batch, 6\)"):
        D.signal_stats(params, jnp.ones((4, 5)))
    with pytest.raises(TypeError, match="gradients must be True or False"):
        D.signal_stats(params, x, gradients=1)
    init = initlab.he_normal()
    with pytest.raises(TypeError, match="typed key"):
        D.signal_propagation(jnp.zeros(2, jnp.uint32), (6, 3), init)
    with pytest.raises(ValueError, match=">= 2 entries"):
        D.signal_propagation(0, (6,), init)
    with pytest.raises(ValueError, match=r"x must be \(batch, 6\)"):
        D.signal_propagation(0, (6, 3), init, x=jnp.ones((4, 5)))
    with pytest.raises(ValueError, match="num_keys must be a positive int"):
        D.signal_propagation(0, (6, 3), init, num_keys=0)
    with pytest.raises(ValueError, match="every depth must be a positive int"):
        D.depth_sweep({"he": init}, depths=(2, 0))
    with pytest.raises(TypeError, match="every depth must be an int"):
        D.depth_sweep({"he": init}, depths=(2.0,))
    with pytest.raises(ValueError, match="valid names"):
        D.depth_sweep({"he": init}, activations=("rleu",))
    with pytest.raises(ValueError, match="at least one initializer"):
        D.depth_sweep({})


# ----- symmetry ----------------------------------------------------------------


def test_distinct_units_counts_groups():
    assert int(D.distinct_units(jnp.ones((4, 8)))) == 1
    w = initlab.he_normal()(jax.random.key(0), (4, 8))
    assert int(D.distinct_units(w)) == 8
    dup = w.at[:, 3].set(w[:, 1]).at[:, 5].set(w[:, 1] + 1e-8)
    assert int(D.distinct_units(dup)) == 6
    # The bias is part of a unit.
    assert int(D.distinct_units(jnp.ones((4, 3)), jnp.asarray([0.0, 0.0, 1.0]))) == 2
    # Equality is closed transitively: a chain of near-equal units is one group.
    chain = jnp.asarray([[0.0, 0.6, 1.2, 5.0]])
    assert int(D.distinct_units(chain, tol=0.7)) == 2
    conv = jnp.zeros((3, 3, 2, 5)).at[..., 4].set(1.0)
    assert int(D.distinct_units(conv)) == 2
    with pytest.raises(ValueError, match="bias"):
        D.distinct_units(jnp.ones((4, 3)), jnp.ones(4))


def test_distinct_units_along_training():
    # Units that start equal get equal gradients and stay equal under GD.
    x = jax.random.normal(jax.random.key(1), (64, 3))
    y = jnp.sin(x[:, :1])

    def train(params):
        def loss(p):
            (w1, b1), (w2, b2) = p
            return jnp.mean(
                (jnp.tanh(x @ w1 + b1[None, :]) @ w2 + b2[None, :] - y) ** 2
            )

        def step(p, _):
            g = jax.grad(loss)(p)
            p = jax.tree.map(lambda a, b: a - 0.1 * b, p, g)
            return p, D.distinct_units(p[0][0], p[0][1])

        return jax.lax.scan(step, params, length=50)[1]

    def net(kernel_init):
        params = models.mlp((8,), 3, 1).init(
            jax.random.key(2), kernel_init, initlab.zeros()
        )
        return [(lay.kernel, lay.bias) for lay in tree_paths.layers(params)]

    counts = jax.jit(train)(net(initlab.constant(0.3)))
    assert np.all(np.asarray(counts) == 1)
    counts = jax.jit(train)(net(initlab.glorot_uniform()))
    assert np.all(np.asarray(counts) == 8)
