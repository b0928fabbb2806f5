"""Weight layouts: axis sequences in fans, against jax.nn.initializers and in the
multi-axis kernels of Flax (LinearGeneral, MultiHeadAttention, Einsum)."""

import importlib
import math

import jax
import numpy as np
import pytest
from flax import nnx

import initlab

KEY = jax.random.key(3)
SHAPE = (4, 8, 16, 3)
LAYOUTS = [
    {"in_axis": -2, "out_axis": -1},
    {"in_axis": (0, 1), "out_axis": 2, "batch_axis": 3},
    {"in_axis": 1, "out_axis": (0, 2), "batch_axis": ()},
    {"in_axis": (2, 0), "out_axis": (3,), "batch_axis": (1,)},
    {"in_axis": (-4,), "out_axis": -1, "batch_axis": -2},
]
FAN_BASED = ["variance_scaling", "lecun_uniform", "lecun_normal", "glorot_uniform",
             "glorot_normal", "he_uniform", "he_normal", "kaiming_uniform",
             "kaiming_normal", "xavier_uniform", "xavier_normal", "torch_default",
             "edge_of_chaos"]  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fans_are_jaxs(layout):
    # JAX's own (private) fan computation, where this JAX still has it.
    module = importlib.import_module("jax._src.nn.initializers")
    compute_fans = getattr(module, "_compute_fans", None)
    if compute_fans is None:
        pytest.skip("this JAX has no jax._src.nn.initializers._compute_fans")
    assert initlab.fans(SHAPE, **layout) == tuple(compute_fans(SHAPE, **layout))


