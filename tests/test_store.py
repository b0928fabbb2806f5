"""The run store: a run's identity is its content; chunks never mix runs."""

import shutil
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import initlab
from initlab import cli
from initlab.engine import TrainConfig, fingerprint, resolve


def blobs(shift=0.0, name="blobs"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 3)).astype(np.float32) + shift
    y = (x[:, 0] > shift).astype(np.int32)
    return initlab.make_task(
        name, x[:32], y[:32], x[32:], y[32:], kind="classification",
        model=initlab.models.mlp((8,), 3, 2),
        defaults=dict(batch_size=16, steps=8, learning_rate=0.2, eval_every=4),
    )  # fmt: skip


TASK = blobs()


def run(out_dir, **kw):
    kw = {"num_restarts": 4, "chunk_size": 2, "progress": False, **kw}
    return initlab.train(kw.pop("task", TASK), kw.pop("initializers", "he_normal"),
                         out_dir=out_dir, **kw)  # fmt: skip


def stamps(folder):
    return {p.name: p.stat().st_mtime_ns for p in (folder / "chunks").glob("*")}


def test_same_name_other_arrays_or_other_model_is_another_run(tmp_path):
    run(tmp_path)
    other_data = blobs(shift=0.5)  # same name "blobs", other arrays
    with pytest.raises(ValueError, match="different run"):
        run(tmp_path, task=other_data)

    # two of the user's own models, both named "custom", with other functions
    def init(key):
        return {"w": jnp.zeros((3, 2)), "b": jnp.zeros((1, 2))}

    a = initlab.from_pure(init, lambda p, x: x @ p["w"] + p["b"])
    b = initlab.from_pure(init, lambda p, x: jnp.tanh(x @ p["w"]) + p["b"])
    fa = fingerprint(resolve(TrainConfig(task=TASK, model=a)))
    fb = fingerprint(resolve(TrainConfig(task=TASK, model=b)))
    assert a.name == b.name == "custom" and fa != fb


def test_missing_run_json_with_chunks_is_refused(tmp_path):
    run(tmp_path)
    (tmp_path / "run.json").unlink()
    with pytest.raises(ValueError, match="no run.json.*not adopted"):
        run(tmp_path, learning_rate=0.05, seed=3)


def test_a_chunk_copied_over_another_or_truncated_is_refused(tmp_path):
    run(tmp_path)
    chunks = sorted((tmp_path / "chunks").glob("chunk-*.parquet"))
    assert len(chunks) == 2
    shutil.copy(chunks[0], chunks[1])
    with pytest.raises(ValueError, match="chunk-00001.parquet is chunk 0"):
        run(tmp_path)
    chunks[1].write_bytes(chunks[0].read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        run(tmp_path)
    chunks[1].unlink()  # deleted: recomputed, the others reused
    before = chunks[0].stat().st_mtime_ns
    again = run(tmp_path)
    assert chunks[0].stat().st_mtime_ns == before and len(again) == 4


def test_results_that_do_not_hold_their_runs_rows_are_refused(tmp_path):
    out = run(tmp_path)
    rows = np.array([0, 1, 2, 2])  # restart 3 missing, restart 2 twice
    broken = out.select(rows)
    meta = {k: v for k, v in broken.metadata.items() if k != "selection"}
    import dataclasses

    dataclasses.replace(broken, metadata=meta).save(tmp_path / "results.parquet")
    with pytest.raises(ValueError, match="1 repeated, 1 missing"):
        initlab.Outcomes.load(tmp_path)
    assert cli.main(["show", str(tmp_path)]) == 2


def my_init(key, shape, dtype=jnp.float32):
    return 0.1 * jnp.ones(shape, dtype)


def test_a_users_own_initializer_and_optax_optimizer_resume(tmp_path):
    def clipped(lr):
        return optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(lr))

    first = run(tmp_path, initializers={"mine": my_init}, optimizer=clipped(0.1))
    before = stamps(tmp_path)
    again = run(tmp_path, initializers={"mine": my_init}, optimizer=clipped(0.1))
    assert stamps(tmp_path) == before  # every chunk reused
    np.testing.assert_array_equal(first.final["train_loss"], again.final["train_loss"])
    assert "0x" not in str(first.metadata)  # no memory addresses recorded
    with pytest.raises(ValueError, match="different run"):
        run(tmp_path, initializers={"mine": my_init}, optimizer=clipped(0.2))


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from initlab.engine.store import writer_lock
    with writer_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_two_writers_one_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    run(tmp_path, num_restarts=2)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match=f"process {proc.pid} .*another out_dir"):
            run(tmp_path, num_restarts=2)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    # the holder died without cleaning up: its lock is stale and taken over
    assert (tmp_path / ".lock").exists()
    run(tmp_path, num_restarts=2)
    assert not (tmp_path / ".lock").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_task_validates_itself_however_it_is_built():
    import dataclasses

    x = TASK.x_train.copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="x_train has 1 non-finite"):
        dataclasses.replace(TASK, x_train=x)
    with pytest.raises(ValueError, match="outside \\[0, 2\\)"):
        dataclasses.replace(TASK, y_test=TASK.y_test + 5)
    rng = np.random.default_rng(0)
    xr = rng.normal(size=(10, 2))
    yr = rng.normal(size=10)
    yr[0] = np.inf
    with pytest.raises(ValueError, match="y_train has 1 non-finite"):
        initlab.make_task("r", xr, yr, xr, np.zeros(10), kind="regression")


def test_every_named_optimizer_updates_and_polyak_is_not_offered():
    assert "polyak_sgd" not in initlab.OPTIMIZERS
    assert len(set(initlab.OPTIMIZERS)) == len(initlab.OPTIMIZERS)
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    grads = {"w": jnp.full((3, 2), 0.5), "b": jnp.full(2, -0.5)}
    for name in initlab.OPTIMIZERS:
        opt = initlab.make_optimizer(name, 0.01)
        updates, _ = opt.update(grads, opt.init(params), params)
        assert all(np.all(np.isfinite(u)) for u in updates.values()), name


def test_overflowing_draws_and_cli_folder_faults_fail_in_one_line(tmp_path, capsys):
    import jax

    with pytest.raises(ValueError, match="would be inf"):
        initlab.random_normal(stddev=1e300)(jax.random.key(0), (4, 4))
    wide = initlab.random_uniform(-1e4, 1e4)
    assert wide(jax.random.key(0), (4,), jnp.float16).dtype == jnp.float16
    with pytest.raises(ValueError, match="float16's largest"):
        initlab.random_uniform(-1e5, 1e5)(jax.random.key(0), (4,), jnp.float16)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out in (a_file, a_file / "under"):
        code = cli.main(["run", "xor", "--small", "--quiet", "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and str(out) in err[0], err


def test_chunk_files_carry_their_run_and_rows(tmp_path):
    run(tmp_path)
    part = initlab.Outcomes.load(tmp_path / "chunks" / "chunk-00001.parquet")
    meta = part.metadata
    assert meta["chunk"] == 1 and meta["rows"] == [2, 4]
    saved = initlab.Outcomes.load(tmp_path).metadata["fingerprint"]
    assert meta["fingerprint"] == saved
