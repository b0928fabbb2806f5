"""Workloads M and T: their exact FLOP counts and the plans that size a run.

Also :func:`count_flops`, a count read off any function's traced program (exact
for matmuls, one per element of every other floating-point operation), used
for the models whose steps are not written out by hand (the MNIST-1D CNN and
GRU of the GPU plan).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

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


def mlp_matmul_flops(sizes: Sequence[int], batch: int) -> int:
    """The matmul part of :func:`mlp_step_flops`: forward, dW, and dX but the first.

    Example:
      >>> mlp_matmul_flops((64, 128, 128, 10), 128)
      17760256
    """
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    mm = sum(a * b for a, b in pairs)
    return 2 * batch * (2 * mm + sum(a * b for a, b in pairs[1:]))


# ----- FLOPs read off a traced program ----------------------------------------------
#
# Convention (the one of mlp_step_flops, applied by the machine): a dot_general
# is 2 x (product of the lhs shape) x (rhs dimensions that are neither
# contracted nor batched); a convolution 2 x output elements x (kernel elements
# per output channel); a reduction one per input element; every other
# operation with a floating-point output one per output element, except pure
# data movement (broadcasts, reshapes, slices, gathers, casts, ...). Integer
# and boolean work (random bits, permutations, comparisons) is not counted. A
# scan's body counts once per iteration; a while loop's once (its trip count
# is unknown: flagged); a cond's costliest branch.

_MOVES = frozenset({
    "broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "slice",
    "dynamic_slice", "dynamic_update_slice", "concatenate", "pad", "gather",
    "convert_element_type", "iota", "copy", "copy_p", "rev", "split",
    "device_put", "stop_gradient", "select_and_gather_add", "reduce_precision",
    "optimization_barrier", "pjit", "jit", "closed_call", "core_call",
    "custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr", "remat",
    "checkpoint", "scan", "while", "cond", "shard_map", "random_wrap",
    "random_unwrap", "random_bits", "random_seed", "random_fold_in",
    "random_split", "threefry2x32", "sort",
})  # fmt: skip
_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod",
                         "cumsum", "cumprod", "cummax", "cummin", "argmax",
                         "argmin", "reduce_and", "reduce_or"})  # fmt: skip


def count_flops(fn: Callable, *args: Any) -> dict[str, Any]:
    """FLOPs of one call of ``fn`` read off its traced program (see above).

    Args:
      fn: a JAX-traceable function.
      *args: its arguments, concrete or ``jax.ShapeDtypeStruct`` (nothing runs).

    Returns:
      ``{"matmul": int, "other": int, "total": int, "while_loops": int}``
      (while loops counted once each: a lower bound where there are any).

    Example:
      >>> import jax.numpy as jnp
      >>> count_flops(lambda a, b: jnp.tanh(a @ b), jnp.ones((4, 3)),
      ...             jnp.ones((3, 2)))["total"]
      56
    """
    import jax
    import numpy as np
    from jax.extend.core import jaxprs_in_params

    def is_float(aval) -> bool:
        dtype = getattr(aval, "dtype", None)
        return dtype is not None and np.issubdtype(dtype, np.inexact)

    def size(aval) -> int:
        return math.prod(getattr(aval, "shape", ()))

    def walk(jaxpr) -> tuple[int, int, int]:
        mm = other = loops = 0
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            subs = [getattr(j, "jaxpr", j) for j in jaxprs_in_params(eqn.params)]
            if name == "cond":
                costs = [walk(j) for j in subs]
                best = max(costs, key=lambda c: c[0] + c[1])
                mm, other, loops = mm + best[0], other + best[1], loops + best[2]
                continue
            times = eqn.params.get("length", 1) if name == "scan" else 1
            loops += name == "while"
            for sub in subs:
                a, b, c = walk(sub)
                mm, other, loops = mm + times * a, other + times * b, loops + c
            if name == "dot_general":
                (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
                lhs, rhs = (v.aval.shape for v in eqn.invars)
                free = math.prod(d for i, d in enumerate(rhs) if i not in (*rc, *rb))
                mm += 2 * math.prod(lhs) * free
            elif name == "conv_general_dilated":
                rhs = eqn.invars[1].aval.shape
                out_ch = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
                mm += 2 * size(eqn.outvars[0].aval) * math.prod(rhs) // out_ch
            elif name in _REDUCTIONS:
                other += sum(size(v.aval) for v in eqn.invars if is_float(v.aval))
            elif name not in _MOVES:
                if name in ("scatter-add", "scatter_add", "scatter"):
                    other += size(eqn.invars[-1].aval)  # one per update
                else:
                    other += sum(size(v.aval) for v in eqn.outvars if is_float(v.aval))
        return mm, other, loops

    closed = jax.make_jaxpr(fn)(*args)
    mm, other, loops = walk(closed.jaxpr)
    return {"matmul": mm, "other": other, "total": mm + other, "while_loops": loops}


def train_step_flops(task: Any, model: Any, optimizer: Any, batch: int) -> dict:
    """:func:`count_flops` of one restart's training step (loss, grads, update).

    Args:
      task: an initlab Task (its loss and input shapes).
      model: an initlab PureModel.
      optimizer: an optax GradientTransformation.
      batch: examples per step.

    Returns:
      what :func:`count_flops` returns.

    Example:
      >>> import initlab, optax
      >>> task = initlab.get_task("digits")
      >>> train_step_flops(task, task.default_model(), optax.sgd(0.1), 128)["matmul"]
      17760256
    """
    import jax
    import optax

    params = jax.eval_shape(model.init, jax.random.key(0))
    opt_state = jax.eval_shape(optimizer.init, params)
    xs, ys = task.x_train, task.y_train
    x = jax.ShapeDtypeStruct((batch, *xs.shape[1:]), xs.dtype)
    y = jax.ShapeDtypeStruct((batch, *ys.shape[1:]), ys.dtype)

    def step(params, opt_state, x, y):
        def loss(p):
            return task.loss(model.apply(p, x), y)

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return count_flops(step, params, opt_state, x, y)


# ----- plans ----------------------------------------------------------------------

MATMUL_N = 2048  # the CPU ceiling: a jitted MATMUL_N x MATMUL_N fp32 matmul


@dataclasses.dataclass(frozen=True)
class Plan:
    """Sizes of one CPU benchmark run (``full``, ``quick`` or ``tiny``).

    Sequential contenders run restarts one after another until ``*_subset``
    restarts or ``budget_s`` seconds per repetition (at least one restart), and
    torch.func stops at the end of an epoch past ``budget_s``: their time for
    all N restarts and steps is extrapolated from the rate (the tables say so).
    ``passes`` repeats the whole workload with fresh worker processes, each
    pass ``reps`` interleaved rounds; medians and spreads pool every round.
    ``matmul_n``: the side of the square fp32 matmul that measures the ceiling.
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
    passes: int = 1
    matmul_n: int = MATMUL_N


