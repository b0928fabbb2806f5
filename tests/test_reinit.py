"""reinit: rules over paths, per-leaf keys, NNX state and plain dicts."""

import zlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab import models as M
from initlab.reinit import paths, reinit

KEY = jax.random.key(7)


def linen_params():
    return {
        "params": {
            "Dense_0": {"kernel": jnp.full((64, 32), 3.0), "bias": jnp.full(32, 3.0)},
            "Dense_1": {"kernel": jnp.full((32, 2), 3.0), "bias": jnp.full(2, 3.0)},
            "scale": jnp.array(3.0, jnp.bfloat16),
        }
    }


def test_paths_of_dict_and_nnx_state():
    assert paths(linen_params()) == [
        "params/Dense_0/bias", "params/Dense_0/kernel", "params/Dense_1/bias",
        "params/Dense_1/kernel", "params/scale",
    ]  # fmt: skip
    state = M.mlp((4,), 3, 2).init(KEY, "ones", "zeros")
    assert paths(state) == [
        "layers/0/bias",
        "layers/0/kernel",
        "layers/1/bias",
        "layers/1/kernel",
    ]


def test_matched_leaves_follow_the_initializer_unmatched_are_untouched():
    params = linen_params()
    out = reinit(params, {"Dense_0/kernel$": initlab.constant(0.25),
                          "bias$": "zeros"}, KEY)  # fmt: skip
    p, o = params["params"], out["params"]
    chex.assert_trees_all_equal(o["Dense_0"]["kernel"], jnp.full((64, 32), 0.25))
    assert np.all(o["Dense_0"]["bias"] == 0) and np.all(o["Dense_1"]["bias"] == 0)
    # Unmatched leaves are the very same objects.
    assert o["Dense_1"]["kernel"] is p["Dense_1"]["kernel"]
    assert o["scale"] is p["scale"]


def test_first_rule_wins_and_dtype_shape_are_kept():
    rules = [("Dense_1/kernel", "ones"), ("kernel|scale", "zeros")]
    out = reinit(linen_params(), rules, KEY)["params"]
    assert np.all(out["Dense_1"]["kernel"] == 1)
    assert np.all(out["Dense_0"]["kernel"] == 0)
    assert out["scale"].dtype == jnp.bfloat16 and out["scale"].shape == ()


def test_distribution_and_per_leaf_keys():
    params = linen_params()
    rules = {"Dense_0/kernel": {"name": "random_uniform", "minval": -1, "maxval": 1}}
    w = np.asarray(reinit(params, rules, KEY)["params"]["Dense_0"]["kernel"])
    # U(-1, 1) over 2048 draws: mean 0 with std sqrt(1/3/2048) ~ 0.013 -> 0.06
    # is > 4 sigma; variance 1/3 with std ~ sqrt(4/45/2048) ~ 0.0066 -> 0.03.
    assert np.all(np.abs(w) <= 1)
    assert abs(w.mean()) < 0.06 and abs(w.var() - 1 / 3) < 0.03
    # The leaf's key is fold_in(key, crc32(path)): independent of other rules.
    expected = initlab.random_uniform(-1.0, 1.0)(
        jax.random.fold_in(KEY, zlib.crc32(b"params/Dense_0/kernel")), (64, 32)
    )
    np.testing.assert_array_equal(w, expected)
    more = dict(rules, bias="ones")
    w2 = reinit(params, more, KEY)["params"]["Dense_0"]["kernel"]
    np.testing.assert_array_equal(w, w2)
    # Deterministic; another key differs.
    np.testing.assert_array_equal(
        w, reinit(params, rules, KEY)["params"]["Dense_0"]["kernel"]
    )
    other = reinit(params, rules, jax.random.key(8))["params"]["Dense_0"]["kernel"]
    assert not np.array_equal(w, other)


def test_nnx_state_jit_and_vmap_over_keys():
    model = M.mlp((16,), 8, 4)
    params = model.init(KEY, "ones", "zeros")  # cheap to compile
    rules = {"kernel$": "he_uniform"}

    def go(key):
        return reinit(params, rules, key)

    keys = jax.random.split(KEY, 2)
    stacked = jax.jit(jax.vmap(go))(keys)
    for i in range(2):
        chex.assert_trees_all_close(
            jax.tree.map(lambda a, i=i: a[i], stacked), go(keys[i]), rtol=0, atol=0
        )
    new = go(keys[0])
    kernel = new["layers"][0]["kernel"][...]
    bound = np.sqrt(6 / 8)  # he_uniform: U(+-sqrt(6/fan_in))
    assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.5 * bound
    assert new["layers"][0]["bias"][...] is params["layers"][0]["bias"][...]
    assert model.apply(new, jnp.ones((2, 8))).shape == (2, 4)


def test_torch_default_bias_takes_the_sibling_kernels_fan_in():
    params = linen_params()
    for rule_value in ("torch_default_bias", {"name": "torch_default_bias"},
                       initlab.torch_default_bias):  # fmt: skip
        out = reinit(params, {"bias$": rule_value}, KEY)["params"]
        for layer, fan_in in (("Dense_0", 64), ("Dense_1", 32)):
            expected = initlab.torch_default_bias(fan_in=fan_in)(
                jax.random.fold_in(KEY, zlib.crc32(f"params/{layer}/bias".encode())),
                params["params"][layer]["bias"].shape,
            )
            np.testing.assert_array_equal(out[layer]["bias"], expected)
    # Bound check: 1/sqrt(64) = 0.125 for Dense_0.
    assert np.abs(out["Dense_0"]["bias"]).max() <= 0.125
    # An explicit fan_in is used as given.
    fixed = reinit(params, {"Dense_1/bias": initlab.torch_default_bias(fan_in=4)}, KEY)
    assert np.abs(fixed["params"]["Dense_1"]["bias"]).max() > 1 / np.sqrt(32)
    with pytest.raises(ValueError, match="sibling kernel"):
        reinit({"b": jnp.zeros(3)}, {"b": "torch_default_bias"}, KEY)


def test_bad_rules_raise():
    params = linen_params()
    with pytest.raises(ValueError, match=r"match no parameter.*params/Dense_0/kernel"):
        reinit(params, {"conv/kernel": "zeros"}, KEY)
    with pytest.raises(ValueError, match="match no parameter"):
        reinit(params, [("kernel", "zeros"), ("Dense_0/kernel", "ones")], KEY)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        reinit(params, {"kernel(": "zeros"}, KEY)
    with pytest.raises(TypeError, match="mapping or a list"):
        reinit(params, "kernel", KEY)
    with pytest.raises(TypeError, match="pair"):
        reinit(params, [("kernel",)], KEY)
    with pytest.raises(ValueError, match="unknown initializer"):
        reinit(params, {"kernel": "glorot_unifrom"}, KEY)
