"""The benchmark runs in its tiny modes and writes valid JSON (no timing asserts)."""

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
import pytest

import initlab
from initlab import bench
from initlab.bench import contenders, gpu, runner
from initlab.bench.workloads import mnist1d_task

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
    # (MNIST-1D's CNN: test_flops_contender_counts_the_stand_in_cnn)


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
    lead = rows["initlab (all devices)"]
    assert lead["device"]["initlab"] == str(ROOT / "initlab")
    assert lead["plan"]["rows"] == results["plan"]["t_restarts"]
    assert lead["plan_summary"].startswith("plan: ")
    # torch present: its loop ran; absent: it is listed as skipped, saying why.
    assert "PyTorch loop" in rows or "PyTorch" in t["skipped"]["PyTorch loop"]
    names = {x["target"] for x in results["targets"]}
    assert names == set(bench.TARGETS)
    text = (tmp_path / "benchmark.md").read_text()
    assert "T: XOR 2-2-1" in text and "| initlab (all devices) |" in text
    assert "Plans chosen:" in text


def test_baseline_rows_run_the_other_tree_in_the_same_rounds(tmp_path):
    # A baseline tree whose initlab refuses to import: its worker must fail
    # saying so (it imported initlab from there, not from this repository).
    # A full baseline run costs as much as the lead's: the specs and the
    # verdict are checked without one.
    (tmp_path / "initlab").mkdir()
    (tmp_path / "initlab" / "__init__.py").write_text(
        "raise ImportError('the baseline tree was imported')\n"
    )
    base = str(tmp_path)
    specs = runner._t_specs(bench.PLANS["tiny"], base)
    lead = specs["initlab (all devices)"]
    other = specs["initlab baseline (all devices)"]
    assert other == dict(lead, pythonpath=base)
    with pytest.raises(RuntimeError, match="the baseline tree was imported"):
        contenders._Remote("baseline", other, timeout=120)
    assert list(runner._m_specs(bench.PLANS["tiny"], base))[:2] == [
        "initlab (all devices)", "initlab baseline (all devices)"
    ]  # fmt: skip
    assert "initlab baseline (all devices)" not in runner._t_specs(bench.PLANS["tiny"])
    rate = {"restart_steps_per_s": 10.0}
    results = {
        "T": {
            "contenders": {
                "initlab (all devices)": {"restart_steps_per_s": 9.0},
                "initlab baseline (all devices)": rate,
            }
        }
    }
    verdicts = {v["target"]: v for v in bench.report._verdicts(results)}
    assert verdicts["T vs initlab baseline"]["value"] == 0.9
    assert verdicts["T vs initlab baseline"]["met"] is False  # goal 0.95
    assert verdicts["M vs initlab baseline"]["met"] is None


def test_a_worker_that_fails_to_start_says_why():
    # a real worker process (stdlib only until it loads its contender)
    with pytest.raises(RuntimeError, match="unknown contender kind 'no_such_kind'"):
        contenders._Remote("broken", {"kind": "no_such_kind"}, timeout=60)
    skipped = {}
    assert (
        runner._start("test", "broken", {"kind": "no_such_kind"}, 60, skipped) is None
    )
    assert "no_such_kind" in skipped["broken"]


class _FakeWorker:
    """Stands in for a worker process: scripted replies, every call logged.

    A rate contender replies ``spec["seconds"]`` one at a time (a list shared
    by every worker of that spec, so fresh workers continue the script); a
    "flops" worker echoes its items and environment. ``spec["fail"]`` or
    ``fail[name]`` is "start" or "run": where it fails.
    """

    log: list[tuple[str, str]] = []
    fail: dict[str, str] = {}

    def __init__(self, name, spec, timeout):
        self.name, self.spec = name, spec
        self.failing = spec.get("fail") or self.fail.get(name)
        self.log.append(("start", name))
        if self.failing == "start":
            raise RuntimeError("worker exited: ValueError: no_such_task")
        self.compile_s, self.info, self.peak_device_bytes = 0.5, {"p": 1}, None

    def run(self):
        self.log.append(("run", self.name))
        if self.failing == "run":
            raise RuntimeError(f"{self.name}: MemoryError: out of memory")
        if self.spec["kind"] == "flops":
            env = self.spec["env"]
            return {
                "seconds": 0.0,
                "flops": {k: dict(v, env=env) for k, v in self.spec["items"].items()},
            }
        return {"seconds": self.spec["seconds"].pop(0), "restarts_run": 2}

    def close(self):
        self.log.append(("close", self.name))
        return 1000


@pytest.fixture
def fake_workers(monkeypatch):
    monkeypatch.setattr(runner, "_Remote", _FakeWorker)
    monkeypatch.setattr(_FakeWorker, "log", [])
    monkeypatch.setattr(_FakeWorker, "fail", {})
    return _FakeWorker.log


