"""Running: rounds over worker processes, peak-memory runs, the machine.

CPU plan: every contender of a workload alive at once, asked for repetitions
in rotated, interleaved rounds (one busy at a time), the whole thing repeated
``passes`` times with fresh workers. GPU plan: one contender alive at a time
(all of the device's memory is its own, and so is its peak), ``reps`` runs
each.
"""

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
from initlab.bench.gpu import GPU_PARTS, GpuPlan, gpu_ceilings, gpu_workloads
from initlab.bench.report import _gpu_verdicts, _verdicts
from initlab.bench.workloads import (
    M_SIZES,
    T_SIZES,
    Plan,
    _m_specs,
    _t_specs,
    bench_task,
    have_mnist1d,
    mlp_step_flops,
)


def _have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Collected:
    """Every repetition, compile time and peak of one contender, over passes."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.compile_s: list[float] = []
        self.rss: list[int] = []
        self.device: list[int] = []
        self.info: dict = {}
        self.error: str | None = None

    def close(self, remote: _Remote) -> None:
        rss = remote.close()
        if rss is not None:
            self.rss.append(rss)
        if remote.peak_device_bytes is not None:
            self.device.append(remote.peak_device_bytes)


def _start(name: str, label: str, spec: dict, timeout: float,
           skipped: dict[str, str]) -> _Remote | None:  # fmt: skip
    if spec["kind"] in _NEEDS_TORCH and not _have_torch():
        skipped[label] = "PyTorch is not installed (pip install torch==2.13.0)"
        return None
    _log(f"[{name}] starting {label}")
    try:
        return _Remote(label, spec, timeout)
    except RuntimeError as err:
        skipped[label] = str(err)
        return None


def _ask(name: str, label: str, remote: _Remote, got: _Collected) -> bool:
    """One repetition; False (and the error kept) if the worker failed."""
    try:
        got.runs.append(remote.run())
        return True
    except RuntimeError as err:
        got.error = str(err)
        _log(f"[{name}] {label} failed: {err}")
        return False


def _collect(name: str, specs: dict[str, dict], reps: int, passes: int,
             timeout: float, one_at_a_time: bool,
             skipped: dict[str, str]) -> dict[str, _Collected]:  # fmt: skip
    """Runs every contender ``passes`` x ``reps`` times (see the module doc)."""
    got = {label: _Collected() for label in specs}
    for p in range(passes):
        tag = f"pass {p + 1}/{passes}, " if passes > 1 else ""
        if one_at_a_time:
            for label, spec in specs.items():
                remote = _start(name, label, spec, timeout, skipped)
                if remote is None:
                    continue
                g = got[label]
                g.compile_s.append(remote.compile_s)
                g.info = remote.info
                try:
                    for r in range(reps):
                        _log(f"[{name}] {tag}run {r + 1}/{reps}: {label}")
                        if not _ask(name, label, remote, g):
                            break
                finally:
                    g.close(remote)
            continue
        remotes: dict[str, _Remote] = {}
        try:
            for label, spec in specs.items():
                remote = _start(name, label, spec, timeout, skipped)
                if remote is not None:
                    remotes[label] = remote
                    got[label].compile_s.append(remote.compile_s)
                    got[label].info = remote.info
            order = list(remotes)
            for r in range(reps):
                shift = (p * reps + r) % len(order) if order else 0
                for label in order[shift:] + order[:shift]:
                    if got[label].error is None:
                        _log(f"[{name}] {tag}round {r + 1}/{reps}: {label}")
                        _ask(name, label, remotes[label], got[label])
        finally:
            for label, remote in remotes.items():
                got[label].close(remote)
    return got


def _run_workload(name: str, specs: dict[str, dict], reps: int, n_total: int,
                  flops_per_step: int | None, timeout: float, passes: int = 1,
                  one_at_a_time: bool = False) -> dict:  # fmt: skip
    """Runs a workload's contenders (see :func:`_collect`), summarizes them."""
    skipped: dict[str, str] = {}
    got = _collect(name, specs, reps, passes, timeout, one_at_a_time, skipped)
    rows: dict[str, dict] = {}
    for label, g in got.items():
        if label in skipped:
            continue
        if g.error is not None or not g.runs:
            skipped[label] = g.error or "no repetition finished"
            continue
        spec = specs[label]
        common: dict[str, Any] = {
            "kind": spec["kind"],
            "compile_s": statistics.median(g.compile_s),
            "peak_rss_bytes": max(g.rss) if g.rss else None,
            "peak_device_bytes": max(g.device) if g.device else None,
            "device": g.info,
        }
        if spec["kind"] == "matmul":
            for ceiling in g.runs[0]["gflops"]:
                x = [run["gflops"][ceiling] for run in g.runs]
                rows[ceiling] = dict(common, gflops_median=statistics.median(x),
                                     gflops_min=min(x), gflops_max=max(x),
                                     gflops_all=x)  # fmt: skip
            continue
        steps = spec["steps"]
        rate = [
            x["restarts_run"] * x.get("steps_run", steps) / x["seconds"] for x in g.runs
        ]
        run_n = min(x["restarts_run"] for x in g.runs)
        steps_run = min(x.get("steps_run", steps) for x in g.runs)
        med = statistics.median(rate)
        row = dict(
            common,
            restarts_run=run_n,
            steps_run=steps_run,
            extrapolated=run_n < n_total or steps_run < steps,
            seconds=[x["seconds"] for x in g.runs],
            seconds_for_all=n_total * steps / med,
            restart_steps_per_s=med,
            restart_steps_per_s_min=min(rate),
            restart_steps_per_s_max=max(rate),
            restart_steps_per_s_all=rate,
            compile_s_all=g.compile_s,
        )
        if flops_per_step:
            row["gflops"] = med * flops_per_step / 1e9
        if passes > 1:
            per = len(rate) // passes
            row["pass_medians"] = [
                statistics.median(rate[i * per : (i + 1) * per]) for i in range(passes)
            ] if per else []  # fmt: skip
        if spec["kind"] == "initlab":
            first = g.runs[0]
            per_call = statistics.median(x["compile_s"] for x in g.runs)
            row["compile_s_per_call"] = per_call
            row["devices"] = first["devices"]
            row["evaluations"] = first.get("evaluations")
            for key in ("plan", "plan_summary"):
                if key in first:
                    row[key] = first[key]
            for key in ("compute_dtype", "eval_schedule", "eval_every", "pythonpath"):
                if spec.get(key) is not None:
                    row[key] = spec[key]
        rows[label] = row
    ceiling = rows.get("matmul ceiling", {}).get("gflops_median")
    if ceiling:
        for row in rows.values():
            if "gflops" in row:
                row["fraction_of_ceiling"] = row["gflops"] / ceiling
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
        spec = dict(kind="initlab", task="digits", steps=plan.mem_steps, batch=128,
                    lr=0.1, optimizer="sgd", **extra)  # fmt: skip
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


