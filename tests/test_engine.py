"""Engine: equivalences (alone, chunked, sharded, rerun), designs, divergence."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import optax
import pytest

import initlab
from initlab import engine
from initlab.outcomes import TIDY_COLUMNS

# Restarts trained in one vmapped batch vs alone: XLA may reorder the sums of a
# batched matmul, so results agree to float32 rounding accumulated over the
# steps, not bit for bit. 60 steps of SGD on a small MLP: ~1e-6 measured; we
# allow 1e-5 on the curves (float32 eps 1.2e-7 x ~100 rounding events/step).
CLOSE = {"rtol": 1e-5, "atol": 1e-5}


def tiny_task():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int32)
    return initlab.make_task(
        "tiny", x[:64], y[:64], x[64:], y[64:], kind="classification",
        model=initlab.models.mlp((16,), 5, 2),
        defaults=dict(batch_size=16, steps=60, learning_rate=0.2, eval_every=20),
    )  # fmt: skip


TASK = tiny_task()


def run(**kw):
    kw.setdefault("progress", False)
    kw.setdefault("num_restarts", 6)
    return initlab.train(TASK, kw.pop("initializers", "glorot_uniform"), **kw)


def assert_same_outcomes(a, b, exact=False):
    assert list(a.initializer) == list(b.initializer)
    np.testing.assert_array_equal(a.init_seed, b.init_seed)
    np.testing.assert_array_equal(a.data_seed, b.data_seed)
    np.testing.assert_array_equal(a.diverged, b.diverged)
    for k in a.curves:
        if exact:
            np.testing.assert_array_equal(a.curves[k], b.curves[k])
        else:
            np.testing.assert_allclose(a.curves[k], b.curves[k], **CLOSE)


def test_shapes_and_coordinates():
    out = run(initializers=["glorot_uniform", "he_normal"], num_restarts=5)
    assert len(out) == 10 and out.labels == ["glorot_uniform", "he_normal"]
    np.testing.assert_array_equal(out.steps, [0, 20, 40, 60])
    assert set(out.curves) == {"train_loss", "test_loss", "train_accuracy",
                               "test_accuracy"}  # fmt: skip
    assert out.curves["train_loss"].shape == (10, 4)
    np.testing.assert_array_equal(out.restart, np.tile(np.arange(5), 2))
    assert out.per_example["test_correct"].shape == (10, 32)
    assert out.metadata["task_name"] == "tiny" and out.metadata["steps"] == 60
    # Paired design: restart i has the same keys for every initializer.
    np.testing.assert_array_equal(out.init_seed[:5], out.init_seed[5:])


def test_same_seed_twice_is_bit_identical_and_seed_matters():
    a, b = run(seed=3), run(seed=3)
    assert_same_outcomes(a, b, exact=True)
    c = run(seed=4)
    assert not np.array_equal(a.curves["train_loss"], c.curves["train_loss"])


def test_restart_in_batch_equals_restart_alone():
    batch = run(num_restarts=6, keep_params=True)
    for i in (0, 4):
        alone = run(num_restarts=1, first_restart=i, keep_params=True)
        for k in batch.curves:
            np.testing.assert_allclose(alone.curves[k][0], batch.curves[k][i], **CLOSE)
        # Identical keys give bit-identical initial parameters.
        leaves = zip(jax.tree.leaves(alone.initial_params),
                     jax.tree.leaves(batch.initial_params), strict=True)  # fmt: skip
        for a, b in leaves:
            np.testing.assert_array_equal(a[0], b[i])


def test_chunked_equals_whole():
    whole = run(initializers=["glorot_uniform", "lecun_normal"], num_restarts=5)
    chunked = run(initializers=["glorot_uniform", "lecun_normal"], num_restarts=5,
                  chunk_size=3)  # fmt: skip
    assert_same_outcomes(whole, chunked)


def test_fixed_data_shares_the_minibatch_order():
    # Same init (zeros) + same data order => identical trajectories; under the
    # paired design the data orders differ, so the trajectories differ.
    fixed = run(initializers="zeros", design="fixed_data", num_restarts=3)
    assert np.all(fixed.data_seed == 0)
    curves = fixed.curves["train_loss"]
    np.testing.assert_array_equal(curves[0], curves[1])
    paired = run(initializers="zeros", design="paired", num_restarts=3)
    assert not np.array_equal(paired.curves["train_loss"][0],
                              paired.curves["train_loss"][1])  # fmt: skip


def test_fixed_init_shares_the_initial_params():
    out = run(design="fixed_init", num_restarts=3, keep_params=True)
    for leaf in jax.tree.leaves(out.initial_params):
        np.testing.assert_array_equal(leaf[0], leaf[1])
        np.testing.assert_array_equal(leaf[0], leaf[2])
    assert not np.array_equal(out.curves["train_loss"][0], out.curves["train_loss"][1])


def test_grid_design_seeds():
    out = run(design="grid", grid_data=3, num_restarts=6)
    np.testing.assert_array_equal(out.init_seed, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(out.data_seed, [0, 1, 2, 0, 1, 2])
    a, b = engine.restart_seeds("grid", np.arange(6), 3)
    np.testing.assert_array_equal(a, out.init_seed)


def test_zero_init_never_breaks_symmetry():
    out = run(initializers=["zeros", "glorot_uniform"], num_restarts=3,
              keep_params=True)  # fmt: skip
    kernel = out.final_params["layers"][0]["kernel"]
    kernel = np.asarray(jax.tree.leaves(kernel)[0])
    bias = np.asarray(jax.tree.leaves(out.final_params["layers"][0]["bias"])[0])
    count = jax.vmap(initlab.diagnostics.distinct_units)(kernel, bias)
    np.testing.assert_array_equal(count[:3], 1)  # zeros: one unit, 16 copies
    assert np.all(np.asarray(count[3:]) == 16)  # random: every unit distinct


def test_divergence_is_flagged_and_isolated():
    inits = {"ok": initlab.glorot_uniform(), "bad": initlab.random_normal(stddev=1e19)}
    both = run(initializers=inits, num_restarts=3)
    alone = run(initializers={"ok": initlab.glorot_uniform()}, num_restarts=3)
    assert both.diverged.tolist() == [False] * 3 + [True] * 3
    assert np.all(both.diverged_step[3:] >= 1) and np.all(both.diverged_step[:3] == -1)
    assert np.all(np.isnan(both.final["train_loss"][3:]))
    for k in alone.curves:
        np.testing.assert_allclose(both.curves[k][:3], alone.curves[k], **CLOSE)
    # Diverged restarts are left out of values() unless asked for.
    assert len(both.values("test_accuracy")) == 3


def test_many_initializers_compile_the_loop_once():
    traces = []
    model = initlab.models.mlp((16,), 5, 2)

    def counting_apply(params, x):
        traces.append(x.shape)  # runs only while JAX traces
        return model.apply(params, x)

    counted = initlab.PureModel("counted", model.init, counting_apply)
    five = ["glorot_uniform", "he_normal", "lecun_uniform", "orthogonal", "zeros"]
    run(initializers=five, model=counted, num_restarts=2)
    # The training step sees minibatches of 16: traced once for five initializers.
    assert traces.count((16, 5)) == 1
    # A second run with the same task, model and optimizer reuses the compiled loop.
    traces.clear()
    others = ["he_uniform", "lecun_normal", "glorot_normal", "ones", "identity"]
    run(initializers=others, model=counted, num_restarts=2)
    assert traces.count((16, 5)) == 0


def test_interrupt_and_resume(tmp_path, monkeypatch):
    kw = dict(initializers=["glorot_uniform", "he_normal"], num_restarts=4,
              chunk_size=3)  # fmt: skip
    whole = run(**kw)
    original = engine.ChunkRunner.run
    calls = []

    def interrupted(self, *args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(engine.ChunkRunner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(out_dir=tmp_path, **kw)
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) == 1
    monkeypatch.setattr(engine.ChunkRunner, "run", original)
    resumed = run(out_dir=tmp_path, **kw)
    assert_same_outcomes(whole, resumed)
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) == 3
    loaded = initlab.Outcomes.load(tmp_path)
    assert_same_outcomes(resumed, loaded, exact=True)
    with pytest.raises(ValueError, match="different run"):
        run(out_dir=tmp_path, **{**kw, "num_restarts": 5})
    with pytest.raises(ValueError, match="different run"):
        run(out_dir=tmp_path, **{**kw, "chunk_size": 2})


def test_resume_keeps_params(tmp_path):
    kw = dict(num_restarts=4, chunk_size=2, keep_params=True, out_dir=tmp_path)
    first = run(**kw)
    again = run(**kw)  # every chunk loaded from disk
    for a, b in zip(jax.tree.leaves(first.final_params),
                    jax.tree.leaves(again.final_params), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    assert jax.tree.structure(first.initial_params) == jax.tree.structure(
        again.initial_params
    )


def test_steps_to_target():
    out = run(target=0.6)
    hit = out.curves["test_accuracy"] >= 0.6
    for r in range(len(out)):
        if hit[r].any():
            assert out.steps_to_target[r] == out.steps[hit[r].argmax()]
        else:
            assert out.steps_to_target[r] == -1


def test_optimizers_by_name_and_object():
    a = run(optimizer="adam", learning_rate=0.01, num_restarts=2)
    b = run(optimizer=optax.adam(0.01), num_restarts=2)
    assert_same_outcomes(a, b, exact=True)


@pytest.mark.parametrize("name", ["xor", "spirals", "digits", "mnist1d", "teacher"])
def test_loss_falls_on_every_task(name):
    task = initlab.get_task(name)
    init = "glorot_uniform"
    out = initlab.train(task, init, num_restarts=2, steps=150, eval_every=150,
                        progress=False)  # fmt: skip
    start, end = out.curves["train_loss"][:, 0], out.curves["train_loss"][:, -1]
    assert np.all(end < start), (name, start, end)


def test_bias_init_same_draws_biases_like_kernels():
    out = initlab.train("xor", initlab.random_uniform(-1.0, 1.0), bias_init="same",
                        num_restarts=2, steps=1, eval_every=1, keep_params=True,
                        progress=False)  # fmt: skip
    biases = [x for p, x in jax.tree_util.tree_leaves_with_path(out.initial_params)
              if "bias" in jax.tree_util.keystr(p)]  # fmt: skip
    assert all(np.all(b != 0) for b in biases)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_restarts": 0}, "num_restarts"),
        ({"steps": -1}, "steps"),
        ({"eval_every": 0}, "eval_every"),
        ({"batch_size": 65}, "larger than the training set"),
        ({"design": "crossed"}, "unknown design"),
        ({"design": "grid", "grid_data": 4, "num_restarts": 6}, "multiple"),
        ({"initializers": "glorot_unifrom"}, "glorot_uniform"),
        ({"optimizer": "adamm"}, "unknown optimizer"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"devices": 99}, "devices"),
        ({"model": initlab.models.mlp((8,), 7, 2)}, "does not fit"),
    ],
)
def test_bad_input_raises_before_compiling(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="optax"):
        run(optimizer=lambda g: g)
    with pytest.raises(TypeError, match="Task"):
        initlab.train(42)
    with pytest.raises(TypeError):
        run(initializers=[3])


SHARDED = textwrap.dedent(
    """
    import numpy as np, initlab, jax
    from tests.test_engine import TASK
    assert jax.device_count() == 2
    kw = dict(initializers=["glorot_uniform", "orthogonal"], num_restarts=5,
              progress=False)
    two = initlab.train(TASK, **kw)
    one = initlab.train(TASK, devices=1, **kw)
    for k in one.curves:
        np.testing.assert_allclose(two.curves[k], one.curves[k], rtol=1e-5, atol=1e-5)
    # The init phase stays off the sharded path: 256 orthogonal inits finish.
    big = initlab.train(TASK, "orthogonal", num_restarts=256, steps=1, eval_every=1,
                        progress=False)
    assert len(big) == 256
    print("ok", two.metadata["devices"])
    """
)


def test_two_devices_equal_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")  # fmt: skip
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", SHARDED], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok" in proc.stdout


def test_stream_keys_do_not_depend_on_batch():
    a_init, a_data = engine.stream_keys(0, np.arange(10), np.arange(10))
    b_init, b_data = engine.stream_keys(0, np.array([7]), np.array([7]))
    np.testing.assert_array_equal(jax.random.key_data(a_init[7]),
                                  jax.random.key_data(b_init[0]))  # fmt: skip
    assert not np.array_equal(jax.random.key_data(a_init[7]),
                              jax.random.key_data(a_data[7]))  # fmt: skip


def test_outcomes_tidy_table_and_parquet(tmp_path):
    out = run(num_restarts=3)
    frame = out.to_dataframe()
    assert list(frame.columns) == list(TIDY_COLUMNS)
    assert len(frame) == 3 * 4 * len(out.curves)
    path = out.save(tmp_path / "r.parquet")
    back = initlab.Outcomes.load(path)
    assert_same_outcomes(out, back, exact=True)
    np.testing.assert_array_equal(back.per_example["test_correct"],
                                  out.per_example["test_correct"])  # fmt: skip
    assert back.metadata["fingerprint"] == out.metadata["fingerprint"]
    import pandas as pd

    tidy = pd.read_parquet(path)
    assert len(tidy) == 3


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_recurrent_models_train_with_blocked_evaluation(kind):
    # 300 training examples > the 256-example evaluation block: the evaluation
    # runs in a scan over blocks, which nnx.RNN's own scan must accept.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(340, 6, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int32)
    model = getattr(initlab.models, kind)(1, 4, 2)
    task = initlab.make_task(
        kind, x[:300], y[:300], x[300:], y[300:], kind="classification", model=model,
        defaults=dict(batch_size=50, steps=12, eval_every=12, learning_rate=0.5),
    )  # fmt: skip
    out = initlab.train(task, "glorot_uniform", num_restarts=2, progress=False)
    assert np.all(np.isfinite(out.final["train_loss"]))
    assert np.all(out.final["train_loss"] < out.curves["train_loss"][:, 0])


def test_empty_selection_round_trips(tmp_path):
    out = run(num_restarts=2)
    empty = out.select(np.zeros(len(out), bool))
    back = initlab.Outcomes.load(empty.save(tmp_path / "empty.parquet"))
    assert len(back) == 0
    assert back.per_example["test_correct"].shape[0] == 0
