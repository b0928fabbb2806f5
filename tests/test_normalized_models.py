"""CNN2D and DenseResNet: shapes, counts, convolutions, Fixup's init, BatchNorm."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import initlab
from initlab import models as M
from initlab.models.normalized import CNN2D, DenseResNet, _avg_pool2, _conv2d_same
from initlab.tree_paths import leaf_path

KEY = jax.random.key(0)
# Cheap to compile (the truncated normals of He/LeCun cost seconds per model).
UNIFORM = initlab.random_uniform(-0.3, 0.3)


def _count(model):
    """Scalars in a model's parameters: a PureModel's or an NNX module class's
    (built abstractly, nothing computed)."""
    if isinstance(model, M.PureModel):
        params = jax.eval_shape(model.init, KEY)
    else:
        cls, args, kwargs = model
        params = nnx.state(
            nnx.eval_shape(lambda: cls(*args, rngs=nnx.Rngs(0), **kwargs)), nnx.Param
        )
    return sum(math.prod(x.shape) for x in jax.tree.leaves(params))


# ----- shapes and parameter counts ----------------------------------------------


def test_cnn2d_counts_by_hand_and_takes_flat_or_image_inputs():
    # 3x3 convs 1->16->32, pooled 8x8 -> 4x4 -> 2x2, a (2*2*32)->10 head.
    # Without BatchNorm each conv has a bias:
    # (9*1*16 + 16) + (9*16*32 + 32) + (128*10 + 10) = 160 + 4640 + 1290.
    assert _count(M.cnn2d()) == 6090
    # With BatchNorm the convs lose their bias and each BatchNorm has a scale
    # and a shift per channel: (144 + 2*16) + (4608 + 2*32) + 1290.
    assert _count((CNN2D, (), dict(batch_norm=True))) == 6138
    # Dropout adds no parameters; 3 input channels, 5x5 windows, 4 classes:
    # (25*3*8 + 8) + (25*8*4 + 4) + (2*2*4*4 + 4).
    wide = ((8, 8, 3), (8, 4), 4)
    assert _count((CNN2D, wide, dict(kernel_size=5, dropout=0.5))) == 608 + 804 + 68
    model = M.cnn2d(channels=(4, 8), batch_norm=True, dropout=0.2)
    params = jax.jit(lambda k: model.init(k, UNIFORM, None))(KEY)
    state = jax.jit(model.start_state)(KEY)
    forward = jax.jit(model.eval_apply)
    flat = jnp.linspace(-1.0, 1.0, 3 * 64).reshape(3, 64)
    out = forward(params, state, flat)
    assert out.shape == (3, 10)
    # The same pixels as (batch, 8, 8) and (batch, 8, 8, 1), row by row.
    for x in (flat.reshape(3, 8, 8), flat.reshape(3, 8, 8, 1)):
        np.testing.assert_allclose(forward(params, state, x), out, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected input \(batch, 8, 8, 1\)"):
        jax.eval_shape(model.eval_apply, params, state, jnp.ones((3, 40)))


@pytest.mark.parametrize("branch_layers", [2, 3])
def test_resnet_counts_by_hand(branch_layers):
    d, c, w, blocks, m = 64, 10, 16, 3, branch_layers

    def model(norm):
        kwargs = dict(norm=norm, num_blocks=blocks, width=w, branch_layers=m)
        return DenseResNet, (d, c), kwargs

    head = w * c + c
    # none: every dense layer has a bias.
    assert _count(model("none")) == (d * w + w) + blocks * m * (w * w + w) + head
    # batch: no bias before BatchNorm; BatchNorm's scale and shift (2w) instead.
    assert (
        _count(model("batch")) == (d * w + 2 * w) + blocks * m * (w * w + 2 * w) + head
    )
    # fixup: no per-unit bias but the head's; scalars: 1 after the stem, per
    # block m before the layers, m after them and 1 multiplier, 1 before the head.
    assert _count(model("fixup")) == (d * w + 1) + blocks * (m * w * w + 2 * m + 1) + (
        1 + head
    )
    for norm in ("none", "fixup"):  # stateless: the pure models build abstractly
        net = M.resnet(d, c, norm, num_blocks=blocks, width=w, branch_layers=m)
        assert _count(net) == _count(model(norm)) and not net.stateful
        params = jax.eval_shape(net.init, KEY)
        x = jnp.ones((5, 8, 8))  # flattened to 64 features
        assert jax.eval_shape(net.apply, params, x).shape == (5, c)


def test_models_are_registered_and_build_from_a_config():
    assert {"cnn2d", "resnet"} <= set(M.MODELS)
    task = initlab.get_task("digits")
    model = initlab.engine.build_model({"name": "resnet", "norm": "fixup",
                                        "num_blocks": 2, "width": 8}, task)  # fmt: skip
    assert model.name == "resnet-fixup-2x8"
    assert initlab.engine.build_model("cnn2d", task).name == "cnn2d-16-32"


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="unknown norm 'layer'.*'batch'"):
        M.resnet(norm="layer")
    with pytest.raises(ValueError, match="branch_layers must be an int >= 2"):
        M.resnet(branch_layers=1)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        M.cnn2d(dropout=1.0)
    with pytest.raises(ValueError, match="at most 3 layers"):
        M.cnn2d(channels=(4, 4, 4, 4))
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        M.cnn2d(image_shape=(8, 8))
    with pytest.raises(ValueError, match=r"expected input \(batch, 64\)"):
        net = M.resnet(num_blocks=1, width=4, norm="none")
        jax.eval_shape(net.apply, jax.eval_shape(net.init, KEY), jnp.ones((2, 40)))


# ----- convolutions: patches @ kernel == lax --------------------------------------


@pytest.mark.parametrize(
    "height, width, k, stride", [(8, 8, 3, 1), (8, 8, 3, 2), (7, 5, 4, 2), (5, 6, 2, 3)]
)
def test_conv2d_patches_equal_lax_convolution(height, width, k, stride):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, height, width, 3)).astype(np.float32)
    kernel = rng.normal(size=(k, k, 3, 5)).astype(np.float32)
    bias = rng.normal(size=(5,)).astype(np.float32)
    strides = (stride, stride)
    ours = jax.jit(_conv2d_same, static_argnums=3)(x, kernel, bias, strides)
    lax = jax.jit(
        lambda x, w: jax.lax.conv_general_dilated(
            x, w, strides, "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
    )(x, kernel) + bias.reshape(1, 1, 1, 5)
    assert ours.shape == lax.shape
    # float32 sums of k*k*3 products in another order: ~1e-6 apart.
    np.testing.assert_allclose(ours, lax, rtol=1e-5, atol=1e-5)


def test_cnn2d_forward_equals_flax_conv_and_pooling():
    # The model's own forward pass against one written with nnx.Conv (lax.conv)
    # and flax's avg_pool on the same parameters.
    net = CNN2D((8, 8, 1), (4, 6), 10, kernel_init=UNIFORM, bias_init=UNIFORM,
                rngs=nnx.Rngs(0))  # fmt: skip
    x = np.random.default_rng(4).normal(size=(3, 64)).astype(np.float32)

    @nnx.jit
    def reference(net, x):
        h = x.reshape(3, 8, 8, 1)
        for conv in net.convs:
            h = nnx.avg_pool(jax.nn.relu(conv(h)), (2, 2), strides=(2, 2))
        return net.head(h.reshape(3, -1))

    ours = nnx.jit(lambda net, x: net(x))(net, x)
    np.testing.assert_allclose(ours, reference(net, x), rtol=1e-5, atol=1e-5)
    odd = np.random.default_rng(5).normal(size=(2, 5, 7, 3)).astype(np.float32)
    pool = jax.jit(lambda h: nnx.avg_pool(h, (2, 2), strides=(2, 2)))
    np.testing.assert_allclose(jax.jit(_avg_pool2)(odd), pool(odd), rtol=1e-6)


# ----- Fixup's initialization -------------------------------------------------------


def _kernels(net, pattern):
    return [leaf for path, leaf in _named(net) if pattern(path)]


def _named(net):
    flat = jax.tree_util.tree_flatten_with_path(nnx.state(net, nnx.Param))[0]
    return [(leaf_path(p), np.asarray(v)) for p, v in flat]


@pytest.mark.parametrize("m", [2, 3])
def test_fixup_zeroes_last_layers_and_scales_the_others(m):
    blocks, width, d = 16, 128, 64
    net = DenseResNet(d, 10, norm="fixup", num_blocks=blocks, width=width,
                      branch_layers=m, rngs=nnx.Rngs(7))  # fmt: skip
    named = dict(_named(net))
    # The last layer of every branch and the classification layer start at 0.
    for b in range(blocks):
        assert np.all(named[f"blocks/{b}/layers/{m - 1}/kernel"] == 0)
    assert np.all(named["head/kernel"] == 0) and np.all(named["head/bias"] == 0)
    # Scalar biases at 0, multipliers at 1.
    for b in range(blocks):
        assert np.all(named[f"blocks/{b}/bias_in"] == 0)
        assert np.all(named[f"blocks/{b}/bias_out"] == 0)
        assert named[f"blocks/{b}/multiplier"] == 1
    assert named["stem_bias"] == 0 and named["head_bias"] == 0
    # The other branch layers: He normal (variance 2 / fan_in) times
    # L^{-1/(2m-2)}, so variance 2 / width * L^{-1/(m-1)}; the stem unscaled,
    # 2 / d. The mean square of n iid zero-mean draws has relative standard
    # error sqrt((kurtosis - 1) / n) <= sqrt(2 / n) (He's normal is truncated
    # at 2 std: kurtosis < 3). n = 16 * 128^2 * (m - 1) >= 262144 -> <= 0.28 %
    # (stem: 8192 draws, 1.6 %); 5 standard errors.
    inner = np.concatenate([
        named[f"blocks/{b}/layers/{j}/kernel"].ravel()
        for b in range(blocks) for j in range(m - 1)
    ])  # fmt: skip
    expected = 2.0 / width * blocks ** (-1.0 / (m - 1))
    assert abs(np.mean(inner**2) / expected - 1) < 5 * math.sqrt(2 / inner.size)
    stem = named["stem/kernel"].ravel()
    assert abs(np.mean(stem**2) / (2.0 / d) - 1) < 5 * math.sqrt(2 / stem.size)


@pytest.mark.parametrize("norm", M.NORMS)
def test_every_layer_uses_the_engines_one_kernel_init(norm):
    # The engine passes one kernel_init; the model decides how each layer uses
    # it. Doubling it (same key) doubles every kernel that draws from it: all
    # of them without Fixup; with Fixup the stem and the scaled inner branch
    # layers, while its zero layers stay zero.
    base = initlab.lecun_normal()

    def kernels(init):
        net = DenseResNet(64, 10, norm=norm, num_blocks=3, width=16,
                          kernel_init=init, rngs=nnx.Rngs(3))  # fmt: skip
        return {p: v for p, v in _named(net) if p.endswith("kernel")}

    one, two = kernels(base), kernels(initlab.depth_scaled(base, 2.0))
    assert len(one) == 1 + 3 * 2 + 1  # stem, 3 blocks x 2 layers, head
    for path, value in one.items():
        np.testing.assert_allclose(two[path], 2.0 * value, rtol=1e-6)
        zero = norm == "fixup" and (path == "head/kernel" or "layers/1" in path)
        assert np.all(value == 0) == zero, path


def test_a_fixup_net_starts_as_a_zero_function():
    # Zero last branch layers and a zero classifier: the logits are 0 at init
    # (the loss log 10 on 10 classes), whatever the input's scale.
    net = DenseResNet(64, 10, norm="fixup", num_blocks=3, width=16, rngs=nnx.Rngs(0))
    x = 100.0 * jax.random.normal(jax.random.key(1), (4, 64))
    assert np.all(nnx.jit(lambda net, x: net(x))(net, x) == 0)


# ----- BatchNorm and dropout through the engine ---------------------------------


def _hand_trained(init_key, kernel_init, task, steps, lr):
    """One restart trained by hand: the NNX module, optax SGD, full batch."""
    net = DenseResNet(64, 10, norm="batch", num_blocks=2, width=16,
                      kernel_init=kernel_init, rngs=nnx.Rngs(init_key))  # fmt: skip
    net.train()
    optimizer = nnx.Optimizer(net, optax.sgd(lr), wrt=nnx.Param)
    x, y = jnp.asarray(task.x_train), jnp.asarray(task.y_train)

    @nnx.jit
    def step(net, optimizer):
        grads = nnx.grad(lambda net: task.loss(net(x), y))(net)
        optimizer.update(net, grads)

    for _ in range(steps):
        step(net, optimizer)
    return net


def test_batch_statistics_train_like_a_hand_written_loop_and_eval_uses_them():
    task = initlab.get_task("digits")
    steps, lr = 12, 0.1
    model = M.resnet(norm="batch", num_blocks=2, width=16)
    out = initlab.train(task, {"u": UNIFORM}, model=model, num_restarts=1,
                        steps=steps, batch_size=len(task.x_train),
                        learning_rate=lr, eval_every=steps, keep_params=True,
                        progress=False)  # fmt: skip
    init_keys, _ = initlab.stream_keys(0, out.init_seed, out.data_seed)
    net = _hand_trained(init_keys[0], UNIFORM, task, steps, lr)
    # The running averages moved off their start (mean 0, var 1) ...
    ours = dict(_stats(out.final_state, restart=0))
    hand = dict(_stats(nnx.state(net, nnx.BatchStat)))
    assert set(ours) == set(hand) and len(ours) == 2 * 5  # mean, var x 5 BNs
    for path, value in hand.items():
        assert not np.allclose(value, 0 if path.endswith("mean") else 1), path
        # ... to the hand loop's (12 steps of float32 rounding apart).
        np.testing.assert_allclose(ours[path], value, rtol=1e-4, atol=1e-5)
    # Evaluation uses them: the metrics are the hand loop's in eval mode ...
    net.eval()
    x_test, y_test = jnp.asarray(task.x_test), jnp.asarray(task.y_test)
    hand_metrics = task.metrics(net(x_test), y_test)
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(out.final[f"test_{name}"][0],
                                   hand_metrics[name], rtol=1e-4)  # fmt: skip
    # ... and not those of the test batch's own statistics (train mode).
    net.train()
    batch_loss = task.metrics(net(x_test), y_test)["loss"]
    assert abs(float(batch_loss) - out.final["test_loss"][0]) > 1e-3


def _stats(state, restart=None):
    flat = jax.tree_util.tree_flatten_with_path(state)[0]
    for path, value in flat:
        name = leaf_path(path)
        if name.endswith(("mean", "var")):
            yield name, np.asarray(value if restart is None else value[restart])


def test_dropout_draws_from_the_step_key_and_eval_is_deterministic():
    model = M.cnn2d(channels=(4, 8), dropout=0.5)
    params = jax.jit(lambda k: model.init(k, UNIFORM, None))(KEY)
    state = jax.jit(model.start_state)(KEY)
    x = np.random.default_rng(1).normal(size=(6, 64)).astype(np.float32)
    train = jax.jit(model.train_apply)
    a, _ = train(params, state, x, jax.random.key(10))
    b, _ = train(params, state, x, jax.random.key(11))
    again, _ = train(params, state, x, jax.random.key(10))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, again)
    # Eval mode: no dropout, the forward pass of the same net without it.
    plain = M.cnn2d(channels=(4, 8))
    np.testing.assert_allclose(jax.jit(model.eval_apply)(params, state, x),
                               jax.jit(plain.apply)(params, x), rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    "make, floor",
    [(lambda: M.cnn2d(channels=(4, 8), batch_norm=True, dropout=0.1), 0.6),
     (lambda: M.resnet(norm="fixup", num_blocks=2, width=16), 0.8)],
    ids=["cnn2d-bn-dropout", "resnet-fixup"],
)  # fmt: skip
def test_a_short_run_learns(make, floor):
    model = make()
    out = initlab.train("digits", {"u": UNIFORM}, model=model, num_restarts=2,
                        steps=100, eval_every=100, progress=False)  # fmt: skip
    # Chance is 0.1 on the 10 balanced digit classes; these sizes reached
    # 0.77-0.81 (cnn2d) and 0.89 (resnet) in 100 steps with these keys.
    assert not out.diverged.any()
    assert np.all(out.final["test_accuracy"] > floor), out.final["test_accuracy"]
