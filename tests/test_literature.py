"""Initializers from the literature: ZerO, depth scaling, edge of chaos, filter
banks, perturbed pretrained parameters."""

import json
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import initlab
from initlab.initializers import literature as L

KEY = jax.random.key(0)


# ----- ZerO ------------------------------------------------------------------


def test_zero_init_cases_of_the_paper():
    init = L.zero_init()
    np.testing.assert_array_equal(init(KEY, (6, 6)), np.eye(6))
    np.testing.assert_array_equal(init(KEY, (7, 4)), np.eye(7, 4))  # partial I*
    # in=3 < out=5: m = ceil(log2 5) = 3, c = 2^{-(3-1)/2} = 1/2, w = c H_3[:3, :5].
    expected = 0.5 * scipy.linalg.hadamard(8)[:3, :5]
    np.testing.assert_array_equal(init(KEY, (3, 5)), expected)
    # Deterministic: the key is ignored.
    np.testing.assert_array_equal(
        init(jax.random.key(1), (3, 5)), init(jax.random.key(2), (3, 5))
    )


def test_zero_init_hadamard_scale_of_the_paper_or_the_notebook():
    # Paper, Algorithm 1: c = 2^{-(m-1)/2}; the authors' example_mnist.ipynb
    # divides H by 2^{m/2}. in=3 < out=6: m = 3, so c = 1/2 or 2^{-3/2}.
    hadamard = scipy.linalg.hadamard(8)[:3, :6]
    paper = L.zero_init()(KEY, (3, 6))
    notebook = L.zero_init("notebook")(KEY, (3, 6))
    np.testing.assert_array_equal(paper, 0.5 * hadamard)
    np.testing.assert_allclose(notebook, 2**-1.5 * hadamard, rtol=1e-7)
    np.testing.assert_array_equal(L.zero_init("notebook")(KEY, (6, 3)), np.eye(6, 3))
    assert initlab.to_config(L.zero_init("notebook"))["hadamard_scale"] == "notebook"
    with pytest.raises(ValueError, match="hadamard_scale"):
        L.zero_init("code")


@pytest.mark.parametrize("shape", [(16, 16), (40, 24), (24, 40), (5, 100), (1, 3)])
def test_zero_init_is_full_rank(shape):
    w = np.asarray(L.zero_init()(KEY, shape), np.float64)
    assert np.linalg.matrix_rank(w) == min(shape)


def test_zero_init_conv_centre_tap():
    w = np.array(L.zero_init()(KEY, (3, 3, 4, 8)))
    np.testing.assert_array_equal(w[1, 1], L.zero_init()(KEY, (4, 8)))
    w[1, 1] = 0
    assert not w.any()
    with pytest.raises(ValueError, match="2 to 5 axes"):
        L.zero_init()(KEY, (8,))


# ----- depth scaling ---------------------------------------------------------------


def test_depth_scaled_multiplies_exactly():
    base = initlab.he_normal()
    w = L.depth_scaled(base, 0.3)(KEY, (64, 32))
    np.testing.assert_array_equal(w, base(KEY, (64, 32)) * jnp.float32(0.3))
    assert not L.depth_scaled(base, 0.0)(KEY, (4, 4)).any()
    with pytest.raises(ValueError, match=">= 0"):
        L.depth_scaled(base, -1.0)
    with pytest.raises(TypeError, match="initializer"):
        L.depth_scaled(3, 1.0)


def test_fixup_and_gpt2_formulas():
    assert L.fixup_scale(16, 2) == 0.25  # 16^{-1/2}
    assert math.isclose(L.fixup_scale(8, 3), 8 ** (-1 / 4))
    assert L.gpt2_scale(12) == 1 / math.sqrt(24)
    base = initlab.he_normal()
    np.testing.assert_array_equal(
        L.fixup(base, 8, 3)(KEY, (32, 32)),
        base(KEY, (32, 32)) * jnp.float32(8 ** (-1 / 4)),
    )
    gpt = L.gpt2_residual(12)
    np.testing.assert_array_equal(
        gpt(KEY, (64, 64)),
        initlab.random_normal(0.0, 0.02)(KEY, (64, 64))
        * jnp.float32(1 / math.sqrt(24)),
    )
    with pytest.raises(ValueError, match=">= 2"):
        L.fixup_scale(4, 1)  # one layer per branch: exponent undefined
    with pytest.raises(ValueError, match=">= 1"):
        L.gpt2_scale(0)


