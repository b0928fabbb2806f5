"""The public pure core (make_train), studies over any task/model, v0.1 bits."""

import json
import platform
import sys
import textwrap
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

import initlab
from initlab import cli, experiments

GOLDEN = Path(__file__).parent / "data" / "golden_v01.json"


def small_task():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)
    return initlab.make_task(
        "quad", x[:60], y[:60], x[60:], y[60:], kind="classification",
        defaults=dict(batch_size=20, steps=30, learning_rate=0.3, eval_every=10),
    )  # fmt: skip


TASK = small_task()


def test_vmapping_make_train_yourself_gives_the_numbers_of_train():
    # The README's example: the user's own jit(vmap(core.train)) over the keys
    # of stream_keys gives train()'s curves. Same per-restart computation; XLA
    # may reorder the sums of a batched matmul, so float32 rounding over 30
    # steps (~1e-7 x 100 ops per step) bounds the difference, not bit equality.
    core = initlab.make_train(TASK, kernel_init="he_normal", steps=30,
                              eval_every=10)  # fmt: skip
    init_keys, data_keys = initlab.stream_keys(0, np.arange(6), np.arange(6))
    state = jax.vmap(core.init)(init_keys, data_keys)
    one_restart = chex.assert_max_traces(lambda s: core.train(s), n=1)
    train_all = jax.jit(jax.vmap(one_restart))
    state, metrics = train_all(state)
    out = initlab.train(TASK, "he_normal", num_restarts=6, progress=False)
    np.testing.assert_array_equal(core.eval_steps, out.steps)
    for name in out.curves:
        np.testing.assert_allclose(metrics[name], out.curves[name], rtol=2e-5,
                                   atol=2e-6)  # fmt: skip
    np.testing.assert_array_equal(state.diverged, out.diverged)


def test_core_functions_are_pure_and_compose():
    core = initlab.make_train(TASK, kernel_init="glorot_uniform", steps=12,
                              eval_every=5)  # fmt: skip
    init_key, data_key = jax.random.key(3), jax.random.key(4)
    a = core.init(init_key, data_key)
    b = core.start(core.init_params(init_key), data_key)
    chex.assert_trees_all_equal(a, b)
    # train = the first evaluation, then segments of eval_every (5, 5, 2) steps
    state, metrics = core.train(a)
    np.testing.assert_array_equal(core.eval_steps, [0, 5, 10, 12])
    s, m = a, []
    for first, length in ((0, 5), (5, 5), (10, 2)):
        s, mm = core.segment(s, jax.numpy.int32(first), length)
        m.append(mm["train_loss"])
    np.testing.assert_allclose(metrics["train_loss"][1:], m, rtol=1e-6)
    chex.assert_trees_all_close(state.params, s.params, rtol=1e-6)
    assert core.correct(state.params).shape == (20,)


def test_make_train_validates_like_the_config():
    with pytest.raises(ValueError, match="batch_size=100 is larger"):
        initlab.make_train(TASK, batch_size=100)
    with pytest.raises(ValueError, match="unknown initializer"):
        initlab.make_train(TASK, kernel_init="he_nromal")


def test_zoo_and_symmetry_run_a_users_task_and_model():
    model = initlab.models.mlp((6,), 4, 2, activation="tanh")
    result = experiments.zoo(task=TASK, model=model,
                             initializers=["zeros", "he_normal"], num_restarts=3,
                             progress=False)  # fmt: skip
    assert result.outcomes.labels == ["zeros", "he_normal"]
    assert result.outcomes.metadata["model_name"] == "mlp-4-6-2"
    assert "quad" in result.text
    sym = experiments.symmetry(task=TASK, model=model, num_restarts=2,
                               progress=False)  # fmt: skip
    counts = sym.extra["distinct_units"]
    labels = sym.outcomes.initializer
    hidden = sorted(counts)[0]
    assert np.all(counts[hidden][labels == "zeros"] == 1)
    assert np.all(counts[hidden][labels == "glorot_uniform"] == 6)


USER_CODE = """
import initlab

def wide_mlp(width=8, task=None):
    n_in = task.x_train.shape[1]
    return initlab.models.mlp((width,), n_in, 10, activation="tanh")

def digits_half():
    return initlab.get_task("digits", test_size=0.5)
"""


def test_cli_runs_task_options_and_a_users_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "mylab.py").write_text(textwrap.dedent(USER_CODE))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mylab", None)
    out = tmp_path / "run"
    argv = ["run", "--task", "digits", "--test-size", "0.2", "--task-seed", "3",
            "--model", '{"name": "mylab:wide_mlp", "width": 5}', "--init",
            "he_normal", "--restarts", "2", "--steps", "5", "--devices", "1",
            "--quiet", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0, capsys.readouterr().err
    meta = initlab.Outcomes.load(out).metadata
    assert meta["task"] == {"name": "digits", "test_size": 0.2, "seed": 3}
    assert meta["model_name"] == "mlp-64-5-10"
    config = initlab.TrainConfig.from_metadata(meta)
    assert initlab.engine.build_task(config.task).x_test.shape == (360, 64)
    # a task from the user's own code, and its errors in one line
    argv2 = ["run", "xor", "--task", "mylab:digits_half", "--ranges", "1",
             "--restarts", "2", "--steps", "3", "--devices", "1", "--quiet",
             "--out", str(tmp_path / "x")]  # fmt: skip
    assert cli.main(argv2) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["run", "--task", "mylab:nothing", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no 'nothing'" in err[0]


def test_v01_results_are_unchanged():
    # The zoo, xor and variance studies in their small modes, against the
    # numbers initlab 0.1 computed (tests/data/golden_v01.json, recorded from
    # commit 23544e7 before the configuration refactor). On the machine and
    # JAX version that recorded them the curves are the same bits (their
    # hashes); elsewhere XLA may compile a batched matmul differently, so the
    # finals are compared to float32 rounding accumulated over 20-300 steps.
    golden = json.loads(GOLDEN.read_text())
    same_platform = (
        golden["recorded_with"]["jax"] == jax.__version__
        and golden["recorded_with"]["cpu"] in _cpu_name()
    )
    for name, want in golden["studies"].items():
        out = experiments.run_study(name, small=True, progress=False).outcomes
        for metric, values in want["final"].items():
            expected = np.array([float.fromhex(v) for v in values])
            if same_platform:
                np.testing.assert_array_equal(out.final[metric], expected)
            else:
                np.testing.assert_allclose(out.final[metric], expected, rtol=1e-5,
                                           atol=1e-6)  # fmt: skip


def _cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def test_kept_predictions_agree_with_correctness_and_round_trip(tmp_path):
    out = initlab.train(TASK, "he_normal", num_restarts=3, keep_predictions=True,
                        out_dir=tmp_path, progress=False)  # fmt: skip
    ex = out.per_example
    assert ex["test_predicted"].dtype == np.int16 and ex["test_p_true"].shape == (3, 20)
    np.testing.assert_array_equal(ex["test_predicted"] == TASK.y_test,
                                  ex["test_correct"])  # fmt: skip
    # the true class gets the largest probability exactly where it is predicted
    assert np.all(ex["test_p_true"][ex["test_correct"]] >= 0.5 - 1e-6)
    assert np.all((0 <= ex["test_p_true"]) & (ex["test_p_true"] <= 1))
    back = initlab.Outcomes.load(tmp_path)
    np.testing.assert_array_equal(back.per_example["test_p_true"], ex["test_p_true"])
