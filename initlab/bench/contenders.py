"""Contenders, each in its own worker process (this file run as a script)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_TAG = "@@bench "  # prefix of protocol lines on a worker's stdout


MATMUL_N = 2048


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
        root = str(Path(__file__).resolve().parents[2])  # the repository
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


if __name__ == "__main__":
    # Run as a script (a worker): this folder must not shadow top-level modules.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    # ``python contenders.py --worker SPEC`` (see _Remote), not the package's main:
    # a torch worker must not import initlab (and JAX).
    raise SystemExit(_worker(json.loads(sys.argv[sys.argv.index("--worker") + 1])))
