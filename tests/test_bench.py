"""The benchmark runs in its tiny mode and writes valid JSON (no timing asserts)."""

import json

import pytest

from initlab import bench


def test_flop_count_by_hand():
    # XOR 2-2-1 sigmoid, half SSE, batch 4, counted term by term:
    # forward 2*4*6 + 4*3 + 4*4*2 = 92; loss 7*4*1 + 1 = 29;
    # backward 2*4*6 + 2*4*2 + 4*3 + 3*4*2 + 4*4*1 = 116; SGD 2*9 = 18.
    assert bench.mlp_step_flops((2, 2, 1), 4, "sigmoid", "sigmoid_half_sse") == 255
    # M: the matmuls dominate (forward + dW + dX but the input layer's).
    total = bench.mlp_step_flops(bench.M_SIZES, 128)
    matmuls = 2 * 128 * (2 * 25856 + 16384 + 1280)
    assert matmuls < total < 1.02 * matmuls
    with pytest.raises(ValueError, match="hidden must be"):
        bench.mlp_step_flops((2, 1), 4, "tanh")


def test_tiny_benchmark_writes_json_and_markdown(tmp_path):
    assert bench.main(["--tiny", "--parts", "T", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["versions"]["jax"]
    t = results["T"]
    assert t["flops_per_restart_step"] == 255
    rows = t["contenders"]
    assert "initlab (all devices)" in rows and "sequential JAX" in rows
    for row in rows.values():
        assert row["compile_s"] >= 0
        assert row["peak_rss_bytes"] > 0
        if row["kind"] == "matmul":
            assert row["gflops_median"] > 0
            continue
        assert row["restart_steps_per_s"] > 0
        assert row["restarts_run"] >= 1
        assert row["gflops"] > 0
    # torch present: its loop ran; absent: it is listed as skipped, saying why.
    assert "PyTorch loop" in rows or "PyTorch" in t["skipped"]["PyTorch loop"]
    names = {x["target"] for x in results["targets"]}
    assert names == set(bench.TARGETS)
    text = (tmp_path / "benchmark.md").read_text()
    assert "T: XOR 2-2-1" in text and "| initlab (all devices) |" in text