PLANS = {
    "full": Plan("full", 2, 12.0, 256, 180, 100, 256, 256, 4096, 5000, 256, 64,
                 1024, 16384, 1024, 18, passes=3),
    "quick": Plan("quick", 2, 5.0, 256, 90, 45, 64, 64, 4096, 1000, 64, 16,
                  1024, 4096, 1024, 9),
    # tiny: a smaller ceiling matmul (its rate means nothing at these sizes)
    "tiny": Plan("tiny", 1, 0.5, 8, 9, 9, 2, 2, 16, 20, 2, 1, 8, 16, 8, 2,
                 matmul_n=512),
}  # fmt: skip


def square_ceiling(label: str, n: int, dtype: str = "float32") -> dict:
    """A ceiling spec: a jitted n x n matmul in ``dtype`` (JAX's default precision)."""
    return {"label": label, "shape": "square", "n": n, "dtype": dtype}


def mlp_ceiling(label: str, sizes: Sequence[int], batch: int, restarts: int,
                dtype: str = "float32") -> dict:  # fmt: skip
    """A ceiling spec: an MLP step's matmuls alone, batched over ``restarts``.

    Forward, dW and dX (but the input layer's) of every layer, on the shapes
    the restart-vmapped training step multiplies: the best rate the device
    reaches on M's shapes (:func:`mlp_matmul_flops` per restart).
    """
    return {"label": label, "shape": "mlp", "sizes": list(sizes), "batch": batch,
            "restarts": restarts, "dtype": dtype}  # fmt: skip


