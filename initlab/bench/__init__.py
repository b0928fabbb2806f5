"""Benchmark: restart throughput of initlab against the alternatives, one run.

Two workloads, each contender in its own worker process (so its peak RSS is its
own), all workers alive at once and asked for repetitions in turn (interleaved
rounds, the order rotated each round), medians and spread reported:

- **M**: digits MLP 64-128-128-10 (ReLU, softmax cross-entropy), batch 128, SGD
  lr 0.1, a new permutation of the training set per restart every epoch,
  N = 256 restarts. Contenders: ``initlab.train`` on one XLA CPU device and on
  all of them (one per core, ``initlab.use_cpu_devices()``), both evaluating
  once at the end, plus all devices with the task's default ``eval_every``
  (the cost of evaluation); sequential JAX (one jitted ``lax.scan`` training
  function called once per restart); a plain PyTorch loop per restart;
  ``torch.func`` ensembling (``stack_module_state`` + ``vmap`` +
  ``functional_call``).
- **T**: XOR 2-2-1 sigmoid, full batch, N = 4096 restarts, 5000 steps: initlab
  vs sequential JAX and the PyTorch loop, both timed on a subset of restarts and
  extrapolated (said so in the output).

Also a jitted 2048x2048 fp32 matmul on all cores (the machine's ceiling,
measured as one more contender in the same rounds), and the peak RSS of
``initlab.train`` on M at N = 1024 and at N = 16384 with ``chunk_size``.

Results go to ``<out>/benchmark.json`` and ``<out>/benchmark.md``. PyTorch is
optional (the ``bench`` extra); without it the torch contenders are skipped and
the output says so.

Example:
  $ python scripts/bench.py --quick --out bench-results

Rooms: ``workloads`` (M and T, exact FLOP counts, plans), ``contenders`` (each
contender and the worker process that runs it: stdlib imports only, run as a
script), ``runner`` (interleaved rounds, memory runs, the machine), ``report``
(targets, verdicts, markdown) and, here, :func:`main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from initlab.bench.contenders import MATMUL_N, _worker
from initlab.bench.report import TARGETS, to_markdown
from initlab.bench.runner import machine_info, run_benchmark
from initlab.bench.workloads import M_SIZES, PLANS, T_SIZES, Plan, mlp_step_flops

__all__ = [
    "MATMUL_N", "M_SIZES", "PLANS", "Plan", "TARGETS", "T_SIZES", "machine_info",
    "main", "mlp_step_flops", "run_benchmark", "to_markdown",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, print the table, write JSON + markdown.

    Args:
      argv: arguments (default ``sys.argv[1:]``); ``--help`` lists them.

    Returns:
      the exit status (0 on success).

    Example:
      >>> main(["--tiny", "--out", "/tmp/bench"])
      0
    """
    parser = argparse.ArgumentParser(
        prog="initlab bench", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller, ~3 min")
    size.add_argument("--tiny", action="store_true", help="seconds; for tests")
    parser.add_argument("--out", default="bench-results", help="output folder")
    parser.add_argument("--parts", default="M,T,memory",
                        help="comma-separated subset of M,T,memory")  # fmt: skip
    parser.add_argument("--reps", type=int, default=None, help="interleaved rounds")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(json.loads(args.worker))
    plan = PLANS["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.reps:
        plan = dataclasses.replace(plan, reps=args.reps)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - {"M", "T", "memory"}
    if unknown:
        parser.error(f"--parts: unknown {sorted(unknown)}; allowed M, T, memory.")
    results = run_benchmark(plan, parts)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    text = to_markdown(results)
    (out / "benchmark.md").write_text(text)
    print(text)
    return 0
