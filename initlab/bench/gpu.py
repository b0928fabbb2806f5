"""The GPU plan: big restart stacks on one accelerator against its alternatives.

Workloads (``--plan gpu``), each contender alone on the device in turn (its
own worker process, so its peak device memory is its own):

- **M4096**, **M16384**: the digits MLP of workload M at N = 4096 and 16384
  (no ``chunk_size``: the execution plan decides), fp32 and bf16 compute.
- **CNN**: MNIST-1D's reference CNN (``mnist1d_conv``, 5,210 parameters) at
  N = 1024, the reference training (Adam, lr 1e-2, batch 100).
- **GRU**: MNIST-1D's reference bidirectional GRU (``mnist1d_gru``, hidden 6,
  5,134 parameters) at N = 1024, the same training.
- **T**: XOR 2-2-1 at N = 65536.

Contenders: initlab (fp32; bf16 compute where it means something), the
sequential JAX loop (a subset of restarts, extrapolated) and ``torch.func``
ensembling on the same GPU. Ceilings, measured once in their own worker: a
square fp32 and bf16 matmul (the device's rates; fp32 at JAX's default
precision, which may use TF32 tensor cores) and M's step matmuls batched over
N restarts in fp32 and bf16 (the best rate on M's shapes).

Without the ``mnist1d`` package the CNN and GRU train on random data of the
same shapes (said in the output): throughput does not depend on the values.

Run it with ``PYTHONPATH=. python scripts/bench.py --plan gpu --out DIR``
(``initlab bench --plan gpu`` where initlab is installed): ``DIR/benchmark.json``
and ``DIR/benchmark.md``, rewritten after every part. ``--tiny`` is the same run
at small N, seconds to minutes on any device.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from tempfile import TemporaryDirectory
from typing import Any

from initlab._checks import number
from initlab.bench.report import _gpu_verdicts
from initlab.bench.runner import (
    _log,
    _run_workload,
    _start,
    _with_data,
    machine_info,
)
from initlab.bench.workloads import (
    M_SIZES,
    T_SIZES,
    have_mnist1d,
    mlp_ceiling,
    mlp_step_flops,
    square_ceiling,
)


@dataclasses.dataclass(frozen=True)
class GpuPlan:
    """Sizes of one GPU benchmark run (``full``, ``quick`` or ``tiny``).

    ``tiny`` runs every workload at small N on whatever device JAX has (the
    test suite runs it on CPU).
    """

    mode: str
    reps: int
    budget_s: float
    m_restarts: tuple[int, int]
    m_steps: int
    conv_restarts: int
    gru_restarts: int
    mnist_steps: int
    t_restarts: int
    t_steps: int
    seq_subset: int
    square_n: int
    timeout_s: float


GPU_PLANS = {
    "full": GpuPlan("full", 3, 2.0, (4096, 16384), 180, 1024, 1024, 200, 65536,
                    5000, 64, 8192, 240.0),
    "quick": GpuPlan("quick", 2, 1.0, (4096, 16384), 90, 1024, 1024, 100, 65536,
                     1000, 32, 8192, 240.0),
    "tiny": GpuPlan("tiny", 1, 0.3, (8, 16), 6, 4, 4, 3, 32, 10, 2, 256, 300.0),
}  # fmt: skip

# Parts of the GPU plan (``--parts``); "ceilings" is measured whenever any runs.
GPU_PARTS = ("M4096", "M16384", "CNN", "GRU", "T")


def _initlab_rows(base: dict, n: int, bf16: bool = True) -> dict[str, dict]:
    rows = {"initlab": dict(base, kind="initlab", num_restarts=n)}
    if bf16:
        rows["initlab (bf16)"] = dict(base, kind="initlab", num_restarts=n,
                                      compute_dtype="bfloat16")  # fmt: skip
    return rows


def gpu_workloads(plan: GpuPlan, stand_in: bool = False) -> dict[str, dict]:
    """The GPU workloads: title, N, steps, FLOP count (None: counted), contenders.

    Args:
      plan: a :class:`GpuPlan`.
      stand_in: the MNIST-1D workloads train on random data of the same shapes.

    Returns:
      ``{part: {"title", "restarts", "steps", "flops", "count_flops", "mlp",
      "contenders": {label: spec}}}``.

    Example:
      >>> sorted(gpu_workloads(GPU_PLANS["tiny"]))
      ['CNN', 'GRU', 'M16384', 'M4096', 'T']
    """
    out: dict[str, dict] = {}
    m_flops = mlp_step_flops(M_SIZES, 128, "relu", "ce")
    m_base = dict(task="digits", steps=plan.m_steps, batch=128, lr=0.1,
                  optimizer="sgd", sizes=M_SIZES, hidden="relu", output="ce",
                  torch_model="mlp", budget_s=plan.budget_s)  # fmt: skip
    for key, n in zip(("M4096", "M16384"), plan.m_restarts, strict=True):
        rows = _initlab_rows(m_base, n)
        if key == "M4096":
            rows["initlab (geometric schedule)"] = dict(
                m_base, kind="initlab", num_restarts=n, eval_schedule="geometric"
            )
            # the sequential loop's rate does not depend on N: measured once
            rows["sequential JAX"] = dict(m_base, kind="jax_seq",
                                          subset=min(n, plan.seq_subset))  # fmt: skip
        rows["torch.func"] = dict(m_base, kind="torch_func", subset=n)
        out[key] = dict(
            title=f"M: digits MLP 64-128-128-10, batch 128, N = {n}",
            restarts=n, steps=plan.m_steps, flops=m_flops, mlp=True, contenders=rows,
        )  # fmt: skip
    mnist = dict(task="mnist1d", stand_in=stand_in, steps=plan.mnist_steps,
                 batch=100, lr=1e-2, optimizer="adam", output="ce",
                 budget_s=plan.budget_s)  # fmt: skip
    data = " (stand-in data: mnist1d is not installed)" if stand_in else ""
    for key, model, torch_model, n, title in (
        ("CNN", "mnist1d_conv", "conv", plan.conv_restarts,
         "MNIST-1D CNN (mnist1d_conv, 5,210 parameters), Adam, batch 100"),
        ("GRU", "mnist1d_gru", "gru", plan.gru_restarts,
         "MNIST-1D bidirectional GRU (mnist1d_gru, hidden 6), Adam, batch 100"),
    ):  # fmt: skip
        base = dict(mnist, model=model, torch_model=torch_model)
        rows = _initlab_rows(base, n)
        rows["sequential JAX"] = dict(base, kind="jax_seq",
                                      subset=min(n, plan.seq_subset))  # fmt: skip
        rows["torch.func"] = dict(base, kind="torch_func", subset=n)
        out[key] = dict(title=f"{title}, N = {n}{data}", restarts=n,
                        steps=plan.mnist_steps, flops=None, mlp=False,
                        contenders=rows)  # fmt: skip
    t_base = dict(task="xor", steps=plan.t_steps, batch=4, lr=0.5, optimizer="sgd",
                  sizes=T_SIZES, hidden="sigmoid", output="sigmoid_half_sse",
                  torch_model="mlp", budget_s=plan.budget_s)  # fmt: skip
    n = plan.t_restarts
    # bf16 on 2-2-1: no matmul for tensor cores to speed up; fp32 only
    rows = _initlab_rows(t_base, n, bf16=False)
    rows["sequential JAX"] = dict(t_base, kind="jax_seq",
                                  subset=min(n, plan.seq_subset))  # fmt: skip
    rows["torch.func"] = dict(t_base, kind="torch_func", subset=n)
    out["T"] = dict(title=f"T: XOR 2-2-1, full batch, N = {n}", restarts=n,
                    steps=plan.t_steps,
                    flops=mlp_step_flops(T_SIZES, 4, "sigmoid", "sigmoid_half_sse"),
                    mlp=False, contenders=rows)  # fmt: skip
    return out


def gpu_ceilings(plan: GpuPlan) -> list[dict]:
    """The ceiling specs: square fp32/bf16 matmuls and M's shapes at each N.

    Example:
      >>> [c["label"] for c in gpu_ceilings(GPU_PLANS["tiny"])][:2]
      ['fp32 matmul', 'bf16 matmul']
    """
    out = [square_ceiling("fp32 matmul", plan.square_n, "float32"),
           square_ceiling("bf16 matmul", plan.square_n, "bfloat16")]  # fmt: skip
    for n in plan.m_restarts:
        for dtype, tag in (("float32", "fp32"), ("bfloat16", "bf16")):
            out.append(mlp_ceiling(f"M shapes N={n} {tag}", M_SIZES, 128, n, dtype))
    return out


def run_gpu_benchmark(
    plan: GpuPlan,
    parts: Sequence[str] = GPU_PARTS,
    deadline_s: float | None = None,
    on_part: Callable[[dict], None] | None = None,
) -> dict:
    """Runs the GPU plan (see the module doc) on the device JAX has.

    Every contender runs alone (one worker at a time, ``plan.reps`` runs),
    JAX workers with ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so the peak of
    bytes in use is the contender's own. The ceilings run first, whatever the
    parts; the FLOPs of the CNN and GRU steps are read off their traced
    programs (on the CPU).

    Args:
      plan: ``GPU_PLANS["full"]``, ``"quick"`` or ``"tiny"`` (tiny runs on
        whatever device JAX has, the CPU in tests).
      parts: a subset of ``GPU_PARTS`` (empty: the ceilings alone).
      deadline_s: seconds (>= 0) from the start after which no contender is
        started (they are listed as skipped): the run ends cleanly inside a
        limit.
      on_part: called with the results so far after the ceilings and after
        every part (e.g. to write them, so a run cut short still leaves its
        tables).

    Returns:
      a dict with ``machine``, ``device``, ``plan``, ``ceilings``, one entry
      per part and ``targets``.

    Raises:
      TypeError: ``plan`` is not a :class:`GpuPlan`, ``parts`` a string, or
        ``on_part`` not callable.
      ValueError: an unknown part or a negative deadline.

    Example:
      >>> results = run_gpu_benchmark(GPU_PLANS["tiny"], parts=())  # seconds
      >>> results["ceilings"]["contenders"]["fp32 matmul"]["gflops_median"] > 0
      True
    """
    where = "run_gpu_benchmark"
    if not isinstance(plan, GpuPlan):
        raise TypeError(
            f"{where}: plan must be a GpuPlan (GPU_PLANS['full'], 'quick' or "
            f"'tiny'); got {type(plan).__name__}."
        )
    if isinstance(parts, str):
        raise TypeError(
            f"{where}: parts must be a sequence of part names, e.g. ({parts!r},); "
            f"got the string {parts!r}."
        )
    unknown = set(parts) - set(GPU_PARTS)
    if unknown:
        raise ValueError(
            f"{where}: unknown parts {sorted(unknown)}; allowed {GPU_PARTS}."
        )
    if deadline_s is not None:
        deadline_s = number(deadline_s, "deadline_s", where=where, nonnegative=True)
    if on_part is not None and not callable(on_part):
        raise TypeError(f"{where}: on_part must be callable or None; got {on_part!r}.")
    t0 = time.perf_counter()
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    tmp = TemporaryDirectory(prefix="initlab-bench-")
    try:
        return _run_parts(plan, parts, deadline, on_part, tmp.name, t0)
    finally:
        tmp.cleanup()


def _run_parts(plan: GpuPlan, parts: Sequence[str], deadline: float | None,
               on_part: Callable[[dict], None] | None, folder: str,
               t0: float) -> dict:  # fmt: skip
    """The body of :func:`run_gpu_benchmark` (arguments checked)."""
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
        plan.reps, 1, None, plan.timeout_s, one_at_a_time=True, deadline=deadline,
    )  # fmt: skip
    results["ceilings"] = ceilings
    if on_part is not None:
        on_part(_finished(results, parts, t0))
    rates = {k: v["gflops_median"] for k, v in ceilings["contenders"].items()}
    counted = {}
    need = [k for k in parts if workloads[k]["flops"] is None]
    if need and (deadline is None or time.monotonic() <= deadline):
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
        r = _run_workload(key, _with_data(specs, folder), plan.reps, w["restarts"],
                          flops, plan.timeout_s, one_at_a_time=True,
                          deadline=deadline)  # fmt: skip
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
        if on_part is not None:
            on_part(_finished(results, parts, t0))
    return _finished(results, parts, t0)


def _finished(results: dict, parts: Sequence[str], t0: float) -> dict:
    """The GPU results with the device, targets and wall time filled in."""
    done = [results[k] for k in ("ceilings", *parts) if k in results]
    results["device"] = next(
        (row["device"] for part in done for row in part["contenders"].values()
         if row.get("device")), {}
    )  # fmt: skip
    results["targets"] = _gpu_verdicts(results)
    results["wall_s"] = time.perf_counter() - t0
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