def run_benchmark(
    plan: Plan,
    parts: Sequence[str] = ("M", "T", "memory"),
    timeout: float = 900.0,
    baseline: str | None = None,
) -> dict:
    """Runs the CPU benchmark and returns its JSON-ready results.

    Args:
      plan: the sizes (``PLANS["full"]``, ``"quick"`` or ``"tiny"``).
      parts: which of "M", "T", "memory" to run.
      timeout: seconds any one worker reply may take.
      baseline: a folder holding another initlab (``<folder>/initlab``), e.g.
        an older commit's; M and T then also run it ("initlab baseline") in
        the same rounds: a regression check that load cannot fake.

    Returns:
      a dict with ``machine``, ``plan``, one entry per part and ``targets``.

    Raises:
      ValueError: a baseline folder without an ``initlab`` package.

    Example:
      >>> results = run_benchmark(PLANS["tiny"], parts=("T",))
    """
    if baseline is not None:
        baseline = str(Path(baseline).resolve())
        if not (Path(baseline) / "initlab" / "__init__.py").exists():
            raise ValueError(
                f"run_benchmark: baseline {baseline!r} has no initlab package; "
                "give the folder that holds initlab/ (e.g. `git archive COMMIT "
                "initlab | tar -x -C FOLDER`)."
            )
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="initlab-bench-")
    results: dict[str, Any] = {
        "machine": machine_info(),
        "plan": dict(dataclasses.asdict(plan), name="cpu"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_before": _load_average(),
    }
    if baseline:
        results["baseline"] = baseline
    if "M" in parts:
        results["M"] = _run_workload(
            "M", _with_data(_m_specs(plan, baseline), tmp.name), plan.reps,
            plan.m_restarts, mlp_step_flops(M_SIZES, 128, "relu", "ce"), timeout,
            passes=plan.passes,
        )  # fmt: skip
        results["M"]["steps"] = plan.m_steps
    if "T" in parts:
        results["T"] = _run_workload(
            "T", _with_data(_t_specs(plan, baseline), tmp.name), plan.reps,
            plan.t_restarts, mlp_step_flops(T_SIZES, 4, "sigmoid", "sigmoid_half_sse"),
            timeout, passes=plan.passes,
        )  # fmt: skip
        results["T"]["steps"] = plan.t_steps
    if "memory" in parts:
        results["memory"] = _run_memory(plan, timeout)
    results["targets"] = _verdicts(results)
    results["load_after"] = _load_average()
    results["wall_s"] = time.perf_counter() - t0
    tmp.cleanup()
    return results


def run_gpu_benchmark(plan: GpuPlan, parts: Sequence[str] = GPU_PARTS) -> dict:
    """Runs the GPU plan (see ``initlab.bench.gpu``) on the device JAX has.

    Every contender runs alone (one worker at a time, ``plan.reps`` runs),
    JAX workers with ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so the peak of
    bytes in use is the contender's own. The ceilings run first; the FLOPs of
    the CNN and GRU steps are read off their traced programs (on the CPU).

    Args:
      plan: ``GPU_PLANS["full"]``, ``"quick"`` or ``"tiny"`` (tiny runs on
        whatever device JAX has, the CPU in tests).
      parts: a subset of ``GPU_PARTS``.

    Returns:
      a dict with ``machine``, ``device``, ``plan``, ``ceilings``, one entry
      per part and ``targets``.

    Raises:
      ValueError: an unknown part.

    Example:
      >>> results = run_gpu_benchmark(GPU_PLANS["tiny"], parts=("T",))
    """
    unknown = set(parts) - set(GPU_PARTS)
    if unknown:
        raise ValueError(
            f"run_gpu_benchmark: unknown parts {sorted(unknown)}; allowed {GPU_PARTS}."
        )
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="initlab-bench-")
    stand_in = not have_mnist1d()
    env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    workloads = gpu_workloads(plan, stand_in)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "plan": dict(dataclasses.asdict(plan), name="gpu"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "mnist1d_stand_in": stand_in,
    }
    if stand_in and {"CNN", "GRU"} & set(parts):
        _log(
            "[gpu] mnist1d is not installed: the CNN and GRU train on random "
            "data of MNIST-1D's shapes (throughput does not depend on values)"
        )
    ceilings = _run_workload(
        "ceilings", {"ceilings": dict(kind="matmul", ceilings=gpu_ceilings(plan),
                                      env=env)},
        plan.reps, 1, None, plan.timeout_s, one_at_a_time=True,
    )  # fmt: skip
    results["ceilings"] = ceilings
    rates = {k: v["gflops_median"] for k, v in ceilings["contenders"].items()}
    counted = {}
    need = [k for k in parts if workloads[k]["flops"] is None]
    if need:
        items = {}
        for key in need:
            spec = next(iter(workloads[key]["contenders"].values()))
            fields = ("task", "stand_in", "model", "optimizer", "lr", "batch")
            items[key] = {k: spec[k] for k in fields}
        counted, error = _count_flops(items, plan.timeout_s)
        if error:
            results["flops_error"] = error
    for key in parts:
        w = workloads[key]
        flops = w["flops"] or counted.get(key, {}).get("total")
        specs = {label: dict(spec, env=env) for label, spec in w["contenders"].items()}
        r = _run_workload(key, _with_data(specs, tmp.name), plan.reps, w["restarts"],
                          flops, plan.timeout_s, one_at_a_time=True)  # fmt: skip
        r.update(title=w["title"], steps=w["steps"], mlp=w["mlp"],
                 flops_counted=counted.get(key))  # fmt: skip
        for row in r["contenders"].values():
            if "gflops" not in row:
                continue
            tag = "bf16" if row.get("compute_dtype") == "bfloat16" else "fp32"
            for name, label in (("fraction_of_fp32", "fp32 matmul"),
                                ("fraction_of_bf16", "bf16 matmul"),
                                ("fraction_of_m_shapes",
                                 f"M shapes N={w['restarts']} {tag}")):  # fmt: skip
                if rates.get(label) and (name != "fraction_of_m_shapes" or w["mlp"]):
                    row[name] = row["gflops"] / rates[label]
        results[key] = r
    results["device"] = next(
        (row["device"] for part in [ceilings, *(results[k] for k in parts)]
         for row in part["contenders"].values() if row.get("device")), {}
    )  # fmt: skip
    results["targets"] = _gpu_verdicts(results)
    results["wall_s"] = time.perf_counter() - t0
    tmp.cleanup()
    return results