def test_passes_pool_rounds_in_rotated_order_with_fresh_workers(fake_workers):
    # 2 passes x 2 rounds; restarts_run 2 x steps 5 = 10 restart-steps a reply
    specs = {
        "a": dict(kind="jax_seq", steps=5, seconds=[1.0, 2.0, 4.0, 5.0]),
        "b": dict(kind="jax_seq", steps=5, seconds=[1.0, 1.0, 1.0, 1.0]),
        "oom": dict(kind="jax_seq", steps=5, fail="run"),
        "broken": dict(kind="jax_seq", steps=5, fail="start"),
    }
    out = runner._run_workload("test", specs, reps=2, n_total=4, flops_per_step=10,
                               timeout=1, passes=2)  # fmt: skip
    row = out["contenders"]["a"]
    assert row["restart_steps_per_s_all"] == [10.0, 5.0, 2.5, 2.0]
    assert row["restart_steps_per_s"] == 3.75  # the median of the four
    assert row["pass_medians"] == [7.5, 2.25]
    assert row["compile_s_all"] == [0.5, 0.5] and row["peak_rss_bytes"] == 1000
    assert row["extrapolated"] and row["seconds_for_all"] == 4 * 5 / 3.75
    assert row["gflops"] == 3.75 * 10 / 1e9
    # failures: skipped with the worker's reason, not asked again
    assert set(out["contenders"]) == {"a", "b"}
    assert "MemoryError" in out["skipped"]["oom"]
    assert "no_such_task" in out["skipped"]["broken"]
    # every pass starts fresh workers; each round rotates the order by one
    starts = [name for what, name in fake_workers if what == "start"]
    assert starts == ["a", "b", "oom", "broken"] * 2
    runs = [name for what, name in fake_workers if what == "run"]
    assert runs == ["a", "b", "oom", "b", "a", "a", "b", "a", "b"]
    closes = sorted(name for what, name in fake_workers if what == "close")
    assert closes == ["a", "a", "b", "b", "oom", "oom"]


def test_one_at_a_time_and_the_deadline(fake_workers):
    specs = {"a": dict(kind="jax_seq", steps=5, seconds=[1.0, 2.0]),
             "b": dict(kind="jax_seq", steps=5, seconds=[1.0, 1.0])}  # fmt: skip
    out = runner._run_workload("test", specs, reps=2, n_total=2, flops_per_step=None,
                               timeout=1, one_at_a_time=True)  # fmt: skip
    assert fake_workers == [("start", "a"), ("run", "a"), ("run", "a"),
                            ("close", "a"), ("start", "b"), ("run", "b"),
                            ("run", "b"), ("close", "b")]  # fmt: skip
    assert out["contenders"]["a"]["restart_steps_per_s_all"] == [10.0, 5.0]
    assert not out["contenders"]["a"]["extrapolated"]
    fake_workers.clear()
    late = runner._run_workload("test", specs, reps=2, n_total=2, flops_per_step=None,
                                timeout=1, one_at_a_time=True,
                                deadline=time.monotonic() - 1)  # fmt: skip
    assert fake_workers == [] and late["contenders"] == {}
    assert set(late["skipped"]) == {"a", "b"}
    assert all("deadline" in why for why in late["skipped"].values())


def test_flop_counts_come_from_a_cpu_only_worker(fake_workers):
    items = {"CNN": dict(task="mnist1d", stand_in=True)}
    counts, error = gpu._count_flops(items, timeout=1)
    assert error is None
    assert counts == {"CNN": dict(items["CNN"], env={"JAX_PLATFORMS": "cpu"})}
    assert fake_workers == [("start", "flops"), ("run", "flops"), ("close", "flops")]
    _FakeWorker.fail["flops"] = "run"
    counts, error = gpu._count_flops(items, timeout=1)
    assert counts == {} and "MemoryError" in error
    _FakeWorker.fail["flops"] = "start"
    counts, error = gpu._count_flops(items, timeout=1)
    assert counts == {} and "no_such_task" in error


def test_flops_contender_counts_the_stand_in_cnn():
    # The worker's FLOP counter, run here (its module loaded by path, as the
    # worker loads it). MNIST-1D ConvBase as patches @ kernel, per example:
    # convs 19*25*5*2, 10*25*75*2, 5*25*75*2, head 125*10*2 = 63,500 forward,
    # as much for dW, and dX for all but the first layer 58,750; batch 100.
    item = dict(task="mnist1d", stand_in=True, model="mnist1d_conv",
                optimizer="adam", lr=1e-2, batch=100)  # fmt: skip
    counter = contenders._load("flops")({"items": {"CNN": item}})
    assert counter.setup() == 0.0
    counts = counter.run()["flops"]
    assert counts["CNN"]["matmul"] == 100 * (2 * 63_500 + 58_750)
    workloads = bench.gpu_workloads(bench.GPU_PLANS["tiny"], stand_in=True)
    assert "stand-in" in workloads["CNN"]["title"]
    assert workloads["CNN"]["contenders"]["initlab"]["stand_in"]


