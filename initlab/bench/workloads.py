"""Workloads M and T: their exact FLOP counts and the plans that size a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# ----- exact FLOP counts ---------------------------------------------------------
#
# Per restart and SGD step of an MLP with layer sizes s_0..s_L on a batch of B:
#   forward   matmuls 2*B*sum(s_i*s_{i+1}), biases B*sum(s_{i+1}),
#             hidden activation B*sum(hidden) * (1 relu | 4 sigmoid: neg,exp,add,div)
#   loss      softmax CE: 5 per logit (max, sub, exp, sum, sub logsumexp) + 1 per
#             example (pick) + 1 (mean); half SSE on sigmoid outputs: 4 (sigmoid)
#             + 3 (sub, square, sum) per output + 1 (half)
#   backward  dW 2*B*sum(s_i*s_{i+1}); dX 2*B*sum over layers but the first
#             (the input needs no gradient); db B*sum(s_{i+1}); activations
#             (1 relu select | 3 sigmoid s*(1-s)*g) per hidden unit; loss
#             gradient: CE 3 per logit (normalize, minus one-hot, / B), SSE 1 per
#             output + 3 (output sigmoid)
#   update    SGD 2 per parameter (scale, add)
# i.e. backward ~2x forward for the matmuls. Counting exp/log/div as one flop is
# a convention; the matmuls are > 98 % of M's count.


def mlp_step_flops(
    sizes: Sequence[int], batch: int, hidden: str = "relu", output: str = "ce"
) -> int:
    """FLOPs of one SGD step of one restart of an MLP (see the formula above).

    Args:
      sizes: layer widths, input first (e.g. (64, 128, 128, 10)).
      batch: examples per step.
      hidden: "relu" or "sigmoid" (hidden activation).
      output: "ce" (softmax cross-entropy on logits) or "sigmoid_half_sse".

    Returns:
      the count, an int.

    Raises:
      ValueError: an unknown activation or loss.

    Example:
      >>> mlp_step_flops((2, 2, 1), 4, "sigmoid", "sigmoid_half_sse")
      255
    """
    act_fwd, act_bwd = {"relu": (1, 1), "sigmoid": (4, 3)}.get(hidden, (None, None))
    if act_fwd is None or output not in ("ce", "sigmoid_half_sse"):
        raise ValueError(
            f"mlp_step_flops: hidden must be 'relu' or 'sigmoid' and output 'ce' "
            f"or 'sigmoid_half_sse'; got {hidden!r}, {output!r}."
        )
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    mm = sum(a * b for a, b in pairs)
    outs = sum(b for _, b in pairs)
    hid = sum(sizes[1:-1])
    n_out = sizes[-1]
    params = mm + outs
    forward = 2 * batch * mm + batch * outs + act_fwd * batch * hid
    if output == "ce":
        loss = 5 * batch * n_out + batch + 1
        loss_grad = 3 * batch * n_out
    else:
        loss = 7 * batch * n_out + 1
        loss_grad = 4 * batch * n_out
    backward = (
        2 * batch * mm
        + 2 * batch * sum(a * b for a, b in pairs[1:])
        + batch * outs
        + act_bwd * batch * hid
        + loss_grad
    )
    return forward + loss + backward + 2 * params


M_SIZES = (64, 128, 128, 10)
T_SIZES = (2, 2, 1)


# ----- plans ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plan:
    """Sizes of one benchmark run (``full``, ``quick`` or ``tiny``).

    Sequential contenders run restarts one after another until ``*_subset``
    restarts or ``budget_s`` seconds per repetition (at least one restart), and
    torch.func stops at the end of an epoch past ``budget_s``: their time for
    all N restarts and steps is extrapolated from the rate (the tables say so).
    """

    mode: str
    reps: int
    budget_s: float
    m_restarts: int
    m_steps: int
    m_eval_every: int
    m_seq_subset: int
    m_loop_subset: int
    t_restarts: int
    t_steps: int
    t_seq_subset: int
    t_loop_subset: int
    mem_restarts: int
    mem_big_restarts: int
    mem_chunk: int
    mem_steps: int


PLANS = {
    "full": Plan("full", 3, 12.0, 256, 180, 100, 256, 256, 4096, 5000, 256, 64,
                 1024, 16384, 1024, 18),
    "quick": Plan("quick", 2, 5.0, 256, 90, 45, 64, 64, 4096, 1000, 64, 16,
                  1024, 4096, 1024, 9),
    "tiny": Plan("tiny", 1, 0.5, 8, 9, 9, 2, 2, 16, 20, 2, 1, 8, 16, 8, 2),
}  # fmt: skip


def _m_specs(plan: Plan) -> dict[str, dict]:
    base = dict(task="digits", steps=plan.m_steps, batch=128, lr=0.1,
                sizes=M_SIZES, hidden="relu", output="ce",
                budget_s=plan.budget_s)  # fmt: skip
    n = plan.m_restarts
    return {
        "initlab (all devices)": dict(base, kind="initlab", num_restarts=n),
        "initlab (1 device)": dict(base, kind="initlab", num_restarts=n, devices=1),
        f"initlab (all devices, eval every {plan.m_eval_every})": dict(
            base, kind="initlab", num_restarts=n, eval_every=plan.m_eval_every
        ),
        "sequential JAX": dict(base, kind="jax_seq", subset=min(n, plan.m_seq_subset)),
        "PyTorch loop": dict(
            base, kind="torch_loop", subset=min(n, plan.m_loop_subset)
        ),
        "torch.func": dict(base, kind="torch_func", subset=n),
        "matmul ceiling": dict(kind="matmul"),
    }


def _t_specs(plan: Plan) -> dict[str, dict]:
    base = dict(task="xor", steps=plan.t_steps, batch=4, lr=0.5, sizes=T_SIZES,
                hidden="sigmoid", output="sigmoid_half_sse",
                budget_s=plan.budget_s)  # fmt: skip
    n = plan.t_restarts
    return {
        "initlab (all devices)": dict(base, kind="initlab", num_restarts=n),
        "sequential JAX": dict(base, kind="jax_seq", subset=min(n, plan.t_seq_subset)),
        "PyTorch loop": dict(
            base, kind="torch_loop", subset=min(n, plan.t_loop_subset)
        ),
        "matmul ceiling": dict(kind="matmul"),
    }