def test_fans_of_sequences_by_hand():
    # (in, heads, head_dim) query kernel: inputs one axis, outputs two.
    assert initlab.fans((256, 8, 64), in_axis=0, out_axis=(1, 2)) == (256, 512)
    # (heads, head_dim, out) output kernel: inputs two axes.
    assert initlab.fans((8, 64, 256), in_axis=(0, 1), out_axis=2) == (512, 256)
    # Unnamed axes are the receptive field; batch axes count for neither.
    assert initlab.fans((3, 5, 7, 11), in_axis=(1,), out_axis=3) == (105, 231)
    assert initlab.fans((3, 5, 7, 11), 1, 3, batch_axis=(0, 2)) == (5, 11)
    with pytest.raises(ValueError, match="different axes"):
        initlab.fans((4, 4, 4), in_axis=(0, 1), out_axis=1)
    with pytest.raises(ValueError, match="out of range"):
        initlab.fans((4, 4), in_axis=(0, 2))
    with pytest.raises(ValueError, match="at least one axis"):
        initlab.glorot_normal(in_axis=())
    with pytest.raises(TypeError, match="sequence of ints"):
        initlab.he_normal(out_axis="1")
    with pytest.raises(TypeError, match="every axis in in_axis"):
        initlab.he_normal(in_axis=(0, 1.0))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "name, dist",
    [(n, None) for n in ["lecun_uniform", "lecun_normal", "glorot_uniform",
                         "glorot_normal", "he_uniform", "he_normal"]]
    + [("variance_scaling", d)
       for d in ["truncated_normal", "untruncated_normal", "uniform"]],
)  # fmt: skip
def test_values_are_jaxs(name, dist, layout):
    # Same draw algorithm as jax.nn.initializers (checked by reading
    # jax/_src/nn/initializers.py): the same sampler on the same key
    # (truncated_normal(-2, 2), normal, uniform), times the same scalar
    # sqrt(variance) (/0.8796 for the truncated normal; uniform: JAX draws
    # U(-1, 1) then scales, initlab draws U(-b, b) from the same bits). Only
    # the scalar's rounding differs (JAX rounds in float32, initlab once in
    # float64), so entries agree to 2 ulps of themselves, or of the bound.
    for mode in ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]:
        if name == "variance_scaling":
            ours = initlab.variance_scaling(2.0, mode, dist, **layout)
            jax_dist = "normal" if dist == "untruncated_normal" else dist
            theirs = jax.nn.initializers.variance_scaling(2.0, mode, jax_dist, **layout)
        else:
            if mode != "fan_in":
                continue
            ours = getattr(initlab, name)(**layout)
            theirs = getattr(jax.nn.initializers, name)(**layout)
        a, b = np.asarray(ours(KEY, SHAPE)), np.asarray(theirs(KEY, SHAPE))
        ulp = np.spacing(np.float32(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=2 * 2**-23, atol=2 * ulp)


@pytest.mark.parametrize("name", FAN_BASED)
def test_every_fan_based_initializer_takes_axis_sequences(name):
    # The variance follows the fans of the layout: (in, heads, head_dim) with
    # in_axis=0, out_axis=(1, 2) has fan_in 256, fan_out 512.
    shape, layout = (256, 8, 64), {"in_axis": 0, "out_axis": (1, 2)}
    fan_in, fan_out = 256, 512
    init = initlab.get({"name": name, **layout})
    assert init.config["out_axis"] == (1, 2)
    x = np.asarray(init(KEY, shape), np.float64)
    expected = {
        "variance_scaling": 1 / fan_in, "lecun_uniform": 1 / fan_in,
        "lecun_normal": 1 / fan_in, "glorot_uniform": 2 / (fan_in + fan_out),
        "glorot_normal": 2 / (fan_in + fan_out), "he_uniform": 2 / fan_in,
        "he_normal": 2 / fan_in, "kaiming_uniform": 2 / fan_in,
        "kaiming_normal": 2 / fan_in, "xavier_uniform": 2 / (fan_in + fan_out),
        "xavier_normal": 2 / (fan_in + fan_out), "torch_default": 1 / (3 * fan_in),
        "edge_of_chaos": initlab.critical_sigma_w() ** 2 / fan_in,
    }[name]  # fmt: skip
    # n = 131072 draws; the sample variance has relative std <= sqrt(2 / n)
    # (kurtosis <= 3: uniform, truncated or plain normal); 5 standard errors.
    assert abs(x.var() / expected - 1) < 5 * math.sqrt(2 / x.size), (name, x.var())
    assert initlab.get(initlab.to_config(init)) == init


# ----- Flax's multi-axis kernels ------------------------------------------------
# Each kernel has n >= 65536 entries; the sample variance of n draws has
# relative std sqrt((kurtosis - 1) / n) <= sqrt(2 / n) <= 0.0055 (kurtosis 1.8
# uniform, 2.36 truncated normal, 3 normal). Checks allow 5 of those.


def check_variance(kernel, variance):
    x = np.asarray(kernel, np.float64)
    assert abs(x.var() / variance - 1) < 5 * math.sqrt(2 / x.size), (x.var(), variance)


def test_linear_general_kernels_have_the_intended_variance():
    # nnx.LinearGeneral reshapes its kernel to (prod(in), prod(out)) before it
    # calls kernel_init, so the default layout already gives fan_in = 8 * 32.
    init = initlab.he_normal()
    layer = nnx.LinearGeneral(
        (8, 32), (4, 64), axis=(-2, -1), kernel_init=init, rngs=nnx.Rngs(0)
    )
    kernel = layer.kernel[...]
    assert kernel.shape == (8, 32, 4, 64)
    check_variance(kernel, 2 / 256)
    # ... and it is initlab's draw of the flat shape, reshaped.
    flat = initlab.he_normal()(nnx.Rngs(0).params(), (256, 256))
    np.testing.assert_array_equal(kernel, flat.reshape(kernel.shape))


def test_multi_head_attention_kernels_have_the_intended_variance():
    heads, head_dim, features = 8, 64, 256
    attention = nnx.MultiHeadAttention(
        num_heads=heads, in_features=features, qkv_features=heads * head_dim,
        kernel_init=initlab.glorot_uniform(), decode=False, rngs=nnx.Rngs(0),
    )  # fmt: skip
    for name in ("query", "key", "value"):  # (in, heads, head_dim)
        kernel = getattr(attention, name).kernel[...]
        assert kernel.shape == (features, heads, head_dim)
        check_variance(kernel, 2 / (features + heads * head_dim))
    out = attention.out.kernel[...]  # (heads, head_dim, out)
    assert out.shape == (heads, head_dim, features)
    check_variance(out, 2 / (heads * head_dim + features))


def test_einsum_kernels_need_and_get_axis_sequences():
    # nnx.Einsum hands kernel_init the kernel's own shape. For "ndh" in
    # "btd,ndh->btnh" the input axis is d alone (fan_in 256); the default
    # layout would take n as a receptive field (fan_in 8 * 256).
    n, d, h = 8, 256, 64
    init = initlab.he_normal(in_axis=1, out_axis=(0, 2))
    layer = nnx.Einsum("btd,ndh->btnh", (n, d, h), kernel_init=init, rngs=nnx.Rngs(0))
    check_variance(layer.kernel[...], 2 / d)
    default = nnx.Einsum("btd,ndh->btnh", (n, d, h), kernel_init=initlab.he_normal(),
                         rngs=nnx.Rngs(0))  # fmt: skip
    check_variance(default.kernel[...], 2 / (n * d))
    # The output projection "btnh,nhd->btd" contracts two axes: in_axis=(0, 1).
    proj = nnx.Einsum("btnh,nhd->btd", (n, h, d),
                      kernel_init=initlab.lecun_normal(in_axis=(0, 1), out_axis=2),
                      rngs=nnx.Rngs(1))  # fmt: skip
    check_variance(proj.kernel[...], 1 / (n * h))
    # The signal keeps its second moment through it: y = sum over n*h inputs of
    # x w with E[x^2] = 1, so Var(y) = n h Var(w) = 1. Over 2 * 16 * 256 = 8192
    # outputs (correlated only through the shared kernel, whose sample
    # variance is within 2 % of its own), allow 5 standard errors of
    # sqrt(2 / 8192) plus that 2 %.
    x = jax.random.normal(jax.random.key(2), (2, 16, n, h))
    y = np.asarray(proj(x), np.float64)
    assert abs(y.var() - 1) < 5 * math.sqrt(2 / y.size) + 0.02