def test_depth_schedule():
    scales = [L.schedule_scale(i, 5, "increasing", 0.5, 2.0) for i in range(5)]
    assert scales[0] == pytest.approx(0.5) and scales[-1] == pytest.approx(2.0)
    # Geometric spacing: a constant factor per layer, (2 / 0.5)^{1/4}.
    np.testing.assert_allclose(np.diff(np.log(scales)), math.log(4) / 4)
    linear = [
        L.schedule_scale(i, 5, "decreasing", 0.5, 2.0, "linear") for i in range(5)
    ]
    np.testing.assert_allclose(linear, [2.0, 1.625, 1.25, 0.875, 0.5])
    assert L.schedule_scale(3, 5, "constant") == 1.0
    base = initlab.lecun_normal()
    w = L.depth_schedule(base, 4, 5)(KEY, (16, 16))
    np.testing.assert_array_equal(w, base(KEY, (16, 16)) * jnp.float32(scales[4]))
    with pytest.raises(ValueError, match="< depth"):
        L.schedule_scale(5, 5)
    with pytest.raises(ValueError, match="kind"):
        L.schedule_scale(0, 5, "deeper")
    with pytest.raises(ValueError, match="min_scale"):
        L.schedule_scale(0, 5, min_scale=3.0, max_scale=2.0)


def test_wrappers_round_trip_through_config():
    for init in [
        L.depth_scaled(initlab.he_normal(), 0.5),
        L.fixup("he_normal", 4),
        L.depth_schedule(initlab.glorot_uniform(), 1, 3, "decreasing"),
        L.gpt2_residual(6),
        L.gabor((0.25,), 2, noise=initlab.random_normal(stddev=0.01)),
    ]:
        config = json.loads(json.dumps(initlab.to_config(init)))
        again = initlab.get(config)
        np.testing.assert_array_equal(again(KEY, (5, 3, 8)), init(KEY, (5, 3, 8)))


# ----- edge of chaos ---------------------------------------------------------------


def test_critical_sigma_w_known_values():
    assert L.critical_sigma_w(0.0, "tanh") == 1.0
    assert L.critical_sigma_w(0.0, "erf") == pytest.approx(math.sqrt(math.pi) / 2)
    previous = 1.0
    for sigma_b in [0.05, 0.3, 1.0, 2.0]:
        sigma_w = L.critical_sigma_w(sigma_b, "tanh")
        assert sigma_w > previous  # the critical line rises with sigma_b
        previous = sigma_w
        # Brent's method stops at xtol ~1e-13; chi_1 is smooth: 1e-9 is generous.
        assert L.chi_1(sigma_w, sigma_b, "tanh") == pytest.approx(1.0, abs=1e-9)
        assert L.chi_1(0.9 * sigma_w, sigma_b) < 1 < L.chi_1(1.1 * sigma_w, sigma_b)


@pytest.mark.parametrize("sigma_b", [0.1, 0.5, 1.5, 3.0])
def test_erf_edge_of_chaos_matches_closed_forms(sigma_b):
    # For phi = erf: E[erf(sqrt(q) z)^2] = (2/pi) arcsin(2q / (1 + 2q)) and
    # E[erf'(sqrt(q) z)^2] = (4/pi) / sqrt(1 + 4q): an independent check of the
    # quadrature (Williams 1997), including q > 4 where adaptive quadrature runs.
    sigma_w = L.critical_sigma_w(sigma_b, "erf")
    q = L.fixed_point_q(sigma_w, sigma_b, "erf")
    v = sigma_w**2 * 2 / math.pi * math.asin(2 * q / (1 + 2 * q)) + sigma_b**2
    assert v == pytest.approx(q, rel=1e-10)
    assert sigma_w**2 * 4 / math.pi / math.sqrt(1 + 4 * q) == pytest.approx(1, 1e-9)


