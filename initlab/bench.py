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
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_TAG = "@@bench "  # prefix of protocol lines on a worker's stdout

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
      313
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


MATMUL_N = 2048
M_SIZES = (64, 128, 128, 10)
T_SIZES = (2, 2, 1)


# ----- contenders (each runs inside its own worker process) ----------------------


class _Contender:
    """A workload set up once (``setup`` returns compile seconds), run many times."""

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError


def _compile_events():
    """A dict accumulating JAX's compile-stage durations (trace, lower, compile)."""
    import jax.monitoring

    events = {"s": 0.0}

    def listen(name: str, seconds: float, **_: Any) -> None:
        if name.startswith("/jax/core/compile/"):
            events["s"] += seconds

    jax.monitoring.register_event_duration_secs_listener(listen)
    return events


class _Initlab(_Contender):
    """``initlab.train`` as a user calls it; run time = wall - compile events.

    Every ``train`` call traces and compiles its loop afresh; a persistent
    compilation cache (as a sweep would use) turns the later compiles into cache
    loads. The first, cold call is the compile-time measurement.
    """

    def setup(self) -> float:
        import jax

        import initlab

        initlab.use_cpu_devices()
        cache = tempfile.mkdtemp(prefix="initlab-bench-cache-")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        self.events = _compile_events()
        self.task = initlab.get_task(self.spec["task"])
        self.model = self.task.default_model()  # one model: train() reuses its jit
        first = self.run()
        self.cold_wall = first["wall_s"]
        return first["compile_s"]

    def run(self) -> dict:
        import initlab

        s = self.spec
        self.events["s"] = 0.0
        t0 = time.perf_counter()
        out = initlab.train(
            self.task,
            model=self.model,
            num_restarts=s["num_restarts"],
            steps=s["steps"],
            eval_every=s.get("eval_every") or s["steps"],
            chunk_size=s.get("chunk_size"),
            devices=s.get("devices"),
            progress=False,
        )
        wall = time.perf_counter() - t0
        compile_s = self.events["s"]
        assert out.final  # results were fetched to the host
        return {
            "seconds": wall - compile_s,
            "wall_s": wall,
            "compile_s": compile_s,
            "restarts_run": s["num_restarts"],
            "devices": len(out.metadata["devices"]),
        }


def _jax_train_one(task, steps: int, batch: int, lr: float):
    """One restart: a jitted ``lax.scan`` SGD loop, per-epoch permutations."""
    import jax
    import jax.numpy as jnp
    import optax

    model = task.default_model()
    opt = optax.sgd(lr)
    x_all, y_all = jnp.asarray(task.x_train), jnp.asarray(task.y_train)
    n = len(task.x_train)
    per_epoch = n // batch

    def loss_fn(params, x, y):
        return task.loss(model.apply(params, x), y)

    @jax.jit
    def train_one(init_key, data_key):
        params = model.init(init_key)

        def body(carry, step):
            params, opt_state, order = carry
            if batch < n:
                epoch, pos = jnp.divmod(step, per_epoch)
                order = jax.lax.cond(
                    pos == 0,
                    lambda: jax.random.permutation(
                        jax.random.fold_in(data_key, epoch), n
                    ),
                    lambda: order,
                )
                idx = jax.lax.dynamic_slice_in_dim(order, pos * batch, batch)
                x, y = x_all[idx], y_all[idx]
            else:
                x, y = x_all, y_all
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, order), loss

        carry = (params, opt.init(params), jnp.arange(n))
        (params, _, _), losses = jax.lax.scan(body, carry, jnp.arange(steps))
        return params, losses[-1]

    return train_one


class _JaxSequential(_Contender):
    """Sequential JAX: the jitted per-restart loop called once per restart."""

    def setup(self) -> float:
        import jax

        s = self.spec
        self.task = _task(s["task"])
        self.fn = _jax_train_one(self.task, s["steps"], s["batch"], s["lr"])
        root = jax.random.key(0)
        self.keys = [
            (jax.random.fold_in(root, 2 * i), jax.random.fold_in(root, 2 * i + 1))
            for i in range(s["subset"])
        ]
        t0 = time.perf_counter()
        jax.block_until_ready(self.fn(*self.keys[0]))
        return time.perf_counter() - t0

    def run(self) -> dict:

        budget = self.spec.get("budget_s", math.inf)
        t0 = time.perf_counter()
        finals = []
        for k_init, k_data in self.keys:
            finals.append(float(self.fn(k_init, k_data)[1]))  # waits for it
            if time.perf_counter() - t0 > budget:
                break
        return {"seconds": time.perf_counter() - t0, "restarts_run": len(finals)}


