"""Models with state and randomness: batch statistics, dropout, augmentation."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import initlab
from initlab.engine.keys import restart_streams, stream_key

# vmapped vs alone / chunked vs whole: the same per-restart computation, XLA
# may reorder a batched matmul's sums; float32 rounding over 40 steps.
CLOSE = dict(rtol=2e-5, atol=2e-6)


class BNNet(nnx.Module):
    """Linear -> BatchNorm -> ReLU -> (Dropout) -> Linear."""

    def __init__(self, *, rngs, kernel_init=None, bias_init=None, dropout=0.0):
        inits = dict(kernel_init=kernel_init, bias_init=bias_init)
        kw = {k: v for k, v in inits.items() if v is not None}
        self.l1 = nnx.Linear(4, 16, rngs=rngs, **kw)
        self.bn = nnx.BatchNorm(16, momentum=0.8, rngs=rngs)
        self.drop = nnx.Dropout(dropout, rngs=rngs) if dropout else None
        self.l2 = nnx.Linear(16, 2, rngs=rngs, **kw)

    def __call__(self, x):
        h = nnx.relu(self.bn(self.l1(x)))
        if self.drop is not None:
            h = self.drop(h)
        return self.l2(h)


def task(augment=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype(np.float32) * 3 + 1
    y = (x[:, 0] * x[:, 1] > 1).astype(np.int32)
    return initlab.make_task(
        "bn", x[:64], y[:64], x[64:], y[64:], kind="classification",
        defaults=dict(batch_size=16, steps=40, learning_rate=0.1, eval_every=20),
        augment=augment,
    )  # fmt: skip


TASK = task()
BN = initlab.from_nnx(BNNet, name="bn")
BN_DROP = initlab.from_nnx(lambda **kw: BNNet(dropout=0.3, **kw), name="bn-drop")


def run(model=BN, **kw):
    kw = {"num_restarts": 4, "progress": False, **kw}
    return initlab.train(kw.pop("task", TASK), "he_normal", model=model, **kw)


def test_batch_statistics_train_and_evaluation_uses_them_like_a_hand_loop():
    # One restart, full batch, no dropout: the engine against a plain NNX loop.
    out = run(num_restarts=1, batch_size=64, keep_params=True)
    init_key = stream_key(0, "init", [0])[0]
    module = BNNet(rngs=nnx.Rngs(init_key), kernel_init=initlab.he_normal())
    graph, params, rest = nnx.split(module, nnx.Param, ...)
    opt = optax.sgd(0.1)
    opt_state = opt.init(params)
    x, y = jnp.asarray(TASK.x_train), jnp.asarray(TASK.y_train)

    def loss_fn(p, rest):
        rest = jax.tree.map(lambda v: v, rest)  # Variables of this trace level
        m = nnx.merge(graph, p, rest)
        m.train()
        loss = TASK.loss(m(x), y)
        return loss, nnx.split(m, nnx.Param, ...)[2]

    for _ in range(40):
        (_, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, rest)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    m = nnx.merge(graph, params, rest)
    m.eval()
    expected = TASK.metrics(m(jnp.asarray(TASK.x_test)), jnp.asarray(TASK.y_test))
    np.testing.assert_allclose(out.final["test_loss"][0], expected["loss"], **CLOSE)
    mean = out.final_state["bn"]["mean"][0]
    np.testing.assert_allclose(mean, nnx.to_pure_dict(rest)["bn"]["mean"], **CLOSE)
    assert np.abs(mean).max() > 0.01  # the running mean moved off its zeros


def test_dropout_masks_differ_across_restarts_and_steps_same_for_same_keys():
    params = BN_DROP.init(jax.random.key(0))
    state = BN_DROP.start_state(jax.random.key(0))
    x = jnp.asarray(TASK.x_train[:8])
    a, _ = BN_DROP.train_apply(params, state, x, jax.random.key(1))
    b, _ = BN_DROP.train_apply(params, state, x, jax.random.key(1))
    c, _ = BN_DROP.train_apply(params, state, x, jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(BN_DROP.eval_apply(params, state, x),
                                  BN_DROP.eval_apply(params, state, x))  # fmt: skip
    # grid_noise: init i // 2 crossed with noise i % 2, data order fixed
    out = run(BN_DROP, design="grid_noise", grid_data=2)
    np.testing.assert_array_equal(out.init_seed, [0, 0, 1, 1])
    np.testing.assert_array_equal(out.noise_seed, [0, 1, 0, 1])
    curves = out.curves["train_loss"]
    assert not np.allclose(curves[0], curves[1])  # same init, other noise
    again = run(BN_DROP, design="grid_noise", grid_data=2)
    np.testing.assert_array_equal(again.curves["train_loss"], curves)


def test_vmapped_equals_alone_and_chunked_equals_whole_with_state_and_dropout():
    whole = run(BN_DROP)
    chunked = run(BN_DROP, chunk_size=3)
    alone = run(BN_DROP, num_restarts=1, first_restart=2)
    for name in whole.curves:
        np.testing.assert_allclose(chunked.curves[name], whole.curves[name], **CLOSE)
        np.testing.assert_allclose(alone.curves[name][0], whole.curves[name][2],
                                   **CLOSE)  # fmt: skip


def test_designs_hold_the_noise_and_augmentation_streams_fixed():
    i = np.arange(6)
    seeds = restart_streams("fixed_noise", i)
    assert np.all(seeds["noise"] == 0) and np.array_equal(seeds["augment"], i)
    seeds = restart_streams("fixed_augment", i)
    assert np.all(seeds["augment"] == 0) and np.array_equal(seeds["noise"], i)
    seeds = restart_streams("fixed_data", i)
    assert np.all(seeds["data"] == 0) and np.all(seeds["augment"] == 0)
    # With augmentation, restarts that share init and data order differ by it;
    # without, the same design gives identical restarts.
    noisy = task(augment=initlab.tasks.augment.gaussian_noise(0.5))
    kw = dict(model=initlab.models.mlp((8,), 4, 2), design="grid_augment",
              grid_data=2)  # fmt: skip
    with_aug = run(task=noisy, **kw).curves["train_loss"]
    without = run(**kw).curves["train_loss"]
    assert not np.allclose(with_aug[0], with_aug[1])
    np.testing.assert_array_equal(without[0], without[1])


def test_a_batchnorm_run_resumes_to_identical_outcomes(tmp_path):
    first = run(out_dir=tmp_path, chunk_size=2, keep_params=True)
    (tmp_path / "chunks" / "chunk-00001.parquet").unlink()
    again = run(out_dir=tmp_path, chunk_size=2, keep_params=True)
    for name in first.curves:
        np.testing.assert_array_equal(again.curves[name], first.curves[name])
    np.testing.assert_array_equal(again.final_state["bn"]["var"],
                                  first.final_state["bn"]["var"])  # fmt: skip


def test_a_linen_model_with_batch_stats_and_dropout_trains():
    import flax.linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train):
            x = nn.BatchNorm(use_running_average=not train)(nn.Dense(16)(x))
            x = nn.Dropout(0.2, deterministic=not train)(nn.relu(x))
            return nn.Dense(2)(x)

    model = initlab.from_linen(Net(), TASK.x_train[:1])
    out = run(model, keep_params=True)
    loss = out.curves["train_loss"]
    assert np.all(loss[:, -1] < loss[:, 0])
    stats = out.final_state["batch_stats"]["BatchNorm_0"]["mean"]
    assert stats.shape == (4, 16) and not np.allclose(stats[0], stats[1])


def test_digit_shifts_equal_shifting_the_raw_image():
    from sklearn.datasets import load_digits

    t = initlab.get_task("digits", augment="shift")
    x = jnp.asarray(t.x_train[:32])
    moved = np.asarray(t.augment(jax.random.key(0), x))
    # undo the standardization with the train statistics the task used
    raw = load_digits().data
    from initlab.tasks.datasets import _digits_arrays

    _, _, _, _, mean, std = _digits_arrays(0.3, 0)
    before = np.asarray(x) * std + mean
    after = moved * std + mean
    assert raw.min() == 0 and np.allclose(after.min(), 0, atol=1e-4)
    hits = 0
    for b, a in zip(before.reshape(-1, 8, 8), after.reshape(-1, 8, 8), strict=True):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                shifted = np.zeros((10, 10))
                shifted[1 + dy : 9 + dy, 1 + dx : 9 + dx] = b
                if np.allclose(shifted[1:9, 1:9], a, atol=1e-4):
                    hits += 1
                    break
            else:
                continue
            break
    assert hits == 32  # every image is its raw image moved by one of 9 shifts


def test_a_model_with_hidden_state_gets_a_useful_error():
    module = BNNet(rngs=nnx.Rngs(0))
    module.train()

    def apply(params, x):  # mutates the closed-over module's batch statistics
        nnx.update(module, params)
        return module(x)

    model = initlab.from_pure(lambda key: nnx.state(module, nnx.Param), apply)
    with pytest.raises(ValueError, match="changes state it does not return.*from_nnx"):
        initlab.train(TASK, "he_normal", model=model, num_restarts=1, progress=False)


def test_sequential_data_order_ignores_the_data_key():
    # fixed_init: every restart starts from the same params and differs only by
    # its data-order key, which the stored order does not use.
    model = initlab.models.mlp((8,), 4, 2)
    seq = run(model, design="fixed_init", num_restarts=3, data_order="sequential")
    np.testing.assert_array_equal(seq.curves["train_loss"][0],
                                  seq.curves["train_loss"][2])  # fmt: skip
    shuffled = run(model, design="fixed_init", num_restarts=3)
    assert not np.allclose(shuffled.curves["train_loss"][0],
                           shuffled.curves["train_loss"][2])  # fmt: skip
    assert seq.metadata["data_order"] == "sequential"
