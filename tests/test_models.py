"""Models: shapes, the pure interface under jit/vmap, initializers actually used."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import initlab
from initlab import models as M

KEY = jax.random.key(0)
X_FLAT = jnp.linspace(-1.0, 1.0, 3 * 40).reshape(3, 40)


@pytest.fixture(scope="module")
def pure_models():
    return {
        "mlp": M.mlp((8, 8), 40, 10),
        "cnn1d": M.cnn1d(40, 1, (4, 4), 10),
        "gru": M.gru(1, 6, 10),
        "lstm": M.lstm(1, 6, 10),
    }


def _leaves(tree):
    return jax.tree.leaves(tree)


# A cheap-to-compile initializer: the contract is about the interface, and
# Flax's default truncated normal costs seconds of compilation per model.
UNIFORM = initlab.random_uniform(-0.5, 0.5)


@pytest.mark.parametrize("name", ["mlp", "gru"])
def test_pure_model_contract(pure_models, name):
    model = pure_models[name]
    keys = jax.random.split(jax.random.key(3), 2)

    def init(key):
        return model.init(key, UNIFORM, UNIFORM)

    # vmap over keys equals one init per key (a different program), bit for bit.
    stacked = jax.jit(jax.vmap(init))(keys)
    single_init = jax.jit(init)
    for i in range(2):
        single = single_init(keys[i])
        chex.assert_trees_all_equal(jax.tree.map(lambda a, i=i: a[i], stacked), single)
    # Another key differs in every array.
    first = jax.tree.map(lambda a: a[0], stacked)
    second = jax.tree.map(lambda a: a[1], stacked)
    for u, v in zip(_leaves(first), _leaves(second), strict=True):
        assert not np.array_equal(u, v)
    # Apply: output shape; vmapped + jitted equals eager.
    outs = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(stacked, X_FLAT)
    chex.assert_shape(outs, (2, 3, 10))
    np.testing.assert_allclose(outs[0], model.apply(first, X_FLAT), rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    assert np.all(np.isfinite(outs))


@pytest.mark.parametrize("name", ["mlp", "cnn1d", "gru", "lstm"])
def test_kernel_and_bias_init_are_used(pure_models, name):
    model = pure_models[name]
    params = jax.jit(lambda k: model.init(k, initlab.zeros(), initlab.ones()))(KEY)
    assert model.apply(params, X_FLAT).shape == (3, 10)
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    kernels = {initlab_path(p): v for p, v in flat if "kernel" in initlab_path(p)}
    biases = {initlab_path(p): v for p, v in flat if "bias" in initlab_path(p)}
    assert kernels and biases
    for path, v in kernels.items():
        if "dense_h" in path:  # recurrent kernel: the model's own (orthogonal)
            assert np.any(v != 0), path
        else:
            assert np.all(v == 0), path
    for path, v in biases.items():
        assert np.all(v == 1), path


def initlab_path(path):
    from initlab.reinit import leaf_path

    return leaf_path(path)


def test_default_init_is_flax_default_and_names_are_resolved():
    # None keeps Flax's lecun_normal; a registry name works like the initializer.
    by_name = M.mlp((8,), 4, 2).init(KEY, "ones", "zeros")
    assert all(np.all(v == 1) for v in _leaves(by_name["layers"][0]["kernel"]))
    default = M.mlp((256,), 256, 2).init(KEY)
    kernel = np.asarray(default["layers"][0]["kernel"])
    # Flax's lecun_normal: variance 1/fan_in = 1/256 (65536 draws: the sample
    # variance's relative std is sqrt(2/n) ~ 0.6 %, so 5 % is > 8 sigma), drawn
    # from a normal truncated at 2 std, whose std is 1/16/0.8796 before the cut.
    assert abs(kernel.var() * 256 - 1) < 0.05
    assert np.abs(kernel).max() <= 2 * (1 / 16) / 0.87962566103423978 + 1e-6
    assert np.all(np.asarray(default["layers"][0]["bias"]) == 0)


@pytest.mark.parametrize("cls_name", ["gru", "lstm"])
def test_recurrent_kernel_init_is_used(cls_name):
    model = getattr(M, cls_name)(1, 6, 10, recurrent_kernel_init=initlab.constant(0.5))
    params = model.init(KEY)
    chex.assert_trees_all_equal(
        params["rnn"]["cell"]["dense_h"]["kernel"][...],
        jnp.full((6, 6 * (3 if cls_name == "gru" else 4)), 0.5),
    )
    # The input kernel keeps its own init.
    assert np.any(params["rnn"]["cell"]["dense_i"]["kernel"][...] != 0.5)


def test_mlp_sows_preactivations_and_plain_calls_do_not_warn():
    model = M.mlp((8, 5), 40, 10, activation="tanh")
    params = model.init(KEY)
    out, values = jax.jit(model.intermediates)(params, X_FLAT)
    np.testing.assert_allclose(out, model.apply(params, X_FLAT), rtol=1e-6)
    pre = values["preactivations"]
    assert [p.shape for p in pre] == [(3, 8), (3, 5)]
    # The first pre-activation is x W0 + b0.
    layer0 = params["layers"][0]
    np.testing.assert_allclose(
        pre[0], X_FLAT @ layer0["kernel"][...] + layer0["bias"][...][None], rtol=1e-5
    )
    # Module use without capture: no sowing, no deprecation warning (an error here).
    net = M.MLP(4, (3,), 2, rngs=nnx.Rngs(0))
    net(jnp.ones((2, 4)))
    _, captured = nnx.capture(net, nnx.Intermediate)(jnp.ones((2, 4)))
    assert captured["preactivations"][0].shape == (2, 3)


def test_mlp_activations_and_output_activation():
    net = M.MLP(2, (3,), 1, activation="sigmoid", output_activation="sigmoid",
                kernel_init=initlab.zeros(), rngs=nnx.Rngs(0))  # fmt: skip
    np.testing.assert_allclose(net(jnp.ones((4, 2))), 0.5)
    for name in M.ACTIVATIONS:
        y = M.get_activation(name)(jnp.array([-1.0, 0.0, 2.0]))
        assert y.shape == (3,)
    assert M.get_activation("linear")(jnp.array(-3.0)) == -3.0


def test_cnn_and_rnn_accept_channel_axis():
    for model in (M.cnn1d(40, 1, (4,), 10), M.gru(1, 6, 10)):
        params = model.init(KEY)
        np.testing.assert_allclose(
            model.apply(params, X_FLAT), model.apply(params, X_FLAT[..., None]),
            rtol=1e-6,
        )  # fmt: skip


def test_from_pure_applies_rules_and_keeps_user_init():
    def my_init(key):
        k1, k2 = jax.random.split(key)
        return {"dense": {"w": jax.random.normal(k1, (3, 2)), "b": jnp.zeros(2)},
                "scale": jax.random.normal(k2, ())}  # fmt: skip

    def my_apply(p, x):
        return p["scale"] * (x @ p["dense"]["w"] + p["dense"]["b"][None])

    model = M.from_pure(my_init, my_apply, name="mine")
    chex.assert_trees_all_equal(model.init(KEY), my_init(KEY))
    params = jax.jit(lambda k: model.init(k, initlab.ones(), initlab.constant(2.0)))(
        KEY
    )
    assert np.all(params["dense"]["w"] == 1) and np.all(params["dense"]["b"] == 2)
    assert params["scale"] == my_init(KEY)["scale"]  # matches neither rule
    assert model.apply(params, jnp.ones((4, 3))).shape == (4, 2)
    bad = M.from_pure(my_init, my_apply, kernel_rule="nothing_here$")
    with pytest.raises(ValueError, match="match no parameter"):
        bad.init(KEY, initlab.ones(), None)


def test_from_nnx_custom_factory_and_errors():
    def factory(*, rngs, kernel_init=None, bias_init=None):
        # A factory with its own defaults (ones / zeros) for None.
        kernel_init = kernel_init or initlab.ones()
        bias_init = bias_init or initlab.zeros()
        return nnx.Linear(3, 2, kernel_init=kernel_init, bias_init=bias_init, rngs=rngs)

    model = M.from_nnx(factory, name="lin")
    assert model.name == "lin"
    # None: the factory's own default (ones) is kept.
    assert np.all(model.init(KEY)["kernel"] == 1)
    assert np.all(model.init(KEY, initlab.zeros())["kernel"] == 0)
    with pytest.raises(TypeError, match="nnx.Module"):
        M.from_nnx(lambda *, rngs: "not a module")
    with pytest.raises(TypeError, match="callable"):
        M.from_nnx(3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="valid names: .*relu"):
        M.mlp((4,), 2, 1, activation="rleu")
    with pytest.raises(TypeError, match="sequence of ints"):
        M.mlp(4, 2, 1)
    with pytest.raises(ValueError, match="positive int"):
        M.mlp((4, 0), 2, 1)
    with pytest.raises(ValueError, match="positive int"):
        M.cnn1d(40, 1, (4,), 0)
    with pytest.raises(ValueError, match="at least one conv"):
        M.cnn1d(40, 1, (), 10)
    model = M.mlp((4,), 2, 1)
    with pytest.raises(ValueError, match=r"expected input \(batch, 2\)"):
        model.apply(model.init(KEY), jnp.ones((3, 5)))
    with pytest.raises(ValueError, match="length 40"):
        M.cnn1d(40, 1, (4,), 10).apply(M.cnn1d(40, 1, (4,), 10).init(KEY),
                                       jnp.ones((2, 39)))  # fmt: skip
    assert set(M.MODELS) == {"mlp", "cnn1d", "gru", "lstm", "mnist1d_conv",
                             "mnist1d_mlp", "mnist1d_gru", "cnn2d",
                             "resnet"}  # fmt: skip
    assert M.num_params(M.mlp((2,), 2, 1).init(KEY)) == 9


@pytest.mark.parametrize("length, k, stride", [(40, 5, 2), (40, 5, 1), (7, 4, 3)])
def test_cnn1d_im2col_equals_lax_convolution(length, k, stride):
    # CNN1D computes its "SAME" convolutions as patches @ kernel (fast under
    # vmap); nnx.Conv (lax.conv) with the same parameters is the reference.
    from initlab.models.modules import _conv1d_same

    conv = nnx.Conv(3, 6, (k,), strides=stride, padding="SAME", rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, length, 3))
    ours = _conv1d_same(x, conv.kernel[...], conv.bias[...], conv.strides)
    # float32 sums of k * 3 products in another order: ~1e-6 apart.
    np.testing.assert_allclose(ours, conv(x), rtol=1e-5, atol=1e-5)


def test_deep_mlp_matches_a_hand_computation():
    model = M.mlp((8, 8, 8, 8, 5, 5), 16, 8, "tanh")
    params = model.init(KEY, UNIFORM, UNIFORM)
    x = jax.random.normal(jax.random.key(1), (4, 16))
    out, values = jax.jit(model.intermediates)(params, x)
    h, hand = x, []
    for i in range(7):
        layer = params["layers"][i]
        h = (jnp.tanh(h) if i else h) @ layer["kernel"][...] + layer["bias"][...][None]
        hand.append(h)
    pre = values["preactivations"]
    assert len(pre) == 6
    for ours, theirs in zip([*pre, out], hand, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_mlp_param_dtype():
    model = M.mlp((4,), 2, 1, param_dtype=jnp.bfloat16)
    params = model.init(KEY, UNIFORM, UNIFORM)
    assert {leaf.dtype for leaf in _leaves(params)} == {jnp.dtype(jnp.bfloat16)}


def test_mlp_from_params_reads_the_sizes():
    model = M.mlp((8, 8), 5, 3, "tanh")
    params = model.init(KEY, UNIFORM, UNIFORM)
    again = M.mlp_from_params(params, "tanh")
    assert again.name == model.name
    assert again is M.mlp_from_params(params, "tanh")  # one object: shared compiles
    np.testing.assert_array_equal(
        again.apply(params, X_FLAT[:, :5]), model.apply(params, X_FLAT[:, :5])
    )
    # Plain dicts (nnx.to_pure_dict) work too, and so does a model without biases.
    pure = nnx.to_pure_dict(params)
    np.testing.assert_array_equal(
        M.mlp_from_params(pure, "tanh").apply(pure, X_FLAT[:, :5]),
        model.apply(params, X_FLAT[:, :5]),
    )
    no_bias = M.mlp((8,), 5, 3, use_bias=False).init(KEY, UNIFORM)
    assert M.mlp_from_params(no_bias).name == "mlp-5-8-3"
    # Under vmap it sees one network's shapes.
    stacked = jax.vmap(lambda k: model.init(k, UNIFORM, UNIFORM))(
        jax.random.split(KEY, 2)
    )
    outs = jax.vmap(lambda p: M.mlp_from_params(p, "tanh").apply(p, X_FLAT[:, :5]))(
        stacked
    )
    chex.assert_shape(outs, (2, 3, 3))


def test_mlp_from_params_refuses_other_trees():
    params = M.mlp((8,), 5, 3).init(KEY, UNIFORM, UNIFORM)
    stacked = jax.vmap(M.mlp((8,), 5, 3).init)(jax.random.split(KEY, 2))
    with pytest.raises(ValueError, match="no restart axis"):
        M.mlp_from_params(stacked)
    with pytest.raises(ValueError, match="'layers/<i>/kernel'"):
        M.mlp_from_params(M.cnn1d(40, 1, (4,), 10).init(KEY, UNIFORM, UNIFORM))
    gap = {"layers": {0: nnx.to_pure_dict(params)["layers"][0],
                      2: nnx.to_pure_dict(params)["layers"][1]}}  # fmt: skip
    with pytest.raises(ValueError, match=r"layers 0..L-1.*\[0, 2\]"):
        M.mlp_from_params(gap)
    pure = nnx.to_pure_dict(params)
    half = {
        "layers": {0: pure["layers"][0], 1: {"kernel": pure["layers"][1]["kernel"]}}
    }
    with pytest.raises(ValueError, match="every layer has a bias or none"):
        M.mlp_from_params(half)
    extra = {"layers": pure["layers"], "scale": jnp.ones(())}
    with pytest.raises(ValueError, match="also"):
        M.mlp_from_params(extra)
    with pytest.raises(ValueError, match="valid names"):
        M.mlp_from_params(params, "rleu")