def _task(name: str):
    import initlab

    return initlab.get_task(name)


def _load_arrays(path: str):
    """The training set the parent saved (torch workers never import JAX)."""
    import numpy as np

    with np.load(path) as data:
        return data["x"], data["y"]


def _torch_mlp(sizes, hidden: str, output: str):
    import torch

    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU() if hidden == "relu" else torch.nn.Sigmoid())
    if output == "sigmoid_half_sse":
        layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def _torch_loss(output: str):
    import torch

    if output == "ce":
        return torch.nn.functional.cross_entropy
    return lambda out, t: 0.5 * ((out[:, 0] - t) ** 2).sum()


class _TorchLoop(_Contender):
    """A plain PyTorch training loop, one restart after another."""

    def setup(self) -> float:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        s = self.spec
        x, y = _load_arrays(s["data"])
        self.x = torch.as_tensor(x, dtype=torch.float32)
        y = torch.as_tensor(y)
        self.y = y.long() if s["output"] == "ce" else y.float()
        self.loss = _torch_loss(s["output"])
        t0 = time.perf_counter()
        self._train(0, min(s["steps"], 20))  # warm up the allocator and kernels
        return time.perf_counter() - t0

    def _train(self, restart: int, steps: int) -> float:
        import torch

        s = self.spec
        torch.manual_seed(restart)
        net = _torch_mlp(s["sizes"], s["hidden"], s["output"])
        opt = torch.optim.SGD(net.parameters(), lr=s["lr"])
        gen = torch.Generator().manual_seed(restart)
        n, batch = len(self.x), s["batch"]
        per_epoch = n // batch
        order = torch.arange(n)
        for step in range(steps):
            if batch < n:
                pos = step % per_epoch
                if pos == 0:
                    order = torch.randperm(n, generator=gen)
                idx = order[pos * batch : (pos + 1) * batch]
                x, y = self.x[idx], self.y[idx]
            else:
                x, y = self.x, self.y
            opt.zero_grad(set_to_none=True)
            loss = self.loss(net(x), y)
            loss.backward()
            opt.step()
        return loss.item()

    def run(self) -> dict:
        s = self.spec
        budget = s.get("budget_s", math.inf)
        t0 = time.perf_counter()
        done = 0
        while done < s["subset"] and (done == 0 or time.perf_counter() - t0 < budget):
            self._train(done, s["steps"])
            done += 1
        return {"seconds": time.perf_counter() - t0, "restarts_run": done}


class _TorchFunc(_Contender):
    """``torch.func`` ensembling: stacked params, ``vmap(grad(functional_call))``."""

    def setup(self) -> float:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        s = self.spec
        x, y = _load_arrays(s["data"])
        self.x = torch.as_tensor(x, dtype=torch.float32)
        self.y = torch.as_tensor(y).long()
        t0 = time.perf_counter()
        self._train(min(s["steps"], 20))
        return time.perf_counter() - t0

    def _train(self, steps: int, budget: float = math.inf) -> int:
        """Trains all restarts; stops early (at an epoch's end) past ``budget`` s."""
        import copy

        import torch
        from torch.func import functional_call, grad_and_value, stack_module_state

        s = self.spec
        n_models = s["subset"]
        torch.manual_seed(0)
        models = [
            _torch_mlp(s["sizes"], s["hidden"], s["output"]) for _ in range(n_models)
        ]
        params, buffers = stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def loss_fn(p, b, x, y):
            return torch.nn.functional.cross_entropy(
                functional_call(base, (p, b), (x,)), y
            )

        step_fn = torch.vmap(grad_and_value(loss_fn), in_dims=(0, 0, 0, 0))
        gen = torch.Generator().manual_seed(0)
        n, batch, lr = len(self.x), s["batch"], s["lr"]
        per_epoch = n // batch
        t0 = time.perf_counter()
        for step in range(steps):
            pos = step % per_epoch
            if pos == 0 and step and time.perf_counter() - t0 > budget:
                return step
            if pos == 0:  # one permutation per restart: argsort of uniforms
                order = torch.rand(n_models, n, generator=gen).argsort(dim=1)
            idx = order[:, pos * batch : (pos + 1) * batch]
            grads, loss = step_fn(params, buffers, self.x[idx], self.y[idx])
            with torch.no_grad():
                torch._foreach_add_(
                    list(params.values()), list(grads.values()), alpha=-lr
                )
        assert torch.isfinite(loss).all()
        return steps

    def run(self) -> dict:
        t0 = time.perf_counter()
        steps = self._train(self.spec["steps"], self.spec.get("budget_s", math.inf))
        return {
            "seconds": time.perf_counter() - t0,
            "restarts_run": self.spec["subset"],
            "steps_run": steps,
        }