def test_mean_field_tanh_asymptotics():
    # q_{l+1} = q - 2 q^2 + 17/3 q^3 + ... gives 1/q_l = 2 l - (5/6) ln l + c:
    # q_l ~ 1/(2 l), slowly (log corrections).
    q = L.mean_field_q(64, 1.0, 0.0, "tanh")
    assert 1.0 < q[31] * 2 * 32 < 1.15
    assert 1.9 < q[15] / q[31] < 2.2
    assert 1.0 < q[63] * 2 * 64 < 1.1
    np.testing.assert_allclose(L.mean_field_q(5, 1.0, 0.0, "relu"), 0.5 ** np.arange(5))
    assert L.fixed_point_q(1.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="activation"):
        L.critical_sigma_w(0.0, "relu")
    with pytest.raises(ValueError, match=">= 0"):
        L.critical_sigma_w(-0.1)


def test_edge_of_chaos_initializers():
    sigma_b = 0.3
    sigma_w = L.critical_sigma_w(sigma_b)
    w = np.asarray(L.edge_of_chaos(sigma_b)(KEY, (512, 512)), np.float64)
    # Var(w) = sigma_w^2 / 512; the sample variance of n = 262144 normals has
    # relative std sqrt(2/n) = 0.0028: allow 4 of those.
    assert w.var() * 512 / sigma_w**2 == pytest.approx(1, abs=4 * math.sqrt(2 / w.size))
    b = np.asarray(L.edge_of_chaos_bias(sigma_b)(KEY, (100_000,)), np.float64)
    assert b.std() / sigma_b == pytest.approx(1, abs=4 * math.sqrt(0.5 / b.size))
    assert not L.edge_of_chaos_bias(0.0)(KEY, (4,)).any()
    with pytest.raises(ValueError, match="edge_of_chaos"):
        L.edge_of_chaos()(KEY, (7,))


# ----- filter banks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, shape",
    [
        (L.dct, (8, 1, 8)),
        (L.dct, (3, 3, 2, 18)),
        (L.dct, (2, 3, 2, 1, 12)),
        (L.haar, (8, 1, 8)),
        (L.haar, (4, 4, 3, 48)),
        (L.haar, (2, 2, 2, 2, 16)),
    ],
)
def test_dct_and_haar_are_orthonormal_bases(factory, shape):
    # out == prod(kernel) * in: the flattened kernel is an orthogonal matrix.
    m = np.asarray(factory()(KEY, shape), np.float64).reshape(-1, shape[-1])
    np.testing.assert_allclose(m.T @ m, np.eye(shape[-1]), atol=1e-6)
    np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-6)


def test_filter_bank_structure():
    w = np.asarray(L.dct()(KEY, (8, 1, 5)))[:, 0, :]
    np.testing.assert_allclose(w[:, 0], 1 / math.sqrt(8), rtol=1e-6)  # DC first
    # Filter u of the DCT-II has u sign changes (frequency u / 16 cycles).
    assert [int(np.sum(np.diff(np.sign(w[:, u])) != 0)) for u in range(5)] == [
        0,
        1,
        2,
        3,
        4,
    ]
    h = np.asarray(L.haar()(KEY, (4, 1, 4)))[:, 0, :]
    np.testing.assert_allclose(h[:, 1], [0.5, 0.5, -0.5, -0.5], rtol=1e-6)
    np.testing.assert_allclose(h[:, 2] * math.sqrt(2), [1, -1, 0, 0], rtol=1e-6)
    # Fewer filters than the basis: still orthonormal columns.
    m = np.asarray(L.dct()(KEY, (5, 5, 3, 20)), np.float64).reshape(-1, 20)
    np.testing.assert_allclose(m.T @ m, np.eye(20), atol=1e-6)
    with pytest.raises(ValueError, match="powers of 2"):
        L.haar()(KEY, (3, 1, 3))
    with pytest.raises(ValueError, match="conv kernel"):
        L.dct()(KEY, (8, 8))


