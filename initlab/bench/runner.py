"""Running: rounds over worker processes, peak-memory runs, the machine.

CPU plan (:func:`run_benchmark`): every contender of a workload alive at
once, asked for repetitions in rotated, interleaved rounds (one busy at a
time), the whole thing repeated ``passes`` times with fresh workers. The GPU
plan (``initlab.bench.gpu``) runs through :func:`_run_workload` with one
contender alive at a time (all of the device's memory is its own, and so is
its peak), ``reps`` runs each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median
from tempfile import TemporaryDirectory
from typing import Any

from initlab._checks import number
from initlab.bench.contenders import _NEEDS_TORCH, _Remote
from initlab.bench.report import _verdicts
from initlab.bench.workloads import (
    M_SIZES,
    T_SIZES,
    Plan,
    _m_specs,
    _t_specs,
    bench_task,
    mlp_step_flops,
)

# Parts of the CPU plan (``--parts``).
CPU_PARTS = ("M", "T", "memory")


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
             timeout: float, one_at_a_time: bool, skipped: dict[str, str],
             deadline: float | None = None) -> dict[str, _Collected]:  # fmt: skip
    """Runs every contender ``passes`` x ``reps`` times (see the module doc).

    One at a time, a contender whose turn comes past ``deadline`` (a
    ``time.monotonic()`` value) is not started: skipped, saying so.
    """
    got = {label: _Collected() for label in specs}
    for p in range(passes):
        tag = f"pass {p + 1}/{passes}, " if passes > 1 else ""
        if one_at_a_time:
            for label, spec in specs.items():
                if deadline is not None and time.monotonic() > deadline:
                    skipped[label] = "not run: the deadline (--deadline) had passed"
                    continue
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
                  one_at_a_time: bool = False,
                  deadline: float | None = None) -> dict:  # fmt: skip
    """Runs a workload's contenders (see :func:`_collect`), summarizes them."""
    skipped: dict[str, str] = {}
    got = _collect(name, specs, reps, passes, timeout, one_at_a_time, skipped,
                   deadline)  # fmt: skip
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
            "compile_s": median(g.compile_s),
            "peak_rss_bytes": max(g.rss) if g.rss else None,
            "peak_device_bytes": max(g.device) if g.device else None,
            "device": g.info,
        }
        if spec["kind"] == "matmul":
            for ceiling in g.runs[0]["gflops"]:
                x = [run["gflops"][ceiling] for run in g.runs]
                rows[ceiling] = dict(common, gflops_median=median(x),
                                     gflops_min=min(x), gflops_max=max(x),
                                     gflops_all=x)  # fmt: skip
            continue
        steps = spec["steps"]
        rate = [
            x["restarts_run"] * x.get("steps_run", steps) / x["seconds"] for x in g.runs
        ]
        run_n = min(x["restarts_run"] for x in g.runs)
        steps_run = min(x.get("steps_run", steps) for x in g.runs)
        med = median(rate)
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
                median(rate[i * per : (i + 1) * per]) for i in range(passes)
            ] if per else []  # fmt: skip
        if spec["kind"] == "initlab":
            first = g.runs[0]
            per_call = median(x["compile_s"] for x in g.runs)
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
    parts: Sequence[str] = CPU_PARTS,
    timeout: float = 900.0,
    baseline: str | None = None,
) -> dict:
    """Runs the CPU benchmark and returns its JSON-ready results.

    Args:
      plan: the sizes (``PLANS["full"]``, ``"quick"`` or ``"tiny"``).
      parts: which of ``CPU_PARTS`` ("M", "T", "memory") to run.
      timeout: seconds any one worker reply may take.
      baseline: a folder holding another initlab (``<folder>/initlab``), e.g.
        an older commit's; M and T then also run it ("initlab baseline") in
        the same rounds: a regression check that load cannot fake.

    Returns:
      a dict with ``machine``, ``plan``, one entry per part and ``targets``.

    Raises:
      TypeError: ``plan`` is not a :class:`Plan` or ``parts`` is a string.
      ValueError: an unknown part, or a baseline folder without an
        ``initlab`` package.

    Example:
      >>> from initlab.bench import PLANS
      >>> results = run_benchmark(PLANS["tiny"], parts=())  # the machine alone
      >>> results["machine"]["cores"] >= 1
      True
    """
    where = "run_benchmark"
    if not isinstance(plan, Plan):
        raise TypeError(
            f"{where}: plan must be a Plan (PLANS['full'], 'quick' or 'tiny'); "
            f"got {type(plan).__name__}."
        )
    if isinstance(parts, str):
        raise TypeError(
            f"{where}: parts must be a sequence of part names, e.g. ({parts!r},); "
            f"got the string {parts!r}."
        )
    unknown = set(parts) - set(CPU_PARTS)
    if unknown:
        raise ValueError(
            f"{where}: unknown parts {sorted(unknown)}; allowed {CPU_PARTS}."
        )
    timeout = number(timeout, "timeout", where=where, positive=True)
    if baseline is not None:
        baseline = str(Path(baseline).resolve())
        if not (Path(baseline) / "initlab" / "__init__.py").exists():
            raise ValueError(
                f"run_benchmark: baseline {baseline!r} has no initlab package; "
                "give the folder that holds initlab/ (e.g. `git archive COMMIT "
                "initlab | tar -x -C FOLDER`)."
            )
    t0 = time.perf_counter()
    tmp = TemporaryDirectory(prefix="initlab-bench-")
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