class _Matmul(_Contender):
    """The ceiling: a jitted 2048x2048 fp32 matmul on one device (all cores)."""

    def setup(self) -> float:
        import jax
        import jax.numpy as jnp

        a = jax.random.normal(jax.random.key(0), (MATMUL_N, MATMUL_N), jnp.float32)
        self.a = a
        t0 = time.perf_counter()
        self.fn = jax.jit(lambda x: x @ x).lower(a).compile()
        jax.block_until_ready(self.fn(a))
        return time.perf_counter() - t0

    def run(self) -> dict:
        import jax

        times = []
        for _ in range(self.spec.get("repeats", 5)):
            t0 = time.perf_counter()
            jax.block_until_ready(self.fn(self.a))
            times.append(time.perf_counter() - t0)
        best = statistics.median(times)
        return {"seconds": best, "gflops": 2 * MATMUL_N**3 / best / 1e9}


_KINDS = {
    "initlab": _Initlab,
    "jax_seq": _JaxSequential,
    "torch_loop": _TorchLoop,
    "torch_func": _TorchFunc,
    "matmul": _Matmul,
}
_NEEDS_TORCH = ("torch_loop", "torch_func")


def _peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM), in bytes."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker(spec: dict) -> int:
    """Worker side: set up, report, then answer ``run`` / ``exit`` from stdin."""

    def say(obj: dict) -> None:
        sys.stdout.write(_TAG + json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        contender = _KINDS[spec["kind"]](spec)
        say({"ready": True, "compile_s": contender.setup()})
    except Exception as err:  # noqa: BLE001 - reported to the parent, which skips it
        say({"ready": False, "error": f"{type(err).__name__}: {err}"[:2000]})
        return 1
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            say(contender.run())
        elif command == "exit":
            say({"peak_rss_bytes": _peak_rss_bytes()})
            return 0
    return 0


class _Remote:
    """Parent side of one worker process."""

    def __init__(self, name: str, spec: dict, timeout: float):
        self.name, self.spec, self.timeout = name, spec, timeout
        # stderr to a file: a chatty worker can't fill a pipe and block.
        self.errors = tempfile.TemporaryFile("w+")
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path)
        # Run this file as a script, not ``-m initlab.bench``: a torch worker
        # then never imports the initlab package (and JAX) into its RSS.
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            env=env,
        )
        hello = self._read()
        if not hello.get("ready"):
            self.close()
            raise RuntimeError(hello.get("error", "worker failed to start"))
        self.compile_s = hello["compile_s"]

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.errors.seek(0)
                err = self.errors.read()[-2000:]
                return {"ready": False, "error": f"worker exited: {err}"}
            if line.startswith(_TAG):
                return json.loads(line[len(_TAG) :])
        return {"ready": False, "error": "timed out"}

    def run(self) -> dict:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        out = self._read()
        if "seconds" not in out:
            raise RuntimeError(f"{self.name}: {out.get('error')}")
        return out

    def close(self) -> int | None:
        rss = None
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write("exit\n")
                self.proc.stdin.flush()
                rss = self._read().get("peak_rss_bytes")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.errors):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return rss


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


# ----- running --------------------------------------------------------------------


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


TARGETS = {
    "M vs sequential JAX": 1.5,
    "M vs torch.func": 1.15,
    "M vs PyTorch loop": 3.5,
    "M fraction of matmul ceiling": 0.45,
    "T vs sequential JAX": 100.0,
    "memory N=1024 (GiB)": 1.5,
    "memory N=16384 chunked (GiB)": 4.0,
}


def _verdicts(results: dict) -> list[dict]:
    """Targets against the measured ratios (``None`` where not measured)."""
    out = []
    m = results.get("M", {}).get("contenders", {})
    t = results.get("T", {}).get("contenders", {})
    lead = m.get("initlab (all devices)", {})

    def ratio(rows, a, b):
        if a in rows and b in rows:
            return rows[a]["restart_steps_per_s"] / rows[b]["restart_steps_per_s"]
        return None

    def add(name, value, higher=True):
        goal = TARGETS[name]
        ok = None if value is None else (value >= goal if higher else value < goal)
        out.append({"target": name, "goal": goal, "value": value, "met": ok})

    for other in ("sequential JAX", "torch.func", "PyTorch loop"):
        add(f"M vs {other}", ratio(m, "initlab (all devices)", other))
    add("M fraction of matmul ceiling", lead.get("fraction_of_ceiling"))
    add("T vs sequential JAX", ratio(t, "initlab (all devices)", "sequential JAX"))
    mem = results.get("memory", {})
    gib = 2**30
    for name, prefix in (("memory N=1024 (GiB)", "N=1024"),
                         ("memory N=16384 chunked (GiB)", "N=16384")):  # fmt: skip
        rss = next(
            (v.get("peak_rss_bytes") for k, v in mem.items() if k.startswith(prefix)),
            None,
        )
        add(name, None if rss is None else rss / gib, higher=False)
    return out


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