def test_gabor_peaks_at_its_frequency():
    w = np.asarray(L.gabor((0.125, 0.25), phases=(0.0,))(KEY, (32, 1, 2)))
    for o, f in enumerate([0.125, 0.25]):
        assert np.linalg.norm(w[:, 0, o]) == pytest.approx(1, rel=1e-6)
        assert np.argmax(np.abs(np.fft.rfft(w[:, 0, o]))) == round(f * 32)
    w = np.asarray(L.gabor((0.25,), 4, phases=(0.0,))(KEY, (16, 16, 1, 4)))
    for o in range(4):
        theta = math.pi * o / 4
        spectrum = np.abs(np.fft.fft2(w[:, :, 0, o]))
        ky, kx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
        # The peak sits at +-16 f (cos theta, sin theta), on the nearest bin.
        fx, fy = 4 * math.cos(theta), 4 * math.sin(theta)
        candidates = [
            ((round(fy)) % 16, round(fx) % 16),
            (-round(fy) % 16, -round(fx) % 16),
        ]
        assert (ky, kx) in candidates
    with pytest.raises(ValueError, match="0.5"):
        L.gabor((0.7,))
    with pytest.raises(ValueError, match="vanishes"):
        L.gabor((0.25,), phases=(math.pi / 2,))(KEY, (1, 1, 1))


def test_bank_noise_is_added():
    noise = initlab.random_normal(stddev=0.01)
    w = L.dct(noise=noise)(KEY, (4, 2, 8))
    np.testing.assert_allclose(
        w, L.dct()(KEY, (4, 2, 8)) + noise(KEY, (4, 2, 8)), rtol=0, atol=1e-7
    )


# ----- perturbed ---------------------------------------------------------------------


def _pretrained():
    return {
        "dense": {"kernel": jnp.arange(12.0).reshape(3, 4), "bias": jnp.ones(4)},
        "step": jnp.asarray(7, jnp.int32),
    }


def test_perturbed_without_noise_is_the_pretrained_params():
    params = _pretrained()
    for draw in [
        L.perturbed(params),
        L.perturbed(params, initlab.random_normal(), 0.0),
    ]:
        out = draw(KEY)
        assert out is params  # bit for bit, by construction


def test_perturbed_noise_per_leaf_from_path():
    params = _pretrained()
    noise = initlab.random_normal(stddev=1.0)
    out = L.perturbed(params, noise, scale=0.1)(KEY)
    # The leaf's key is reinit's: fold_in(key, uint32(crc32("dense/kernel"))).
    k = jax.random.fold_in(KEY, np.uint32(zlib.crc32(b"dense/kernel")))
    np.testing.assert_allclose(
        out["dense"]["kernel"],
        params["dense"]["kernel"] + 0.1 * noise(k, (3, 4)),
        rtol=1e-6,
    )
    # ... so reinit draws the same noise for that leaf.
    redrawn = initlab.reinit(params, {"^dense/kernel$": noise}, KEY)["dense"]["kernel"]
    np.testing.assert_allclose(
        out["dense"]["kernel"],
        params["dense"]["kernel"] + 0.1 * redrawn,
        rtol=1e-6,
    )
    assert out["step"] is params["step"]  # integer leaves untouched
    # Adding a leaf does not change the other leaves' noise.
    bigger = {**params, "extra": jnp.zeros(5)}
    out2 = L.perturbed(bigger, noise, scale=0.1)(KEY)
    np.testing.assert_array_equal(out2["dense"]["kernel"], out["dense"]["kernel"])
    many = jax.vmap(L.perturbed(params, noise, 0.1))(jax.random.split(KEY, 3))
    assert many["dense"]["bias"].shape == (3, 4)
    assert not np.array_equal(many["dense"]["bias"][0], many["dense"]["bias"][1])
