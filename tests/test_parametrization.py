"""SP / NTK / µP: the table at two widths, the engine, the coordinate check, errors.

The expected factors below are written out from the paper's table (Yang et al.
2022, Table 3, in the mup package's form with the 1/width readout
multiplier; NTK from Yang & Hu 2021), not read from initlab's EXPONENTS, so a
wrong entry there fails here.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab
from initlab.parametrization import (
    Parametrization,
    coord_check,
    coord_ratios,
    scale_by_path,
)
from initlab.tree_paths import leaves_with_paths

BASE = 64
IN, OUT = 64, 10


def expected(name, role, m_in, m_out):
    """(init variance factor, multiplier, SGD lr, Adam lr) of one layer."""
    if name == "sp":
        return 1.0, 1.0, 1.0, 1.0
    if name == "ntk":
        if role in ("hidden", "output"):
            return m_in, m_in**-0.5, 1.0, 1.0
        return 1.0, 1.0, 1.0, 1.0
    table = {  # µP: init variance, multiplier, SGD lr, Adam lr
        "input": (1.0, 1.0, m_out, 1.0),
        "hidden": (1.0, 1.0, m_out / m_in, 1.0 / m_in),
        "output": (m_in, 1.0 / m_in, m_in, 1.0),
        "bias": (1.0, 1.0, m_out, 1.0),
    }
    return table[role]


def roles(width):
    """(path, role, m_in, m_out) of the MLP IN-width-width-OUT."""
    m = width / BASE
    return [("layers/0", "input", 1.0, m), ("layers/1", "hidden", m, m),
            ("layers/2", "output", m, 1.0)]  # fmt: skip


@pytest.mark.parametrize("name", ["sp", "ntk", "mup"])
@pytest.mark.parametrize("width", [256, 1024])
def test_variances_multipliers_and_learning_rates_match_the_table(name, width):
    pm = Parametrization(name, BASE).mlp((width, width), IN, OUT)
    params = pm.model.init(jax.random.key(3), initlab.he_normal(), None)
    leaves = dict(leaves_with_paths(params))
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.01), params)
    sgd = pm.optimizer("sgd")(0.1)
    adam = pm.optimizer("adam")(0.1)
    step_sgd, _ = sgd.update(grads, sgd.init(params), params)
    step_adam, _ = adam.update(grads, adam.init(params), params)
    step_sgd, step_adam = (
        dict(leaves_with_paths(step_sgd)),
        dict(leaves_with_paths(step_adam)),
    )
    effective = dict(leaves_with_paths(pm.effective(params)))
    for path, role, m_in, m_out in roles(width):
        init, mult, lr_sgd, lr_adam = expected(name, role, m_in, m_out)
        kernel = np.asarray(leaves[f"{path}/kernel"], np.float64)
        fan_in = kernel.shape[0]
        # he_normal draws variance 2 / fan_in (truncated normal, corrected).
        # Sample variance of N entries: relative sd sqrt(2 / N) for a normal,
        # less for the truncated one (lighter tails); 5 sd.
        n = kernel.size
        tol = 5 * math.sqrt(2 / n)
        assert kernel.var() == pytest.approx(init * 2 / fan_in, rel=tol), (path, role)
        np.testing.assert_allclose(effective[f"{path}/kernel"], mult * kernel,
                                   rtol=1e-6)  # fmt: skip
        # SGD: update = -lr * factor * g, exactly linear in the factor
        np.testing.assert_allclose(step_sgd[f"{path}/kernel"], -0.1 * lr_sgd * 0.01,
                                   rtol=1e-6)  # fmt: skip
        # Adam's first step: -lr * factor * g / (|g| + eps), eps = 1e-8
        np.testing.assert_allclose(step_adam[f"{path}/kernel"], -0.1 * lr_adam,
                                   rtol=1e-5)  # fmt: skip
        _, _, b_sgd, b_adam = expected(name, "bias", 1.0, m_out)
        np.testing.assert_allclose(step_sgd[f"{path}/bias"], -0.1 * b_sgd * 0.01,
                                   rtol=1e-6)  # fmt: skip
        np.testing.assert_allclose(step_adam[f"{path}/bias"], -0.1 * b_adam,
                                   rtol=1e-5)  # fmt: skip
    table = pm.table()
    assert list(table.leaf)[:2] == ["layers/0/kernel", "layers/0/bias"]


def test_the_forward_pass_uses_the_multiplied_weights_and_zero_readout_is_zero():
    pz = Parametrization("mup", BASE, readout_zero_init=True, output_multiplier=2.0)
    pm = pz.mlp((256,), IN, OUT)
    params = pm.model.init(jax.random.key(0), initlab.he_normal(), None)
    x = jnp.asarray(initlab.get_task("digits").x_train[:8])
    head = dict(leaves_with_paths(params))
    assert not np.any(head["layers/1/kernel"]) and not np.any(head["layers/1/bias"])
    # a nonzero readout: the output is the inner MLP on W = 2 / m * w
    moved = jax.tree.map(lambda p: p + 0.01, params)
    manual = pm.inner.apply(
        initlab.tree_paths.map_with_paths(
            lambda path, p: p * (2.0 * BASE / 256) if path == "layers/1/kernel" else p,
            moved,
        ),
        x,
    )
    np.testing.assert_allclose(pm.model.apply(moved, x), manual, rtol=1e-6)
    assert pm.model.name == "mlp-64-256-10-mup@64-zero-readout-out2"
    _, sown = pm.model.intermediates(moved, x)
    assert sown["preactivations"][0].shape == (8, 256)


def test_the_cnn_scales_channels_and_its_head_is_the_readout():
    pm = Parametrization("mup", 8).cnn1d(40, 1, (32, 32), 10)
    table = pm.table().set_index("leaf")
    assert [s.role for s in pm.layers] == ["input", "hidden", "output"]
    assert table.loc["convs/0/kernel", "sgd_lr"] == 4.0  # fan-out channels 32 / 8
    assert table.loc["convs/1/kernel", "adam_lr"] == 0.25  # 1 / m_in
    assert table.loc["head/kernel", "multiplier"] == 0.25
    assert table.loc["head/bias", "sgd_lr"] == 1.0  # 10 classes: finite
    assert pm.layers[1].fan_in == 5 * 32  # window x channels
    params = pm.model.init(jax.random.key(1), initlab.he_normal(), None)
    head = np.asarray(dict(leaves_with_paths(params))["head/kernel"], np.float64)
    # variance 2 / fan_in x m_in = 2 / 8 (constant in width); 320 entries: 5 sd
    assert head.var() == pytest.approx(2 / 8, rel=5 * math.sqrt(2 / head.size))


def tiny_task():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 6)).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int32)
    return initlab.make_task(
        "tiny", x[:64], y[:64], x[64:], y[64:], kind="classification",
        defaults=dict(batch_size=8, steps=20, learning_rate=0.1, eval_every=10),
    )  # fmt: skip


TASK = tiny_task()


def test_at_the_base_width_every_parametrization_is_sp_bit_for_bit():
    plain = initlab.train(TASK, "he_normal", model=initlab.models.mlp((16, 16), 6, 2),
                          optimizer="adam", learning_rate=0.01, num_restarts=3,
                          progress=False)  # fmt: skip
    for name in ("ntk", "mup"):
        pm = Parametrization(name, 16).mlp((16, 16), 6, 2)
        same = initlab.train(TASK, "he_normal", model=pm.model,
                             optimizer=pm.optimizer("adam"), learning_rate=0.01,
                             num_restarts=3, progress=False)  # fmt: skip
        for metric in plain.curves:
            np.testing.assert_array_equal(same.curves[metric], plain.curves[metric])


def test_a_learning_rate_grid_trains_a_parametrized_model_in_one_loop():
    pm = Parametrization("mup", 8).mlp((32, 32), 6, 2)
    grid = initlab.train(TASK, "he_normal", model=pm.model,
                         optimizer=pm.optimizer("adam"), learning_rate=[0.003, 0.03],
                         num_restarts=2, progress=False)  # fmt: skip
    alone = initlab.train(TASK, "he_normal", model=pm.model,
                          optimizer=pm.optimizer("adam"), learning_rate=0.03,
                          num_restarts=2, progress=False)  # fmt: skip
    cell = grid.coords["learning_rate"] == 0.03
    # the same arithmetic, the step size read from the optimizer's state (as
    # tests/test_axes.py): float32 rounding over 20 steps
    np.testing.assert_allclose(grid.final["train_loss"][cell],
                               alone.final["train_loss"], rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    slow = grid.final["train_loss"][~cell]
    assert not np.allclose(slow, alone.final["train_loss"])


def test_coord_check_mup_stays_flat_and_sp_with_adam_grows():
    # Settings: widths 1024 and 4096 (as mup's own test), MLP 64-w-w-10 on the
    # first 32 digits, Adam lr 1e-3, 2 updates, 2 restarts per width; µP with
    # a zero-initialized readout (mup's default there), so its output is 0 at
    # t = 0. The bound 1.2 is mup's tolerance for the mean |x| ratio.
    widths = (1024, 4096)
    settings = dict(steps=2, num_restarts=2, batch_size=32, optimizer="adam")
    mup = coord_check(Parametrization("mup", BASE, readout_zero_init=True), widths,
                      **settings)  # fmt: skip
    r = coord_ratios(mup, *widths)
    zero = (r.layer == "output") & (r.t == 0)
    assert np.all(r.loc[zero, ["small", "large"]].to_numpy() == 0)
    assert r.loc[~zero, "ratio"].between(1 / 1.2, 1.2).all(), r
    assert set(r.layer) == {"layer 1", "layer 2", "output"} and set(r.t) == {0, 1, 2}
    from initlab.plots import plot_coord_check

    fig, axes = plot_coord_check(mup)  # one panel per step, a line per layer
    axes = np.ravel(axes)
    assert [a.get_title() for a in axes] == ["t = 0", "t = 1", "t = 2"]
    assert len(axes[1].get_lines()) >= 3
    sp = coord_ratios(coord_check(Parametrization("sp", BASE), widths, **settings),
                      *widths).set_index(["layer", "t"])["ratio"]  # fmt: skip
    # SP: an Adam step moves a width-n layer's output by ~n x the step, so
    # after the updates the last hidden layer and the output grow with width
    assert sp[("output", 1)] > 1.2 and sp[("output", 2)] > 1.2
    assert sp[("layer 2", 2)] > 1.2
    assert sp[("layer 1", 2)] < 1.2  # the input layer's fan-in is fixed


def test_bad_input_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match="Allowed: 'sp', 'ntk', 'mup'"):
        Parametrization("mu", 64)
    with pytest.raises(ValueError, match="positive int"):
        Parametrization("mup", 0)
    with pytest.raises(TypeError, match="must be an int"):
        Parametrization("mup", 64.0)
    with pytest.raises(ValueError, match="number > 0"):
        Parametrization("mup", 64, output_multiplier=-1.0)
    with pytest.raises(ValueError, match="finite"):
        Parametrization("mup", 64, output_multiplier=float("nan"))
    with pytest.raises(ValueError, match="has 2 entries but the model's widths"):
        Parametrization("mup", (64, 64)).mlp((256, 256, 256), IN, OUT)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        Parametrization("mup", 64).mlp((), IN, OUT)
    with pytest.raises(ValueError, match="no parametrization rule for model 'gru'"):
        Parametrization("mup", 64).build("gru", "digits")
    with pytest.raises(ValueError, match="no parametrization rule"):
        Parametrization("mup", 64).build(initlab.models.mlp((8,), 64, 10), "digits")
    assert Parametrization("mup", 64).build(
        {"name": "mlp", "widths": [128]}, "digits"
    ).model.name == "mlp-64-128-10-mup@64"  # fmt: skip
    pm = Parametrization("mup", 64).mlp((128,), IN, OUT)
    with pytest.raises(ValueError, match="Allowed: 'sgd', 'adam'"):
        pm.optimizer("rmsprop")
    with pytest.raises(ValueError, match="takes no argument"):
        pm.optimizer("sgd", beta=0.9)
    with pytest.raises(ValueError, match="learning rate"):
        pm.optimizer("sgd", learning_rate=0.1)
    with pytest.raises(ValueError, match="no learning-rate factor"):
        other = Parametrization("mup", 64).mlp((128, 128), IN, OUT)
        pm.optimizer("sgd")(0.1).init(other.model.init(jax.random.key(0)))
    with pytest.raises(ValueError, match="number > 0"):
        scale_by_path({"w": 0.0})
    pz = Parametrization("mup", 64)
    for lr, needle in ((-1e-3, "number > 0"), (float("inf"), "finite")):
        with pytest.raises(ValueError, match=needle):
            coord_check(pz, (128,), learning_rate=lr)
    with pytest.raises(ValueError, match="repeat"):
        coord_check(pz, (128, 128))
    with pytest.raises(TypeError, match="non-empty sequence"):
        coord_check(pz, 128)
    with pytest.raises(ValueError, match="batch_size"):
        coord_check(pz, (128,), batch_size=10**6)
    with pytest.raises(ValueError, match="Allowed: 'l1', 'rms'"):
        coord_check(pz, (128,), statistic="l2")
    with pytest.raises(ValueError, match="number > 0"):
        initlab.train(TASK, "he_normal", model=pm.model, learning_rate=[0.1, -0.1],
                      optimizer=pm.optimizer("sgd"), progress=False)  # fmt: skip
