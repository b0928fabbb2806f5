"""The MNIST-1D reference models: sizes, forward passes against references, init.

References used here: ``jax.lax.conv_general_dilated`` (PyTorch's Conv1d is the
same cross-correlation), and PyTorch's documented GRU equations written out in
float64 NumPy; parameter counts are the ones the MNIST-1D repository prints
("Initialized ConvBase model with 5210 parameters", GRUBase 5134, MLPBase
15210, in its quickstart notebook).
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import initlab
from initlab import models as M
from initlab.reinit import leaf_path

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (3, 40))


def _lax_conv(x, kernel, bias, stride, padding):
    out = jax.lax.conv_general_dilated(
        x, kernel, (stride,), [(padding, padding)],
        dimension_numbers=("NWC", "WIO", "NWC"),
    )  # fmt: skip
    return out + bias[None, None, :]


@pytest.mark.parametrize(
    "length, width, stride, padding, c_in",
    [(40, 5, 2, 1, 1), (19, 3, 2, 1, 25), (10, 3, 2, 1, 25), (40, 5, 1, 0, 2),
     (7, 4, 3, 2, 3), (9, 3, 2, 1, 1)],
)  # fmt: skip
def test_conv1d_patches_equals_lax_convolution(length, width, stride, padding, c_in):
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    x = jax.random.normal(k1, (2, length, c_in))
    kernel = jax.random.normal(k2, (width, c_in, 6))
    bias = jax.random.normal(k3, (6,))
    ours = M.conv1d_patches(x, kernel, bias, stride, padding)
    assert ours.shape[1] == M.conv_output_length(length, width, stride, padding)
    # float32 sums of width x c_in products in another order: ~1e-6 apart.
    np.testing.assert_allclose(
        ours, _lax_conv(x, kernel, bias, stride, padding), rtol=1e-5, atol=1e-5
    )


def test_conv_output_length_is_pytorchs_formula_and_checks():
    # ConvBase on length 40: 40 -> 19 -> 10 -> 5 (PyTorch's Conv1d formula).
    assert M.conv_output_length(40, 5, 2, 1) == 19
    assert M.conv_output_length(19, 3, 2, 1) == 10
    assert M.conv_output_length(10, 3, 2, 1) == 5
    with pytest.raises(ValueError, match="does not fit"):
        M.conv_output_length(2, 5, 2, 1)
    with pytest.raises(ValueError, match="padding"):
        M.conv_output_length(40, 5, 2, -1)
    with pytest.raises(TypeError, match="stride"):
        M.conv_output_length(40, 5, 2.0, 1)


@pytest.mark.parametrize(
    "factory, kwargs, count",
    [
        # The repository's counts: 25*5+25 + 2*(25*25*3+25) + 125*10+10.
        (M.conv_base, {}, 5210),
        # 40*100+100 + 100*100+100 + 100*10+10.
        (M.residual_mlp, {}, 15210),
        # Per direction 3*6*(1+6) weights + 2*3*6 biases = 162; head 480*10+10.
        (M.gru_base, {}, 5134),
        # Unidirectional: the head reads 6*40 values: 162 + 240*10+10.
        (M.gru_base, {"bidirectional": False}, 2572),
    ],
)
def test_parameter_counts_are_the_repositorys(factory, kwargs, count):
    model = factory(**kwargs)
    params = jax.eval_shape(model.init, KEY)
    assert M.num_params(params) == count


def _params(model, key=KEY, *inits):
    return model.init(key, *inits)  # eager: cheaper than compiling an init


def test_conv_base_forward_is_the_reference_stack():
    model = M.conv_base()
    p = _params(model)
    h = X[..., None]
    pre_shapes = []
    for i in range(3):
        conv = p["convs"][i]
        h = _lax_conv(h, conv["kernel"][...], conv["bias"][...], 2, 1)
        pre_shapes.append(h.shape)
        h = jax.nn.relu(h)
    # PyTorch's h3.view(batch, -1) of (batch, channels, length): channel-major.
    flat = np.asarray(h).transpose(0, 2, 1).reshape(3, 125)
    expected = flat @ p["head"]["kernel"][...] + p["head"]["bias"][...][None]
    np.testing.assert_allclose(model.apply(p, X), expected, rtol=1e-5, atol=1e-5)
    assert pre_shapes == [(3, 19, 25), (3, 10, 25), (3, 5, 25)]
    _, values = model.intermediates(p, X)
    assert [v.shape for v in values["preactivations"]] == pre_shapes
    # (batch, length) and (batch, length, 1) are the same input.
    np.testing.assert_allclose(model.apply(p, X[..., None]), model.apply(p, X))


def test_residual_mlp_forward_adds_the_second_layer_to_its_input():
    model = M.residual_mlp()
    p = _params(model)
    w = [np.asarray(p["layers"][i]["kernel"][...], np.float64) for i in range(3)]
    b = [np.asarray(p["layers"][i]["bias"][...], np.float64) for i in range(3)]
    x = np.asarray(X, np.float64)
    h = np.maximum(x @ w[0] + b[0], 0)
    h = h + np.maximum(h @ w[1] + b[1], 0)
    np.testing.assert_allclose(model.apply(p, X), h @ w[2] + b[2], rtol=1e-5,
                               atol=1e-5)  # fmt: skip
    _, values = model.intermediates(p, X)
    assert [v.shape for v in values["preactivations"]] == [(3, 100), (3, 100)]


def _numpy_gru(x, cell, hidden):
    """PyTorch's nn.GRU equations (docs), one direction, float64 loops."""
    w_i, b_i = (np.asarray(cell["dense_i"][k][...], np.float64) for k in
                ("kernel", "bias"))  # fmt: skip
    w_h, b_h = (np.asarray(cell["dense_h"][k][...], np.float64) for k in
                ("kernel", "bias"))  # fmt: skip
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = np.zeros((x.shape[0], hidden))
    outs = []
    for t in range(x.shape[1]):
        gi, gh = x[:, t] @ w_i + b_i, h @ w_h + b_h
        r = sig(gi[:, :hidden] + gh[:, :hidden])
        z = sig(gi[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
        n = np.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs, axis=1)  # (batch, time, hidden)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_gru_base_forward_is_pytorchs_gru(bidirectional):
    model = M.gru_base(bidirectional=bidirectional)
    p = _params(model)
    x = np.asarray(X, np.float64)[..., None]
    fwd = _numpy_gru(x, p["forward"], 6)
    if bidirectional:
        # PyTorch's backward output at t: the state after x[T-1], ..., x[t].
        bwd = _numpy_gru(x[:, ::-1], p["backward"], 6)[:, ::-1]
        seq = np.concatenate([fwd, bwd], axis=-1)
    else:
        seq = fwd
    flat = seq.reshape(3, -1)  # output.reshape(batch, -1): time-major
    head = p["head"]
    expected = flat @ np.asarray(head["kernel"][...]) + np.asarray(head["bias"][...])
    np.testing.assert_allclose(model.apply(p, X), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "factory", [M.conv_base, M.residual_mlp, M.gru_base], ids=lambda f: f.__name__
)
def test_vmapped_init_and_apply_match_one_at_a_time(factory):
    model = factory()
    keys = jax.random.split(jax.random.key(3), 2)
    stacked = jax.jit(jax.vmap(model.init))(keys)
    for i in range(2):
        chex.assert_trees_all_equal(
            jax.tree.map(lambda a, i=i: a[i], stacked), model.init(keys[i])
        )
    outs = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(stacked, X)
    chex.assert_shape(outs, (2, 3, 10))
    first = jax.tree.map(lambda a: a[0], stacked)
    np.testing.assert_allclose(outs[0], model.apply(first, X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "factory", [M.conv_base, M.residual_mlp, M.gru_base], ids=lambda f: f.__name__
)
def test_engine_initializers_replace_the_defaults(factory):
    model = factory()
    params = _params(model, KEY, initlab.zeros(), initlab.ones())
    for path, v in jax.tree_util.tree_flatten_with_path(params)[0]:
        name = leaf_path(path)
        if "dense_h/kernel" in name:  # recurrent kernel: the model's own
            assert np.any(v != 0), name
        elif name.endswith("kernel"):
            assert np.all(v == 0), name
        else:
            assert np.all(v == 1), name
    # Names resolve like initializers.
    chex.assert_trees_all_equal(_params(model, KEY, "zeros", "ones"), params)


def _kernel_fan_in(name, value):
    if "dense_i" in name or "dense_h" in name:
        return 6  # PyTorch's GRU: U(±1/sqrt(hidden)) for every tensor
    return math.prod(value.shape[:-1])


@pytest.mark.parametrize(
    "factory", [M.conv_base, M.residual_mlp, M.gru_base], ids=lambda f: f.__name__
)
def test_default_init_is_pytorchs(factory):
    # 64 restarts' draws of every tensor, each divided by its PyTorch bound
    # 1/sqrt(fan_in), pooled: U(-1, 1), whose variance is 1/3. For a uniform
    # the sample variance has relative std sqrt((9/5 - 1) / n) (kurtosis
    # 9/5); the smallest pool here (ConvBase biases, 64 x 85 = 5440 draws)
    # gives 1.2 %, so 7 % is ~6 sigma. The bound itself must hold exactly.
    model = factory()
    params = jax.jit(jax.vmap(model.init))(jax.random.split(jax.random.key(4), 64))
    pooled = {"kernel": [], "bias": []}
    flat = dict(
        (leaf_path(p), np.asarray(v))
        for p, v in jax.tree_util.tree_flatten_with_path(params)[0]
    )
    for name, value in flat.items():
        kind = "kernel" if name.endswith("kernel") else "bias"
        kernel = flat[name.rsplit("/", 1)[0] + "/kernel"]
        fan_in = _kernel_fan_in(name, kernel[0])
        scaled = value * math.sqrt(fan_in)
        assert np.abs(scaled).max() <= 1 + 1e-6, name
        pooled[kind].append(scaled.ravel())
    for kind, parts in pooled.items():
        var = np.concatenate(parts).var()
        assert abs(var * 3 - 1) < 0.07, (kind, var)


def test_torch_default_reproduces_the_reference_kernels_bit_for_bit():
    # For Linear and Conv layers initlab.torch_default is PyTorch's rule, and
    # the default draws use the same keys: the same arrays.
    for model in (M.conv_base(), M.residual_mlp()):
        chex.assert_trees_all_equal(
            _params(model, KEY, initlab.torch_default()), _params(model, KEY)
        )


def test_models_are_registered_and_built_from_a_config():
    assert {"mnist1d_conv", "mnist1d_mlp", "mnist1d_gru"} <= set(M.MODELS)
    from initlab.engine.build import resolve

    task = {"name": "mnist1d", "preset": "reference"}
    for name, count in (("mnist1d_conv", 5210), ("mnist1d_mlp", 15210),
                        ("mnist1d_gru", 5134)):  # fmt: skip
        run = resolve(initlab.TrainConfig(task=task, model=name))
        assert M.num_params(jax.eval_shape(run.model.init, KEY)) == count
    run = resolve(initlab.TrainConfig(task=task, model={"name": "mnist1d_conv",
                                                         "channels": 8}))  # fmt: skip
    # (8*5+8) + 2*(8*8*3+8) + (40*10+10) = 48 + 400 + 410
    assert M.num_params(jax.eval_shape(run.model.init, KEY)) == 858


def test_reference_preset_is_the_repositorys_training():
    ref = initlab.get_task("mnist1d", preset="reference")
    d = ref.defaults
    assert (d["optimizer"], d["learning_rate"], d["batch_size"], d["steps"],
            d["eval_every"]) == ("adam", 1e-2, 100, 6000, 250)  # fmt: skip
    assert ref.default_model().name == "mnist1d-mlp-100"
    # The default preset is unchanged, and both hold the same data.
    plain = initlab.get_task("mnist1d")
    assert (plain.defaults["optimizer"], plain.defaults["learning_rate"],
            plain.defaults["steps"]) == ("sgd", 0.1, 3000)  # fmt: skip
    np.testing.assert_array_equal(plain.x_train, ref.x_train)
    with pytest.raises(ValueError, match="Did you mean 'reference'"):
        initlab.get_task("mnist1d", preset="refrence")


def test_a_short_reference_run_learns():
    # 120 Adam steps (3 epochs) of ConvBase, 2 restarts. A model at chance
    # scores Binomial(1000, 0.1) / 1000 on the 1000 test signals: std
    # sqrt(0.1 * 0.9 / 1000) = 0.0095, so chance + 6 std = 0.157 is a margin
    # an unlearned model passes with probability ~1e-9.
    task = initlab.get_task("mnist1d", preset="reference")
    out = initlab.train(task, ["torch_default"], model="mnist1d_conv",
                        num_restarts=2, steps=120, eval_every=60, seed=0,
                        progress=False)  # fmt: skip
    loss = out.curves["train_loss"]  # (restart, evaluation)
    assert np.all(loss[:, -1] < 0.5 * loss[:, 0]), loss
    chance = 0.1 + 6 * math.sqrt(0.1 * 0.9 / len(task.y_test))
    assert np.all(out.values("test_accuracy", "torch_default") > chance)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="positive int"):
        M.conv_base(channels=0)
    with pytest.raises(TypeError, match="kernel_sizes"):
        M.conv_base(kernel_sizes=5)
    with pytest.raises(ValueError, match="at least one conv"):
        M.conv_base(kernel_sizes=())
    with pytest.raises(ValueError, match="does not fit"):
        M.conv_base(in_length=2)
    with pytest.raises(TypeError, match="bidirectional"):
        M.gru_base(bidirectional=1)
    model = M.conv_base()
    with pytest.raises(ValueError, match="length 40"):
        model.apply(model.init(KEY), jnp.ones((2, 39)))
    model = M.gru_base()
    with pytest.raises(ValueError, match="40 time steps"):
        model.apply(model.init(KEY), jnp.ones((2, 39)))
    net = M.ResidualMLP(rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"expected input \(batch, 40\)"):
        net(jnp.ones((2, 39)))