def test_gpu_plan_tiny_runs_on_any_device(tmp_path):
    # XOR only (the cheapest to compile); every GPU workload runs the same way
    # (PYTHONPATH=. python scripts/bench.py --plan gpu --tiny)
    argv = ["--plan", "gpu", "--tiny", "--parts", "T", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert results["plan"]["name"] == "gpu"
    ceilings = results["ceilings"]["contenders"]
    labels = {c["label"] for c in bench.gpu.gpu_ceilings(bench.GPU_PLANS["tiny"])}
    assert labels == set(ceilings)
    assert all(row["gflops_median"] > 0 for row in ceilings.values())
    rows = results["T"]["contenders"]
    assert {"initlab", "sequential JAX"} <= set(rows)
    lead = rows["initlab"]
    assert lead["restart_steps_per_s"] > 0
    fp32 = ceilings["fp32 matmul"]["gflops_median"]
    assert lead["fraction_of_fp32"] == pytest.approx(lead["gflops"] / fp32)
    assert "fraction_of_m_shapes" not in lead  # XOR is not M
    assert lead["plan"]["chunk_size"] == bench.GPU_PLANS["tiny"].t_restarts
    assert lead["device"]["platform"] == jax.default_backend()
    assert "torch.func" in rows or "PyTorch" in results["T"]["skipped"]["torch.func"]
    assert {x["target"] for x in results["targets"]} == set(bench.GPU_TARGETS)
    text = (tmp_path / "benchmark.md").read_text()
    assert "### Ceilings" in text and "peak device" in text and "Plans chosen" in text


def test_gpu_plan_past_its_deadline_starts_nothing_and_still_writes(monkeypatch):
    monkeypatch.setattr(gpu, "have_mnist1d", lambda: False)  # no data to generate
    calls = []
    results = bench.run_gpu_benchmark(bench.GPU_PLANS["tiny"], ("T", "CNN"),
                                      deadline_s=0, on_part=calls.append)  # fmt: skip
    assert len(calls) == 3  # after the ceilings and after each part
    assert results["ceilings"]["contenders"] == {}
    planned = bench.gpu_workloads(bench.GPU_PLANS["tiny"])
    for part in ("T", "CNN"):
        skipped = results[part]["skipped"]
        assert results[part]["contenders"] == {}
        assert set(skipped) == set(planned[part]["contenders"])
        assert all("deadline" in why for why in skipped.values())
    assert "flops_error" not in results and results["CNN"]["flops_counted"] is None
    assert results["mnist1d_stand_in"] and "stand-in" in results["CNN"]["title"]
    assert all(t["met"] is None for t in results["targets"])
    assert "skipped: not run: the deadline" in bench.to_markdown(results)


def test_run_functions_check_their_arguments():
    tiny = bench.GPU_PLANS["tiny"]
    with pytest.raises(TypeError, match="GpuPlan"):
        bench.run_gpu_benchmark(bench.PLANS["tiny"])
    with pytest.raises(TypeError, match="sequence of part names"):
        bench.run_gpu_benchmark(tiny, "T")
    with pytest.raises(ValueError, match="unknown parts"):
        bench.run_gpu_benchmark(tiny, ("memory",))
    with pytest.raises(ValueError, match=">= 0"):
        bench.run_gpu_benchmark(tiny, ("T",), deadline_s=-1)
    with pytest.raises(TypeError, match="callable"):
        bench.run_gpu_benchmark(tiny, ("T",), on_part="print")
    with pytest.raises(TypeError, match="must be a Plan"):
        bench.run_benchmark(tiny)
    with pytest.raises(ValueError, match="unknown parts"):
        bench.run_benchmark(bench.PLANS["tiny"], ("CNN",))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--plan", "gpu", "--parts", "memory"], "unknown"),
        (["--parts", "CNN"], "unknown"),
        (["--plan", "gpu", "--passes", "2"], "belong to --plan cpu"),
        (["--reps", "0"], "positive"),
        (["--baseline", "/nonexistent-initlab-tree"], "no initlab package"),
        (["--deadline", "60"], "belongs to --plan gpu"),
        (["--plan", "gpu", "--deadline", "-1"], ">= 0"),
    ],
)
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err
