"""Running: interleaved rounds over live workers, peak-RSS runs, the machine."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from initlab.bench.contenders import _NEEDS_TORCH, _Remote
from initlab.bench.report import _verdicts
from initlab.bench.workloads import (
    M_SIZES,
    T_SIZES,
    Plan,
    _m_specs,
    _t_specs,
    mlp_step_flops,
)


def _have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _run_workload(name: str, specs: dict[str, dict], reps: int, n_total: int,
                  flops_per_step: int, timeout: float) -> dict:  # fmt: skip
    """Starts every contender, runs ``reps`` interleaved rounds, summarizes."""
    remotes: dict[str, _Remote] = {}
    skipped: dict[str, str] = {}
    for label, spec in specs.items():
        if spec["kind"] in _NEEDS_TORCH and not _have_torch():
            skipped[label] = "PyTorch is not installed (pip install torch==2.13.0)"
            continue
        _log(f"[{name}] starting {label}")
        try:
            remotes[label] = _Remote(label, spec, timeout)
        except RuntimeError as err:
            skipped[label] = str(err)
    runs: dict[str, list[dict]] = {label: [] for label in remotes}
    order = list(remotes)
    try:
        for r in range(reps):
            shift = r % len(order) if order else 0
            for label in order[shift:] + order[:shift]:
                _log(f"[{name}] round {r + 1}/{reps}: {label}")
                runs[label].append(remotes[label].run())
    finally:
        rss = {label: remote.close() for label, remote in remotes.items()}
    ceiling = None
    if "matmul ceiling" in runs:
        ceiling = statistics.median(x["gflops"] for x in runs["matmul ceiling"])
    rows = {}
    for label, reps_out in runs.items():
        spec, remote = specs[label], remotes[label]
        row: dict[str, Any] = {
            "kind": spec["kind"],
            "compile_s": remote.compile_s,
            "peak_rss_bytes": rss[label],
        }
        if spec["kind"] == "matmul":
            g = [x["gflops"] for x in reps_out]
            row.update(gflops_median=statistics.median(g), gflops_min=min(g),
                       gflops_max=max(g))  # fmt: skip
            rows[label] = row
            continue
        steps = spec["steps"]
        rate = [
            x["restarts_run"] * x.get("steps_run", steps) / x["seconds"]
            for x in reps_out
        ]
        run_n = min(x["restarts_run"] for x in reps_out)
        steps_run = min(x.get("steps_run", steps) for x in reps_out)
        med = statistics.median(rate)
        row.update(
            restarts_run=run_n,
            steps_run=steps_run,
            extrapolated=run_n < n_total or steps_run < steps,
            seconds=[x["seconds"] for x in reps_out],
            seconds_for_all=n_total * steps / med,
            restart_steps_per_s=med,
            restart_steps_per_s_min=min(rate),
            restart_steps_per_s_max=max(rate),
            gflops=med * flops_per_step / 1e9,
        )
        if spec["kind"] == "initlab":
            row["compile_s_per_call"] = statistics.median(
                x["compile_s"] for x in reps_out
            )
            row["devices"] = reps_out[0]["devices"]
        if ceiling:
            row["fraction_of_ceiling"] = row["gflops"] / ceiling
        rows[label] = row
    return {
        "restarts": n_total,
        "flops_per_restart_step": flops_per_step,
        "matmul_ceiling_gflops": ceiling,
        "contenders": rows,
        "skipped": skipped,
    }


def _run_memory(plan: Plan, timeout: float) -> dict:
    """Peak RSS of ``initlab.train`` on M: N restarts whole, and many chunked."""
    out = {}
    cases = {
        f"N={plan.mem_restarts}": dict(num_restarts=plan.mem_restarts),
        f"N={plan.mem_big_restarts}, chunk_size={plan.mem_chunk}": dict(
            num_restarts=plan.mem_big_restarts, chunk_size=plan.mem_chunk
        ),
    }
    for label, extra in cases.items():
        spec = dict(kind="initlab", task="digits", steps=plan.mem_steps, **extra)
        _log(f"[memory] {label}")
        try:
            remote = _Remote(label, spec, timeout)
        except RuntimeError as err:
            out[label] = {"error": str(err)}
            continue
        first_wall = None
        with contextlib.suppress(Exception):
            first_wall = remote.run()["wall_s"]
        rss = remote.close()
        out[label] = dict(extra, steps=plan.mem_steps, peak_rss_bytes=rss,
                          wall_s=first_wall)  # fmt: skip
    return out


def machine_info() -> dict:
    """CPU model, core count, memory, OS and library versions of this machine.

    Returns:
      a JSON-ready dict.

    Example:
      >>> machine_info()["cores"]
      2
    """
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    versions = {}
    for pkg in ("jax", "jaxlib", "optax", "flax", "numpy", "torch"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def run_benchmark(plan: Plan, parts: Sequence[str] = ("M", "T", "memory"),
                  timeout: float = 900.0) -> dict:  # fmt: skip
    """Runs the benchmark and returns its JSON-ready results.

    Args:
      plan: the sizes (``PLANS["full"]``, ``"quick"`` or ``"tiny"``).
      parts: which of "M", "T", "memory" to run.
      timeout: seconds any one worker reply may take.

    Returns:
      a dict with ``machine``, ``plan``, one entry per part and ``targets``.

    Example:
      >>> results = run_benchmark(PLANS["tiny"], parts=("T",))
    """
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="initlab-bench-")
    results: dict[str, Any] = {
        "machine": machine_info(),
        "plan": dataclasses.asdict(plan),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if "M" in parts:
        results["M"] = _run_workload(
            "M", _with_data(_m_specs(plan), tmp.name), plan.reps, plan.m_restarts,
            mlp_step_flops(M_SIZES, 128, "relu", "ce"), timeout,
        )  # fmt: skip
        results["M"]["steps"] = plan.m_steps
    if "T" in parts:
        results["T"] = _run_workload(
            "T", _with_data(_t_specs(plan), tmp.name), plan.reps, plan.t_restarts,
            mlp_step_flops(T_SIZES, 4, "sigmoid", "sigmoid_half_sse"), timeout,
        )  # fmt: skip
        results["T"]["steps"] = plan.t_steps
    if "memory" in parts:
        results["memory"] = _run_memory(plan, timeout)
    results["targets"] = _verdicts(results)
    results["wall_s"] = time.perf_counter() - t0
    tmp.cleanup()
    return results


def _with_data(specs: dict[str, dict], folder: str) -> dict[str, dict]:
    """Saves each task's training set for the torch workers; adds its path."""
    import numpy as np

    from initlab.tasks import get_task

    out = {}
    for label, spec in specs.items():
        if spec["kind"] in _NEEDS_TORCH:
            path = Path(folder) / f"{spec['task']}.npz"
            if not path.exists():
                task = get_task(spec["task"])
                np.savez(path, x=task.x_train, y=task.y_train)
            spec = dict(spec, data=str(path))
        out[label] = spec
    return out
