"""Tasks: shapes, dtypes, splits, standardization, determinism, losses."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from initlab import tasks as T


def test_xor_is_the_classic_setting():
    task = T.get_task("xor")
    np.testing.assert_array_equal(task.x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(task.y_train, [0, 1, 1, 0])
    np.testing.assert_array_equal(task.x_test, task.x_train)
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int32
    assert task.defaults["batch_size"] == 4 and task.defaults["learning_rate"] == 0.5
    # Hand-computed: outputs .9 .2 .6 .4 against 0 1 1 0:
    # 1/2 (.81 + .64 + .16 + .16) = 0.885; on the right side of .5: #3 only.
    outputs = jnp.array([[0.9], [0.2], [0.6], [0.4]])
    m = task.metrics(outputs, jnp.asarray(task.y_train))
    np.testing.assert_allclose(m["loss"], 0.885, rtol=1e-6)
    np.testing.assert_allclose(m["accuracy"], 0.5)
    assert m["solved"] == 0.0
    solved = task.metrics(jnp.array([[0.1], [0.6], [0.9], [0.4]]), task.y_train)
    assert solved["solved"] == 1.0 and solved["accuracy"] == 1.0
    np.testing.assert_array_equal(
        task.correct(outputs, task.y_train), [False, False, True, True]
    )
    # The default model: 2-2-1, sigmoid hidden and output (outputs in (0, 1)).
    model = task.default_model()
    params = model.init(jax.random.key(0), "random_uniform", "random_uniform")
    out = model.apply(params, task.x_train)
    assert out.shape == (4, 1) and np.all((out > 0) & (out < 1))
    assert [v.shape for v in jax.tree.leaves(params)] == [(2,), (2, 2), (1,), (2, 1)]


def test_digits_split_is_stratified_and_standardized():
    task = T.get_task("digits")
    assert task.x_train.shape == (1257, 64) and task.x_test.shape == (540, 64)
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int32
    assert task.num_classes == 10
    # Stratified: every class's share is the same in train and test (+- 1 image).
    tr = np.bincount(task.y_train, minlength=10)
    te = np.bincount(task.y_test, minlength=10)
    assert np.all(np.abs(te - 0.3 * (tr + te)) <= 1)
    # Train statistics: mean 0; std 1 except pixels constant in train (std 0).
    np.testing.assert_allclose(task.x_train.mean(0), 0, atol=1e-5)
    std = task.x_train.std(0)
    assert np.all((np.abs(std - 1) < 1e-4) | (std == 0)) and np.sum(std == 0) >= 1
    assert np.all(np.isfinite(task.x_test))
    again = T.get_task("digits")
    np.testing.assert_array_equal(again.x_test, task.x_test)
    assert not task.x_train.flags.writeable
    assert task.defaults["batch_size"] == 128 and task.defaults["learning_rate"] == 0.1


def test_mnist1d_generated_locally_and_global_rng_untouched():
    T._mnist1d_arrays.cache_clear()
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state(), random.getstate()
    task = T.get_task("mnist1d")
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert random.getstate() == py_state
    assert task.x_train.shape == (4000, 40) and task.x_test.shape == (1000, 40)
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int32
    assert set(np.unique(task.y_train)) == set(range(10))
    # The package's standardization (over all 5000 examples): mean 0, std 1.
    x_all = np.concatenate([task.x_train, task.x_test])
    assert abs(x_all.mean()) < 1e-4 and abs(x_all.std() - 1) < 1e-4
    seq = T.get_task("mnist1d", channels=True, n_train=100, n_test=50)
    assert seq.x_train.shape == (100, 40, 1) and seq.x_test.shape == (50, 40, 1)
    # Deterministic (and cached): the same options give the same arrays.
    again = T.get_task("mnist1d", channels=True, n_train=100, n_test=50)
    np.testing.assert_array_equal(again.x_test, seq.x_test)
    np.testing.assert_array_equal(again.y_train, seq.y_train)
    assert T.get_task("mnist1d").x_train is not task.x_train  # private copies
    assert seq.default_model().apply(
        seq.default_model().init(jax.random.key(0), "zeros", "zeros"), seq.x_test
    ).shape == (50, 10)


def test_spirals_and_teacher():
    a = T.get_task("spirals", n_points=50, noise=0.0)
    b = T.get_task("spirals", n_points=50, noise=0.0)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape == (100, 2) and np.bincount(a.y_train).tolist() == [50, 50]
    # Noise-free: radius = theta / (turns 2 pi) and class 1 is class 0 rotated by
    # pi, so every point lies on r = angle / (turns 2 pi) of its own arm.
    x, y = a.x_train, a.y_train
    r = np.hypot(x[:, 0], x[:, 1])
    angle = np.arctan2(x[:, 1], x[:, 0]) - np.pi * y
    assert np.allclose(np.cos(angle), np.cos(r * 1.5 * 2 * np.pi), atol=1e-4)
    assert not np.array_equal(a.x_train, a.x_test)

    t = T.get_task("teacher", n_train=200, n_test=100, noise=0.0)
    assert t.kind == "regression" and t.num_classes is None and t.correct is None
    assert t.y_train.shape == (200, 1) and t.y_train.dtype == np.float32
    np.testing.assert_allclose(t.y_train.std(), 1.0, rtol=1e-5)
    m = t.metrics(jnp.asarray(t.y_test), t.y_test)
    assert m["loss"] == 0 and m["r2"] == 1
    m0 = t.metrics(jnp.zeros_like(t.y_train), t.y_train)
    np.testing.assert_allclose(m0["loss"], np.mean(t.y_train**2), rtol=1e-5)


def test_losses_by_hand():
    logits = jnp.array([[0.0, 0.0], [2.0, 0.0]])
    expected = (np.log(2) + np.log(1 + np.exp(-2.0))) / 2
    np.testing.assert_allclose(T.cross_entropy(logits, jnp.array([1, 0])), expected,
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(T.mse(jnp.array([[1.0], [3.0]]), jnp.array([0, 1])), 2.5)
    np.testing.assert_allclose(
        T.half_sse(jnp.array([[1.0, 1.0]]), jnp.zeros((1, 2))), 1
    )
    with pytest.raises(ValueError, match="do not match"):
        T.mse(jnp.zeros((2, 2)), jnp.zeros(3))


def test_make_task_validates_and_defaults():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3, 2))
    y = np.arange(30) % 3
    task = T.make_task("mine", x[:20], y[:20], x[20:], y[20:], kind="classification")
    assert task.num_classes == 3 and task.x_train.dtype == np.float32
    assert task.defaults["optimizer"] == "sgd"
    model = task.default_model()
    out = model.apply(model.init(jax.random.key(0), "ones", "zeros"), task.x_test)
    assert out.shape == (10, 3)  # flattened 3x2 inputs, 3 classes
    reg = T.make_task("r", x[:20], y[:20] * 1.5, x[20:], y[20:], kind="regression",
                      defaults={"steps": 5})  # fmt: skip
    assert reg.y_train.shape == (20, 1) and reg.defaults["steps"] == 5
    bad = [
        (dict(kind="clustering"), ValueError, "kind must be"),
        (dict(kind="classification", loss="hinge"), ValueError, "unknown loss"),
        (dict(kind="classification", loss=3), TypeError, "loss must be"),
        (dict(kind="classification", num_classes=2), ValueError, "num_classes"),
        (dict(kind="classification", loss="mse"), ValueError, "one-hot"),
        (dict(kind="regression", loss="cross_entropy"), ValueError, "classification"),
    ]
    for kwargs, err, msg in bad:
        with pytest.raises(err, match=msg):
            T.make_task("bad", x[:20], y[:20], x[20:], y[20:], **kwargs)
    with pytest.raises(ValueError, match="has 20 examples but y_train has 19"):
        T.make_task("bad", x[:20], y[:19], x[20:], y[20:], kind="classification")
    with pytest.raises(ValueError, match="same feature shape"):
        T.make_task("bad", x[:20], y[:20], x[20:, :2], y[20:], kind="classification")
    with pytest.raises(ValueError, match="integer labels"):
        T.make_task("bad", x[:20], y[:20] + 0.5, x[20:], y[20:], kind="classification")
    with pytest.raises(ValueError, match="at least 2 axes"):
        T.make_task("bad", y[:20], y[:20], y[20:], y[20:], kind="classification")


def test_get_task_errors():
    with pytest.raises(ValueError, match="Did you mean 'digits'.*Valid names"):
        T.get_task("digit")
    with pytest.raises(ValueError, match="unknown option.*n_pts"):
        T.get_task("spirals", n_pts=3)
    with pytest.raises(ValueError, match="positive int"):
        T.get_task("mnist1d", n_train=0)
    with pytest.raises(ValueError, match="test_size"):
        T.get_task("digits", test_size=1.5)
    assert set(T.TASKS) == {"xor", "spirals", "digits", "mnist1d", "teacher"}
