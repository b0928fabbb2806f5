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
"""

from __future__ import annotations

import dataclasses

from initlab.bench.workloads import (
    M_SIZES,
    T_SIZES,
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
    "full": GpuPlan("full", 3, 3.0, (4096, 16384), 180, 1024, 1024, 200, 65536,
                    5000, 64, 8192, 300.0),
    "quick": GpuPlan("quick", 2, 2.0, (4096, 16384), 90, 1024, 1024, 100, 65536,
                     1000, 32, 8192, 300.0),
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
