"""Hyper-parameter axes: learning rates, optimizer arguments, init scales, one loop."""

import numpy as np
import optax
import pytest

import initlab
from initlab.engine import TrainConfig, plan


def tiny():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 5)).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int32)
    return initlab.make_task(
        "tiny", x[:64], y[:64], x[64:], y[64:], kind="classification",
        defaults=dict(batch_size=4, steps=30, learning_rate=0.2, eval_every=10),
    )  # fmt: skip


TASK = tiny()
# The grid and a separate run do the same per-restart arithmetic (the step
# size read from the optimizer's state instead of a constant); XLA may still
# fuse differently: float32 rounding over 30 steps bounds the difference.
CLOSE = dict(rtol=1e-5, atol=1e-6)


def counted_model():
    traces = []
    model = initlab.models.mlp((16,), 5, 2)

    def counting_apply(params, x):
        traces.append(x.shape)  # runs only while JAX traces
        return model.apply(params, x)

    return initlab.PureModel("counted", model.init, counting_apply), traces


def test_a_learning_rate_grid_equals_separate_runs_and_compiles_once():
    model, traces = counted_model()
    rates = [0.05, 0.2, 0.8]
    inits = ["he_normal", "glorot_uniform"]
    grid = initlab.train(TASK, inits, model=model, learning_rate=rates,
                         num_restarts=3, progress=False)  # fmt: skip
    assert traces.count((4, 5)) == 1  # one training step traced for 2 x 3 cells
    assert len(grid) == 2 * 3 * 3
    np.testing.assert_array_equal(np.unique(grid.coords["learning_rate"]), rates)
    for lr in rates:
        alone = initlab.train(TASK, inits, model=model, learning_rate=lr,
                              num_restarts=3, progress=False)  # fmt: skip
        cell = grid.coords["learning_rate"] == lr
        np.testing.assert_array_equal(grid.restart[cell], alone.restart)
        np.testing.assert_array_equal(grid.init_seed[cell], alone.init_seed)
        for name in alone.curves:
            np.testing.assert_allclose(grid.curves[name][cell], alone.curves[name],
                                       **CLOSE)  # fmt: skip
    labels = grid.by("learning_rate").labels
    assert labels[:3] == ["he_normal lr=0.05", "he_normal lr=0.2", "he_normal lr=0.8"]


def test_optimizer_arguments_and_init_scale_are_axes_too():
    out = initlab.train(TASK, "he_normal", optimizer={"name": "sgd",
                        "momentum": [0.0, 0.9]}, init_scale=[0.5, 2.0],
                        num_restarts=2, keep_params=True, progress=False)  # fmt: skip
    assert set(out.coords) == {"momentum", "init_scale"} and len(out) == 8
    # init_scale multiplies the drawn kernels: same keys, kernels 4x apart
    kernels = out.initial_params["layers"][0]["kernel"]
    small = (out.coords["init_scale"] == 0.5) & (out.coords["momentum"] == 0.0)
    big = (out.coords["init_scale"] == 2.0) & (out.coords["momentum"] == 0.0)
    np.testing.assert_allclose(kernels[big], 4 * kernels[small], rtol=1e-6)
    # momentum 0.9 is optax.sgd(lr, momentum=0.9) run alone
    alone = initlab.train(TASK, initlab.depth_scaled("he_normal", 2.0),
                          optimizer={"name": "sgd", "momentum": 0.9},
                          num_restarts=2, progress=False)  # fmt: skip
    cell = (out.coords["init_scale"] == 2.0) & (out.coords["momentum"] == 0.9)
    np.testing.assert_allclose(out.final["train_loss"][cell],
                               alone.final["train_loss"], **CLOSE)  # fmt: skip


def test_axes_are_saved_planned_and_checked(tmp_path):
    out = initlab.train(TASK, "he_normal", learning_rate=[0.1, 0.3], num_restarts=2,
                        out_dir=tmp_path, progress=False)  # fmt: skip
    back = initlab.Outcomes.load(tmp_path)
    np.testing.assert_array_equal(back.coords["learning_rate"],
                                  out.coords["learning_rate"])  # fmt: skip
    assert back.metadata["learning_rate"] == [0.1, 0.3]
    p = plan(TrainConfig(task=TASK, learning_rate=[0.1, 0.3, 1.0], num_restarts=4))
    assert p.rows == 12
    for bad, needle in (([0.1, -1.0], "number > 0"), ([0.1, float("nan")], "finite"),
                        ([], "empty"), ([0.1, 0.1], "twice")):  # fmt: skip
        with pytest.raises(ValueError, match=needle):
            TrainConfig(learning_rate=bad)
    with pytest.raises(ValueError, match="ignored"):
        TrainConfig(learning_rate=[0.1, 0.2], optimizer=optax.sgd(0.1))
    with pytest.raises(ValueError, match="list of numbers"):
        TrainConfig(optimizer={"name": "sgd", "momentum": ["a"]})
    with pytest.raises(KeyError, match="unknown coordinate"):
        out.by("momentum")


def test_an_optimizer_factory_takes_the_learning_rate_axis():
    def clipped_adam(learning_rate):
        return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))

    out = initlab.train(TASK, "he_normal", optimizer=clipped_adam,
                        learning_rate=[0.001, 0.01], num_restarts=2,
                        progress=False)  # fmt: skip
    slow, fast = (out.final["train_loss"][out.coords["learning_rate"] == lr]
                  for lr in (0.001, 0.01))  # fmt: skip
    assert np.all(fast < slow)
    with pytest.raises(TypeError, match="factory"):
        TrainConfig(optimizer=lambda g: g)