def _m_specs(plan: Plan, baseline: str | None = None) -> dict[str, dict]:
    base = dict(task="digits", steps=plan.m_steps, batch=128, lr=0.1,
                optimizer="sgd", sizes=M_SIZES, hidden="relu", output="ce",
                torch_model="mlp", budget_s=plan.budget_s)  # fmt: skip
    n = plan.m_restarts
    specs = {"initlab (all devices)": dict(base, kind="initlab", num_restarts=n)}
    if baseline:
        specs["initlab baseline (all devices)"] = dict(
            base, kind="initlab", num_restarts=n, pythonpath=baseline
        )
    return specs | {
        "initlab (1 device)": dict(base, kind="initlab", num_restarts=n, devices=1),
        f"initlab (all devices, eval every {plan.m_eval_every})": dict(
            base, kind="initlab", num_restarts=n, eval_every=plan.m_eval_every
        ),
        # the digits task's default schedule (issue 15: its cost in this run)
        "initlab (all devices, geometric schedule)": dict(
            base, kind="initlab", num_restarts=n, eval_schedule="geometric"
        ),
        "sequential JAX": dict(base, kind="jax_seq", subset=min(n, plan.m_seq_subset)),
        "PyTorch loop": dict(
            base, kind="torch_loop", subset=min(n, plan.m_loop_subset)
        ),
        "torch.func": dict(base, kind="torch_func", subset=n),
        "matmul ceiling": dict(
            kind="matmul", ceilings=[square_ceiling("matmul ceiling", plan.matmul_n)]
        ),
    }


def _t_specs(plan: Plan, baseline: str | None = None) -> dict[str, dict]:
    base = dict(task="xor", steps=plan.t_steps, batch=4, lr=0.5, optimizer="sgd",
                sizes=T_SIZES, hidden="sigmoid", output="sigmoid_half_sse",
                torch_model="mlp", budget_s=plan.budget_s)  # fmt: skip
    n = plan.t_restarts
    specs = {"initlab (all devices)": dict(base, kind="initlab", num_restarts=n)}
    if baseline:
        specs["initlab baseline (all devices)"] = dict(
            base, kind="initlab", num_restarts=n, pythonpath=baseline
        )
    return specs | {
        "sequential JAX": dict(base, kind="jax_seq", subset=min(n, plan.t_seq_subset)),
        "PyTorch loop": dict(
            base, kind="torch_loop", subset=min(n, plan.t_loop_subset)
        ),
        "matmul ceiling": dict(
            kind="matmul", ceilings=[square_ceiling("matmul ceiling", plan.matmul_n)]
        ),
    }


# ----- the MNIST-1D task, or a stand-in of its shapes --------------------------------

MNIST1D_SHAPES = dict(n_train=4000, n_test=1000, length=40, classes=10)


def have_mnist1d() -> bool:
    """Whether the ``mnist1d`` package (which generates the data) is installed."""
    import importlib.util

    return importlib.util.find_spec("mnist1d") is not None


def mnist1d_task(stand_in: bool = False) -> Any:
    """MNIST-1D with the reference preset, channels last: (N, 40, 1).

    Args:
      stand_in: random data of the same shapes and the same training defaults
        instead (for machines without the ``mnist1d`` package: throughput does
        not depend on the values): x ~ N(0, 1), labels uniform over 10 classes,
        from a fixed NumPy seed.

    Returns:
      an initlab Task.

    Example:
      >>> mnist1d_task(stand_in=True).x_train.shape
      (4000, 40, 1)
    """
    import numpy as np

    import initlab

    if not stand_in:
        return initlab.get_task("mnist1d", channels=True, preset="reference")
    s = MNIST1D_SHAPES
    rng = np.random.default_rng(0)
    n = s["n_train"] + s["n_test"]
    x = rng.standard_normal((n, s["length"], 1)).astype(np.float32)
    y = rng.integers(0, s["classes"], n).astype(np.int32)
    return initlab.tasks.make_task(
        "mnist1d (stand-in)", x[: s["n_train"]], y[: s["n_train"]],
        x[s["n_train"] :], y[s["n_train"] :], kind="classification",
        model=initlab.models.residual_mlp,
        defaults=dict(batch_size=100, steps=6000, learning_rate=1e-2,
                      optimizer="adam", eval_every=250, eval_schedule="geometric"),
    )  # fmt: skip


def bench_task(name: str, stand_in: bool = False) -> Any:
    """The Task a benchmark spec names ("digits", "xor" or "mnist1d")."""
    import initlab

    if name == "mnist1d":
        return mnist1d_task(stand_in)
    return initlab.get_task(name)
