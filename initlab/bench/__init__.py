"""Benchmark: restart throughput of initlab against the alternatives, one run.

Two plans. ``--plan cpu`` (default), each contender in its own worker process
(so its peak RSS is its own), all workers of a workload alive at once and
asked for repetitions in turn (interleaved rounds, the order rotated each
round, one busy at a time), the whole workload repeated ``passes`` times with
fresh workers; medians and spread pool every round:

- **M**: digits MLP 64-128-128-10 (ReLU, softmax cross-entropy), batch 128, SGD
  lr 0.1, a new permutation of the training set per restart every epoch,
  N = 256 restarts. Contenders: ``initlab.train`` on one XLA CPU device and on
  all of them (one per core, ``initlab.use_cpu_devices()``), both evaluating
  once at the end, plus all devices with ``eval_every`` and with the geometric
  schedule (the cost of evaluation); sequential JAX (one jitted ``lax.scan``
  training function called once per restart); a plain PyTorch loop per
  restart; ``torch.func`` ensembling (``stack_module_state`` + ``vmap`` +
  ``functional_call``).
- **T**: XOR 2-2-1 sigmoid, full batch, N = 4096 restarts, 5000 steps: initlab
  vs sequential JAX and the PyTorch loop, both timed on a subset of restarts and
  extrapolated (said so in the output).
- ``--baseline FOLDER``: M and T also run the initlab found in FOLDER (an
  older commit's tree) in the same rounds: a regression check.

Also a jitted 2048x2048 fp32 matmul on all cores (the machine's ceiling,
measured as one more contender in the same rounds), and the peak RSS of
``initlab.train`` on M at N = 1024 and at N = 16384 with ``chunk_size``.

``--plan gpu`` (``initlab.bench.gpu``): M at N = 4096 and 16384, the MNIST-1D
CNN and GRU at N = 1024 and XOR at N = 65536 against sequential JAX and
``torch.func`` on the same GPU, fp32 and bf16, with the device's measured
matmul rates, compile time apart, peak device memory and the execution plan
initlab chose; ``--tiny`` runs it at small N on whatever device JAX has (a
smoke test, on the CPU too), ``--deadline S`` starts no contender after S
seconds, and the tables are rewritten after every part, so a run cut short
still leaves what it measured.

Results go to ``<out>/benchmark.json`` and ``<out>/benchmark.md``. PyTorch is
optional (the ``bench`` extra); without it the torch contenders are skipped and
the output says so.

Example:
  $ python scripts/bench.py --quick --out bench-results
  $ PYTHONPATH=. python scripts/bench.py --plan gpu --tiny --out bench-gpu-tiny
  $ PYTHONPATH=. python scripts/bench.py --plan gpu --deadline 420 --out bench-gpu

Rooms: ``workloads`` (M and T, FLOP counts, CPU plans, tasks), ``gpu`` (the GPU
plan and its run), ``contenders`` (the worker process: stdlib imports only, run as a
script) with ``jax_contenders`` and ``torch_contenders`` (loaded by path in
the worker), ``runner`` (rounds, passes, memory runs, the machine), ``report``
(targets, verdicts, markdown) and, here, :func:`main`.
"""

from __future__ import annotations

import argparse
import dataclasses
from json import dumps, loads
from pathlib import Path

from initlab.bench.contenders import _worker
from initlab.bench.gpu import (
    GPU_PARTS,
    GPU_PLANS,
    GpuPlan,
    gpu_workloads,
    run_gpu_benchmark,
)
from initlab.bench.report import GPU_TARGETS, TARGETS, to_markdown
from initlab.bench.runner import CPU_PARTS, machine_info, run_benchmark
from initlab.bench.workloads import (
    M_SIZES,
    MATMUL_N,
    PLANS,
    T_SIZES,
    Plan,
    count_flops,
    mlp_matmul_flops,
    mlp_step_flops,
    train_step_flops,
)

__all__ = [
    "CPU_PARTS", "GPU_PARTS", "GPU_PLANS", "GPU_TARGETS", "GpuPlan", "MATMUL_N",
    "M_SIZES", "PLANS", "Plan", "TARGETS", "T_SIZES", "count_flops",
    "gpu_workloads", "machine_info", "main", "mlp_matmul_flops", "mlp_step_flops",
    "run_benchmark", "run_gpu_benchmark", "to_markdown", "train_step_flops",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, print the table, write JSON + markdown.

    Args:
      argv: arguments (default ``sys.argv[1:]``); ``--help`` lists them.

    Returns:
      the exit status (0 on success).

    Example:
      >>> main(["--plan", "gpu", "--tiny", "--parts", "ceilings", "--out", "bench-gpu"])
      0
    """
    parser = argparse.ArgumentParser(
        prog="initlab bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--plan",
        choices=("cpu", "gpu"),
        default="cpu",
        help="cpu (default) or gpu (see initlab.bench.gpu)",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller, ~3 min")
    size.add_argument("--tiny", action="store_true", help="seconds; for tests")
    parser.add_argument("--out", default="bench-results", help="output folder")
    parser.add_argument(
        "--parts",
        default=None,
        help="comma-separated subset of M,T,memory (cpu) or "
        "M4096,M16384,CNN,GRU,T (gpu; its matmul ceilings always run, "
        "'ceilings' alone runs only them); default all",
    )
    parser.add_argument(
        "--reps", type=int, default=None, help="interleaved rounds per pass (gpu: runs)"
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=None,
        help="cpu: repeat each workload with fresh workers",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        help="cpu: a folder holding an older initlab/ to run "
        "beside this one on M and T",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=None,
        help="gpu: seconds after which no contender starts "
        "(the run ends cleanly inside a time limit)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)  # fmt: skip
    if args.worker:
        return _worker(loads(args.worker))
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    gpu = args.plan == "gpu"
    allowed = (*GPU_PARTS, "ceilings") if gpu else CPU_PARTS
    parts = [p.strip() for p in (args.parts or ",".join(allowed)).split(",")
             if p.strip()]  # fmt: skip
    unknown = set(parts) - set(allowed)
    if unknown:
        parser.error(
            f"--parts: unknown {sorted(unknown)}; allowed {', '.join(allowed)} "
            f"with --plan {args.plan}."
        )
    for flag, value in (("--reps", args.reps), ("--passes", args.passes)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be a positive integer; got {value}.")
    if gpu and (args.passes or args.baseline):
        parser.error("--passes and --baseline belong to --plan cpu.")
    if not gpu and args.deadline is not None:
        parser.error("--deadline belongs to --plan gpu.")
    if args.deadline is not None and not 0 <= args.deadline < float("inf"):
        parser.error(
            f"--deadline must be a number of seconds >= 0; got {args.deadline}."
        )
    out = Path(args.out)

    def write(results: dict) -> str:
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmark.json").write_text(dumps(results, indent=2) + "\n")
        text = to_markdown(results)
        (out / "benchmark.md").write_text(text)
        return text

    if gpu:
        plan = GPU_PLANS[mode]
        if args.reps:
            plan = dataclasses.replace(plan, reps=args.reps)
        parts = [p for p in parts if p != "ceilings"]  # measured in any case
        results = run_gpu_benchmark(plan, parts, args.deadline, on_part=write)
    else:
        plan = PLANS[mode]
        if args.reps:
            plan = dataclasses.replace(plan, reps=args.reps)
        if args.passes:
            plan = dataclasses.replace(plan, passes=args.passes)
        try:
            results = run_benchmark(plan, parts, baseline=args.baseline)
        except ValueError as err:
            parser.error(str(err))
    print(write(results))
    return 0
