"""The execution plan: chosen from the hardware, sized from memory, testable here."""

import dataclasses
import time

import numpy as np
import pytest

import initlab
from initlab import cli
from initlab.engine import DeviceSpec, TrainConfig, plan
from initlab.engine.plan import CPU_BLOCK_BYTES

GiB = 2**30
BIG_GPU = DeviceSpec("gpu", 1, 80 * GiB, "80 GiB GPU", host_memory_bytes=512 * GiB)
SMALL_GPUS = DeviceSpec("gpu", 8, 16 * GiB, "16 GiB GPU", host_memory_bytes=512 * GiB)
TWO_CPUS = DeviceSpec("cpu", 2, 12 * GiB, "cpu", host_memory_bytes=24 * GiB)


def test_digits_mlp_at_4096_is_one_vmapped_chunk_on_a_large_gpu():
    p = plan(TrainConfig(task="digits", num_restarts=4096, steps=300), BIG_GPU)
    assert (p.num_chunks, p.chunk_size, p.restart_block) == (1, 4096, None)
    assert p.eval_block == 1257  # the whole training split at once
    assert p.peak_bytes_per_device < 0.8 * BIG_GPU.memory_bytes
    assert "1 chunk of 4096" in p.summary() and "whole stack vmapped" in p.summary()


def test_a_memory_bound_run_is_chunked_to_fit():
    config = TrainConfig(task="digits", model={"name": "mlp", "widths": [2048, 2048]},
                         num_restarts=16384, steps=10)  # fmt: skip
    p = plan(config, SMALL_GPUS)
    assert p.num_chunks > 1 and p.chunk_size % SMALL_GPUS.count == 0
    assert p.peak_bytes_per_device <= 0.8 * SMALL_GPUS.memory_bytes
    assert p.chunk_reason.startswith("memory")
    # params + adam-free sgd state of one restart: 64*2048 + 2048^2 + 2048*10 +
    # biases floats = 4.35 M floats
    assert p.bytes_per_restart["params"] == 4 * (64 * 2048 + 2048 * 2048 +
                                                 2048 * 10 + 2048 * 2 + 10)  # fmt: skip
    # an explicit chunk is honoured, and one that cannot fit says what would
    honoured = plan(dataclasses.replace(config, chunk_size=64), SMALL_GPUS)
    assert honoured.chunk_size == 64 and honoured.chunk_reason == "as configured"
    with pytest.raises(ValueError, match=r"chunk_size=16384 would need .* would fit"):
        plan(dataclasses.replace(config, chunk_size=16384), SMALL_GPUS)


def test_cpu_plans_keep_the_cache_blocks():
    # On CPU a block of restarts walks its steps in cache: the block is
    # CPU_BLOCK_BYTES of step intermediates (the digits MLP: 2 restarts), and
    # XOR's tiny restarts are vmapped whole, as before the planner existed.
    digits = plan(TrainConfig(task="digits", num_restarts=256), TWO_CPUS)
    step = digits.bytes_per_restart["step"]
    assert digits.restart_block == CPU_BLOCK_BYTES // step == 2
    assert digits.eval_block == 256 and digits.num_chunks == 1
    xor = plan(TrainConfig(task="xor", num_restarts=4096), TWO_CPUS)
    assert xor.restart_block is None
    # 3 initializers + start + evaluate + correct + one segment length
    zoo = plan(TrainConfig(initializers="zeros,ones,he_normal", steps=250,
                           eval_every=100), TWO_CPUS)  # fmt: skip
    assert zoo.compilations == 3 + 3 + 2 and zoo.segments == 3


def test_huge_requests_fail_fast_with_clear_errors():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="steps must be an int < 2147483647"):
        initlab.train("xor", steps=10**12, progress=False)
    with pytest.raises(ValueError, match="outcomes on the host.*first_restart"):
        plan(TrainConfig(task="digits", num_restarts=10**9 - 1), TWO_CPUS)
    huge = TrainConfig(task="digits", model={"name": "mlp", "widths": [10**6, 10**6]})
    with pytest.raises(ValueError, match="one restart needs about .* smaller model"):
        plan(huge, BIG_GPU)
    with pytest.raises(ValueError, match="one restart needs"):
        initlab.train(huge, progress=False)
    assert time.perf_counter() - t0 < 120  # not a hang (a generous bound)


def test_the_run_records_its_plan_and_dry_run_trains_nothing(tmp_path, capsys):
    out = initlab.train("xor", num_restarts=3, steps=20, progress=False)
    recorded = out.metadata["plan"]
    assert recorded["rows"] == 3 and recorded["devices"] == 1
    assert recorded["restart_block"] is None and recorded["backend"] == "cpu"
    target = tmp_path / "never"
    code = cli.main(["run", "xor", "--small", "--dry-run", "--devices", "1",
                     "--out", str(target)])  # fmt: skip
    assert code == 0 and not target.exists()
    assert capsys.readouterr().out.startswith("plan: 1 cpu device")
    assert cli.main(["plan", "--small", "--devices", "1"]) == 0
    assert "3 chunk" not in capsys.readouterr().out  # the small zoo: 1 chunk


def test_mixed_precision_runs_and_tracks_float32_loosely():
    kw = dict(num_restarts=4, steps=60, eval_every=60, progress=False)
    f32 = initlab.train("digits", "he_normal", **kw)
    bf16 = initlab.train("digits", "he_normal", compute_dtype="bfloat16", **kw)
    a, b = f32.final["test_accuracy"], bf16.final["test_accuracy"]
    assert not np.array_equal(a, b)  # it is another computation
    # bf16 keeps 8 bits of mantissa: per-step rounding of ~0.4 % moves single
    # restarts by a point or two of accuracy (540 test examples: one example is
    # 0.19 points), the mean of 4 by less; 0.03 is ~5 sd of that difference.
    assert abs(a.mean() - b.mean()) < 0.03
    with pytest.raises(ValueError, match="compute_dtype"):
        TrainConfig(compute_dtype="int8")


def test_built_in_tasks_evaluate_on_a_geometric_schedule_at_bounded_cost():
    from initlab.engine.schedule import affordable_points, geometric_schedule

    out = initlab.train("digits", num_restarts=2, steps=300, progress=False)
    steps = out.steps
    assert steps[0] == 0 and steps[-1] == 300 and len(steps) >= 15
    # evenly spread in log(step): consecutive ratios about the same
    ratios = steps[2:] / steps[1:-1]
    assert ratios.max() / ratios.min() < 3
    # the budget: at most half of training's work in evaluations
    assert affordable_points(300, 1797, 128) == 20
    assert affordable_points(40, 1797, 128) == 8  # the floor
    assert geometric_schedule(5) == (1, 2, 3, 4, 5)
    # explicit schedules and the linear one on request
    linear = initlab.train("xor", num_restarts=1, steps=250, eval_every=100,
                           progress=False)  # fmt: skip
    np.testing.assert_array_equal(linear.steps, [0, 100, 200, 250])
    custom = initlab.train("xor", num_restarts=1, steps=9, eval_schedule=[2, 9],
                           progress=False)  # fmt: skip
    np.testing.assert_array_equal(custom.steps, [0, 2, 9])
    with pytest.raises(ValueError, match="must increase"):
        TrainConfig(eval_schedule=[5, 3])
    with pytest.raises(ValueError, match="must be steps"):
        TrainConfig(steps=10, eval_schedule=[5])