def _count_flops(items: dict[str, dict], timeout: float) -> tuple[dict, str | None]:
    """FLOP counts of the items' training steps, from a CPU-only worker."""
    skipped: dict[str, str] = {}
    spec = dict(kind="flops", items=items, env={"JAX_PLATFORMS": "cpu"})
    remote = _start("flops", "flops", spec, timeout, skipped)
    if remote is None:
        return {}, skipped["flops"]
    try:
        return remote.run()["flops"], None
    except RuntimeError as err:
        return {}, str(err)
    finally:
        remote.close()


def _load_average() -> list[float] | None:
    with contextlib.suppress(OSError, AttributeError):
        return [round(x, 2) for x in os.getloadavg()]
    return None


def _with_data(specs: dict[str, dict], folder: str) -> dict[str, dict]:
    """Saves each task's training set for the torch workers; adds its path."""
    import numpy as np

    out = {}
    for label, spec in specs.items():
        if spec["kind"] in _NEEDS_TORCH:
            stand_in = spec.get("stand_in", False)
            name = spec["task"] + ("-stand-in" if stand_in else "")
            path = Path(folder) / f"{name}.npz"
            if not path.exists():
                task = bench_task(spec["task"], stand_in)
                np.savez(path, x=task.x_train, y=task.y_train)
            spec = dict(spec, data=str(path))
        out[label] = spec
    return out
