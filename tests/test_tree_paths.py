"""tree_paths: one path format, one path -> key derivation, one layer walker."""

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab import models as M
from initlab import tree_paths as T
from initlab.reinit import leaf_path, paths

KEY = jax.random.key(11)


def linen_params():
    return {
        "params": {
            "Dense_0": {"kernel": jnp.ones((4, 3)), "bias": jnp.zeros(3)},
            "Dense_1": {"kernel": jnp.ones((3, 2))},  # no bias
            "LayerNorm_0": {"scale": jnp.ones(2), "bias": jnp.zeros(2)},
        }
    }


def test_paths_of_dicts_lists_and_nnx_state():
    assert T.paths({"b": 2, "a": [1, {"c": 3}]}) == ["a/0", "a/1/c", "b"]
    state = M.mlp((4,), 3, 2).init(KEY, "ones", "zeros")
    # NNX Variables' trailing .value is dropped.
    assert T.paths(state) == [
        "layers/0/bias", "layers/0/kernel", "layers/1/bias", "layers/1/kernel",
    ]  # fmt: skip
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    assert [T.leaf_path(p) for p, _ in flat] == T.paths(state)
    assert [p for p, _ in T.leaves_with_paths(state)] == T.paths(state)
    # reinit keeps its names (the same functions).
    assert leaf_path is T.leaf_path and paths is T.paths


def test_map_with_paths_passes_each_leafs_path():
    params = linen_params()
    seen = T.map_with_paths(lambda path, x: path, params)
    assert seen["params"]["Dense_0"]["kernel"] == "params/Dense_0/kernel"
    zeroed = T.map_with_paths(
        lambda path, x: x if path.endswith("bias") else 0 * x, params
    )
    assert not zeroed["params"]["Dense_0"]["kernel"].any()
    assert zeroed["params"]["Dense_0"]["bias"] is params["params"]["Dense_0"]["bias"]


def test_path_key_is_fold_in_of_the_uint32_crc32():
    # Pick paths whose crc32 is above 2^31 too (uint32, not int32).
    for path in ["layers/0/kernel", "params/Dense_1/bias", "dense/kernel", ""]:
        crc = zlib.crc32(path.encode())
        expected = jax.random.fold_in(KEY, np.uint32(crc))
        got = T.path_key(KEY, path)
        np.testing.assert_array_equal(
            jax.random.key_data(got), jax.random.key_data(expected)
        )
    assert any(zlib.crc32(p.encode()) >= 2**31 for p in ["layers/0/kernel", "x/w"])
    a = jax.random.key_data(T.path_key(KEY, "layers/0/kernel"))
    b = jax.random.key_data(T.path_key(KEY, "layers/1/kernel"))
    assert not np.array_equal(a, b)
    # Legacy uint32 keys work the same way.
    legacy = jax.random.PRNGKey(0)
    assert T.path_key(legacy, "a").shape == (2,)


def test_reinit_and_perturbed_draw_a_leaf_with_the_same_key():
    params = linen_params()
    noise = initlab.random_normal(stddev=1.0)
    path = "params/Dense_0/kernel"
    expected = noise(T.path_key(KEY, path), (4, 3))
    redrawn = initlab.reinit(params, {f"^{path}$": noise}, KEY)
    np.testing.assert_array_equal(redrawn["params"]["Dense_0"]["kernel"], expected)
    perturbed = initlab.perturbed(params, noise, 1.0)(KEY)
    np.testing.assert_allclose(
        perturbed["params"]["Dense_0"]["kernel"], 1.0 + expected, rtol=1e-6
    )


def test_layers_pairs_each_kernel_with_its_sibling_bias():
    found = T.layers(linen_params())
    assert [layer.path for layer in found] == ["params/Dense_0", "params/Dense_1"]
    first, second = found
    assert first.kernel.shape == (4, 3) and first.bias.shape == (3,)
    assert first.kernel_path == "params/Dense_0/kernel"
    assert first.bias_path == "params/Dense_0/bias"
    assert second.bias is None and second.bias_path is None
    # A restart stack keeps its leading axis; NNX state works the same way.
    model = M.mlp((5,), 3, 2)
    stack = jax.vmap(lambda k: model.init(k))(jax.random.split(KEY, 4))
    layers = T.layers(stack)
    assert [layer.path for layer in layers] == ["layers/0", "layers/1"]
    assert layers[0].kernel.shape == (4, 3, 5) and layers[1].bias.shape == (4, 2)
    # Other leaf names (PyTorch-style trees) by argument; a kernel at the root.
    torch_like = {"fc": {"weight": jnp.ones((2, 2)), "b": jnp.ones(2)}}
    assert T.layers(torch_like, kernel="weight", bias="b")[0].bias_path == "fc/b"
    root = T.layers({"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)})
    assert root[0].path == "" and root[0].bias_path == "bias"


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="key path"):
        T.leaf_path("layers/0/kernel")
    with pytest.raises(TypeError, match="str"):
        T.path_key(KEY, 3)
    with pytest.raises(TypeError, match="leaf name"):
        T.layers({}, kernel=None)
    with pytest.raises(TypeError, match="callable"):
        T.map_with_paths("f", {})
