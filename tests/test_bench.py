"""The benchmark runs in its tiny modes and writes valid JSON (no timing asserts)."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
import pytest

import initlab
from initlab import bench
from initlab.bench import runner
from initlab.bench.workloads import mnist1d_task, square_ceiling

ROOT = Path(__file__).resolve().parents[1]


def test_flop_count_by_hand():
    # XOR 2-2-1 sigmoid, half SSE, batch 4, counted term by term:
    # forward 2*4*6 + 4*3 + 4*4*2 = 92; loss 7*4*1 + 1 = 29;
    # backward 2*4*6 + 2*4*2 + 4*3 + 3*4*2 + 4*4*1 = 116; SGD 2*9 = 18.
    assert bench.mlp_step_flops((2, 2, 1), 4, "sigmoid", "sigmoid_half_sse") == 255
    # M: the matmuls dominate (forward + dW + dX but the input layer's).
    total = bench.mlp_step_flops(bench.M_SIZES, 128)
    matmuls = 2 * 128 * (2 * 25856 + 16384 + 1280)
    assert bench.mlp_matmul_flops(bench.M_SIZES, 128) == matmuls
    assert matmuls < total < 1.02 * matmuls
    with pytest.raises(ValueError, match="hidden must be"):
        bench.mlp_step_flops((2, 1), 4, "tanh")


def test_traced_flop_count_matches_the_hand_counts():
    # The machine's count of a real training step: its matmuls are exactly the
    # hand count of M and of XOR (forward, dW, dX but the input layer's).
    digits = initlab.get_task("digits")
    m = bench.train_step_flops(digits, digits.default_model(), optax.sgd(0.1), 128)
    assert m["matmul"] == bench.mlp_matmul_flops(bench.M_SIZES, 128)
    # the other terms follow the same convention: within 0.1 % of the hand total
    hand = bench.mlp_step_flops(bench.M_SIZES, 128)
    assert abs(m["total"] - hand) < 1e-3 * hand
    xor = initlab.get_task("xor")
    t = bench.train_step_flops(xor, xor.default_model(), optax.sgd(0.5), 4)
    assert t["matmul"] == 2 * 4 * (2 * 6 + 2) == 112
    # MNIST-1D ConvBase as patches @ kernel, per example: convs 19*25*5*2,
    # 10*25*75*2, 5*25*75*2, head 125*10*2 = 63,500 forward, as much for dW,
    # and dX for all but the first layer 58,750; batch 100.
    task = mnist1d_task(stand_in=True)
    conv = bench.train_step_flops(task, initlab.models.conv_base(), optax.adam(1e-2),
                                  100)  # fmt: skip
    assert conv["matmul"] == 100 * (2 * 63_500 + 58_750)


def test_count_flops_loops_and_branches():
    x = jnp.ones((3, 4))
    w = jnp.ones((4, 4))

    def scanned(x, w):  # 5 x (matmul 2*3*4*4 + tanh 12)
        return jax.lax.scan(lambda h, _: (jnp.tanh(h @ w), None), x, None, length=5)[0]

    assert bench.count_flops(scanned, x, w) == {
        "matmul": 5 * 96, "other": 5 * 12, "total": 540, "while_loops": 0
    }  # fmt: skip

    def branch(p, x, w):  # the costlier branch: one matmul, not two adds
        return jax.lax.cond(p, lambda: x @ w, lambda: x + x + x)

    out = bench.count_flops(branch, True, x, w)
    assert out["matmul"] == 96 and out["other"] == 0
    # integer work and data movement are not counted
    assert bench.count_flops(lambda k: jnp.argsort(jnp.arange(9)[::-1] + k), 1) == {
        "matmul": 0, "other": 0, "total": 0, "while_loops": 0
    }  # fmt: skip


def test_stand_in_task_has_mnist1d_shapes():
    task = mnist1d_task(stand_in=True)
    assert task.x_train.shape == (4000, 40, 1) and task.x_test.shape == (1000, 40, 1)
    assert task.num_classes == 10 and task.defaults["optimizer"] == "adam"
    assert "stand-in" in task.name


def test_tiny_benchmark_writes_json_and_markdown(tmp_path):
    # the repository itself as the baseline tree: its rows run beside the lead
    argv = ["--tiny", "--parts", "T", "--out", str(tmp_path), "--baseline", str(ROOT)]
    assert bench.main(argv) == 0
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["versions"]["jax"]
    t = results["T"]
    assert t["flops_per_restart_step"] == 255
    rows = t["contenders"]
    assert "initlab (all devices)" in rows and "sequential JAX" in rows
    assert "initlab baseline (all devices)" in rows
    for row in rows.values():
        assert row["compile_s"] >= 0
        assert row["peak_rss_bytes"] > 0
        if row["kind"] == "matmul":
            assert row["gflops_median"] > 0
            continue
        assert row["restart_steps_per_s"] > 0
        assert row["restarts_run"] >= 1
        assert row["gflops"] > 0
    lead = rows["initlab (all devices)"]
    assert lead["plan"]["rows"] == results["plan"]["t_restarts"]
    assert lead["plan_summary"].startswith("plan: ")
    # torch present: its loop ran; absent: it is listed as skipped, saying why.
    assert "PyTorch loop" in rows or "PyTorch" in t["skipped"]["PyTorch loop"]
    verdicts = {x["target"]: x for x in results["targets"]}
    assert set(verdicts) == set(bench.TARGETS)
    assert verdicts["T vs initlab baseline"]["value"] > 0
    text = (tmp_path / "benchmark.md").read_text()
    assert "T: XOR 2-2-1" in text and "| initlab (all devices) |" in text
    assert "Plans chosen:" in text


def test_passes_pool_rounds_and_failures_are_skipped_with_the_reason():
    xor = dict(kind="jax_seq", task="xor", steps=5, batch=4, lr=0.5, optimizer="sgd",
               subset=2, budget_s=0.1)  # fmt: skip
    specs = {
        "sequential JAX": xor,
        "broken": dict(xor, task="no_such_task"),
        "ceiling": dict(kind="matmul", ceilings=[square_ceiling("tiny matmul", 64)]),
    }
    out = runner._run_workload("test", specs, reps=2, n_total=4, flops_per_step=255,
                               timeout=300, passes=2)  # fmt: skip
    row = out["contenders"]["sequential JAX"]
    assert len(row["restart_steps_per_s_all"]) == 4  # 2 passes x 2 rounds
    assert len(row["pass_medians"]) == 2 and len(row["compile_s_all"]) == 2
    assert row["extrapolated"] and row["restarts_run"] <= 2
    assert out["contenders"]["tiny matmul"]["gflops_median"] > 0
    assert "broken" not in out["contenders"]
    assert "no_such_task" in out["skipped"]["broken"]


def test_gpu_plan_tiny_runs_on_any_device(tmp_path, monkeypatch):
    # mnist1d "missing": the CNN trains on the stand-in and the output says so
    monkeypatch.setattr(runner, "have_mnist1d", lambda: False)
    argv = ["--plan", "gpu", "--tiny", "--parts", "CNN", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert results["plan"]["name"] == "gpu" and results["mnist1d_stand_in"]
    ceilings = results["ceilings"]["contenders"]
    assert {c["label"] for c in bench.gpu.gpu_ceilings(bench.GPU_PLANS["tiny"])} == set(
        ceilings
    )
    assert all(row["gflops_median"] > 0 for row in ceilings.values())
    cnn = results["CNN"]
    assert cnn["flops_counted"]["matmul"] == 100 * (2 * 63_500 + 58_750)
    rows = cnn["contenders"]
    assert {"initlab", "initlab (bf16)", "sequential JAX"} <= set(rows)
    for label in ("initlab", "initlab (bf16)"):
        row = rows[label]
        assert row["restart_steps_per_s"] > 0 and row["fraction_of_fp32"] > 0
        assert row["plan"]["chunk_size"] == bench.GPU_PLANS["tiny"].conv_restarts
    assert rows["initlab (bf16)"]["compute_dtype"] == "bfloat16"
    assert {x["target"] for x in results["targets"]} == set(bench.GPU_TARGETS)
    text = (tmp_path / "benchmark.md").read_text()
    assert "stand-in" in text and "### Ceilings" in text and "peak device" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--plan", "gpu", "--parts", "memory"], "unknown"),
        (["--parts", "CNN"], "unknown"),
        (["--plan", "gpu", "--passes", "2"], "belong to --plan cpu"),
        (["--reps", "0"], "positive"),
        (["--baseline", "/nonexistent-initlab-tree"], "no initlab package"),
    ],
)
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err