# ----- reporting ------------------------------------------------------------------


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def to_markdown(results: dict) -> str:
    """The results as markdown tables (machine, workloads, memory, targets).

    Args:
      results: what :func:`run_benchmark` returned.

    Returns:
      markdown text.
    """
    m = results["machine"]
    v = m["versions"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, "
        f"{_fmt((m['memory_bytes'] or 0) / 2**30, '.1f')} GiB; {m['platform']}; "
        f"Python {m['python']}, jax {v.get('jax')}, torch {v.get('torch') or 'absent'}"
        f". Mode `{results['plan']['mode']}`, {results['plan']['reps']} interleaved "
        f"rounds, {results['date']}, {_fmt(results.get('wall_s'), '.0f')} s in all.",
        "",
    ]
    for part, title in (("M", "M: digits MLP 64-128-128-10, batch 128"),
                        ("T", "T: XOR 2-2-1, full batch")):  # fmt: skip
        if part not in results:
            continue
        r = results[part]
        lines += [
            f"### {title}, N = {r['restarts']}, {r['steps']} steps",
            "",
            f"{r['flops_per_restart_step']:,} FLOP per restart-step; matmul "
            f"ceiling {_fmt(r['matmul_ceiling_gflops'], '.0f')} GFLOP/s.",
            "",
            "| contender | restart-steps/s (median, min-max) | time for all N (s) | "
            "GFLOP/s | of ceiling | compile (s) | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, row in r["contenders"].items():
            rss = _fmt((row["peak_rss_bytes"] or 0) / 2**20, ".0f")
            if row["kind"] == "matmul":
                lines.append(
                    f"| {label} | - | - | {_fmt(row['gflops_median'], '.0f')} "
                    f"({_fmt(row['gflops_min'], '.0f')}-"
                    f"{_fmt(row['gflops_max'], '.0f')}) | 100% | "
                    f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
                )
                continue
            note = ""
            if row["extrapolated"]:
                note = f" (extrapolated from {row['restarts_run']} restarts"
                if row["steps_run"] < r["steps"]:
                    note += f" x {row['steps_run']} steps"
                note += ")"
            frac = row.get("fraction_of_ceiling")
            lines.append(
                f"| {label} | {_fmt(row['restart_steps_per_s'], ',.0f')} "
                f"({_fmt(row['restart_steps_per_s_min'], ',.0f')}-"
                f"{_fmt(row['restart_steps_per_s_max'], ',.0f')}) | "
                f"{_fmt(row['seconds_for_all'], '.1f')}{note} | "
                f"{_fmt(row['gflops'], '.1f')} | "
                f"{'-' if frac is None else format(frac, '.0%')} | "
                f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
            )
        for label, why in r["skipped"].items():
            lines.append(f"| {label} | skipped: {why} | | | | | |")
        lines.append("")
    if "memory" in results:
        lines += ["### Memory: initlab.train on M (peak RSS of the process)", "",
                  "| run | peak RSS (MiB) | wall (s) |", "|---|---|---|"]  # fmt: skip
        for label, row in results["memory"].items():
            rss = row.get("peak_rss_bytes")
            lines.append(
                f"| {label}, {row.get('steps', '?')} steps | "
                f"{_fmt(None if rss is None else rss / 2**20, '.0f')} | "
                f"{_fmt(row.get('wall_s'), '.1f')} |"
            )
        lines.append("")
    lines += ["### Targets", "", "| target | goal | measured | met |",
              "|---|---|---|---|"]  # fmt: skip
    for t in results["targets"]:
        goal = (
            f"< {t['goal']}"
            if "memory" in t["target"]
            else f">= {t['goal']:.0%}"
            if "fraction" in t["target"]
            else f">= {t['goal']}x"
        )
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {goal} | {_fmt(t['value'], '.2f')} | {met} |")
    return "\n".join(lines) + "\n"


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


if __name__ == "__main__":
    # Run as a script (a worker): this folder must not shadow top-level modules.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    raise SystemExit(main())
