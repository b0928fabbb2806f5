"""JAX contenders (each in a worker process): initlab, sequential JAX, ceilings.

Loaded by the worker from this file's path (see ``contenders._load``), never
as ``initlab.bench.jax_contenders``: a baseline worker imports an older
initlab from another tree, which has no such module. Every contender has
``setup() -> compile seconds``, ``run() -> dict`` and ``peak_device_bytes()``;
``info`` says where it ran.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from pathlib import Path
from statistics import median
from tempfile import mkdtemp
from typing import Any


def _workloads():
    """This folder's workloads.py (task builders, FLOP counts), by path."""
    name = "_initlab_bench_workloads"
    if name not in sys.modules:  # registered first: dataclasses look it up
        path = Path(__file__).with_name("workloads.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _task(spec: dict):
    return _workloads().bench_task(spec["task"], spec.get("stand_in", False))


def _model(spec: dict, task):
    import initlab

    name = spec.get("model")
    return initlab.models.MODELS[name]() if name else task.default_model()


def _compile_events():
    """A dict accumulating JAX's compile-stage durations (trace, lower, compile)."""
    import jax.monitoring

    events = {"s": 0.0}

    def listen(name: str, seconds: float, **_: Any) -> None:
        if name.startswith("/jax/core/compile/"):
            events["s"] += seconds

    jax.monitoring.register_event_duration_secs_listener(listen)
    return events


def _device_info() -> dict:
    import jax

    first = jax.devices()[0]
    return {"platform": first.platform, "device_kind": str(first.device_kind),
            "device_count": jax.device_count()}  # fmt: skip


def _peak_device_bytes() -> int | None:
    """The largest peak of bytes in use over this process's devices (None: CPU)."""
    import jax

    peaks = []
    for device in jax.local_devices():
        try:
            stats = device.memory_stats() or {}
        except Exception:  # noqa: BLE001 - backends without the query raise
            stats = {}
        if stats.get("peak_bytes_in_use") is not None:
            peaks.append(int(stats["peak_bytes_in_use"]))
    return max(peaks) if peaks else None


class Initlab:
    """``initlab.train`` as a user calls it; run time = wall - compile events.

    Every ``train`` call traces and compiles its loop afresh; a persistent
    compilation cache (as a sweep would use) turns the later compiles into cache
    loads. The first, cold call is the compile-time measurement. Evaluation:
    once at the end (``eval_every=steps``) unless the spec gives
    ``eval_every`` or ``eval_schedule``.
    """

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        import jax

        import initlab

        initlab.use_cpu_devices()
        cache = mkdtemp(prefix="initlab-bench-cache-")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        self.events = _compile_events()
        self.task = _task(self.spec)
        self.model = _model(self.spec, self.task)  # one model: train() reuses it
        self.info = dict(_device_info(), initlab=str(Path(initlab.__file__).parent))
        first = self.run()
        self.cold_wall = first["wall_s"]
        return first["compile_s"]

    def run(self) -> dict:
        import initlab

        s = self.spec
        options: dict[str, Any] = dict(
            model=self.model, num_restarts=s["num_restarts"], steps=s["steps"],
            batch_size=s["batch"], learning_rate=s["lr"],
            optimizer=s.get("optimizer", "sgd"), chunk_size=s.get("chunk_size"),
            devices=s.get("devices"), progress=False,
        )  # fmt: skip
        if s.get("eval_schedule") is not None:
            options["eval_schedule"] = s["eval_schedule"]
        else:
            options["eval_every"] = s.get("eval_every") or s["steps"]
        if s.get("compute_dtype"):
            options["compute_dtype"] = s["compute_dtype"]
        self.events["s"] = 0.0
        t0 = time.perf_counter()
        out = initlab.train(self.task, **options)
        wall = time.perf_counter() - t0
        compile_s = self.events["s"]
        assert out.final  # results were fetched to the host
        result = {
            "seconds": wall - compile_s,
            "wall_s": wall,
            "compile_s": compile_s,
            "restarts_run": s["num_restarts"],
            "devices": len(out.metadata["devices"]),
            "evaluations": len(out.steps),
        }
        plan = out.metadata.get("plan")  # absent from an older initlab
        if plan is not None:
            result["plan"] = plan
            try:
                result["plan_summary"] = initlab.Plan(**plan).summary()
            except (AttributeError, TypeError):
                pass
        return result

    def peak_device_bytes(self) -> int | None:
        return _peak_device_bytes()


def _jax_train_one(task, model, steps: int, batch: int, optimizer):
    """One restart: a jitted ``lax.scan`` loop, a permutation every epoch."""
    import jax
    import jax.numpy as jnp
    import optax

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
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, order), loss

        carry = (params, optimizer.init(params), jnp.arange(n))
        (params, _, _), losses = jax.lax.scan(body, carry, jnp.arange(steps))
        return params, losses[-1]

    return train_one


def _optax(name: str, lr: float):
    import optax

    return {"sgd": optax.sgd, "adam": optax.adam}[name](lr)


class JaxSequential:
    """Sequential JAX: the jitted per-restart loop called once per restart."""

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        import jax

        s = self.spec
        self.task = _task(s)
        model = _model(s, self.task)
        opt = _optax(s.get("optimizer", "sgd"), s["lr"])
        self.fn = _jax_train_one(self.task, model, s["steps"], s["batch"], opt)
        self.info = _device_info()
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

    def peak_device_bytes(self) -> int | None:
        return _peak_device_bytes()


def _ceiling_fn(c: dict):
    """(jitted function, its arguments, FLOPs per call) of a ceiling spec."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    dtype = jnp.dtype(c["dtype"])
    # Operands drawn by NumPy: eager jax.random would compile its kernels
    # afresh for every shape (seconds each on a CPU); the values don't matter.
    rng = np.random.default_rng(0)

    def normal(shape, scale=1.0):
        x = rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)
        return jnp.asarray(x.astype(dtype))

    if c["shape"] == "square":
        n = c["n"]
        return jax.jit(lambda x: x @ x), (normal((n, n)),), 2 * n**3
    sizes, batch, r = c["sizes"], c["batch"], c["restarts"]
    x = normal((r, batch, sizes[0]))
    ws = [normal((r, a, b), 1 / math.sqrt(a))
          for a, b in zip(sizes[:-1], sizes[1:], strict=True)]  # fmt: skip

    def step(x, ws):
        hs, h = [x], x
        for w in ws:
            h = jnp.einsum("rbi,rio->rbo", h, w)
            hs.append(h)
        g, grads = h, []
        for i in reversed(range(len(ws))):
            grads.append(jnp.einsum("rbi,rbo->rio", hs[i], g))
            if i:  # the input needs no gradient
                g = jnp.einsum("rbo,rio->rbi", g, ws[i])
        return grads

    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    mm = sum(a * b for a, b in pairs)
    flops = r * 2 * batch * (2 * mm + sum(a * b for a, b in pairs[1:]))
    return jax.jit(step), (x, ws), flops


class Ceilings:
    """Matmul ceilings: square matmuls and an MLP step's matmuls (see workloads).

    Each is timed as the median of 5 repeats, a repeat being as many
    back-to-back calls as take about 50 ms (one on CPU at 2048^2).
    """

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        import jax

        self.info = _device_info()
        self.cases = []
        t0 = time.perf_counter()
        for c in self.spec["ceilings"]:
            fn, args, flops = _ceiling_fn(c)
            jax.block_until_ready(fn(*args))  # compile
            t1 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            single = time.perf_counter() - t1
            calls = max(1, min(1000, math.ceil(0.05 / max(single, 1e-6))))
            self.cases.append((c["label"], fn, args, flops, calls))
        return time.perf_counter() - t0

    def run(self) -> dict:
        import jax

        rates, t_all = {}, time.perf_counter()
        for label, fn, args, flops, calls in self.cases:
            times = []
            for _ in range(self.spec.get("repeats", 5)):
                t0 = time.perf_counter()
                out = None
                for _ in range(calls):
                    out = fn(*args)
                jax.block_until_ready(out)
                times.append((time.perf_counter() - t0) / calls)
            rates[label] = flops / median(times) / 1e9
        return {"seconds": time.perf_counter() - t_all, "gflops": rates}

    def peak_device_bytes(self) -> int | None:
        return _peak_device_bytes()


class Flops:
    """FLOP counts of training steps read off traced programs (nothing runs)."""

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        self.info = _device_info()
        return 0.0

    def run(self) -> dict:
        w = _workloads()
        t0 = time.perf_counter()
        counts = {}
        for key, s in self.spec["items"].items():
            task = _task(s)
            counts[key] = w.train_step_flops(
                task, _model(s, task), _optax(s.get("optimizer", "sgd"), s["lr"]),
                s["batch"],
            )  # fmt: skip
        return {"seconds": time.perf_counter() - t0, "flops": counts}

    def peak_device_bytes(self) -> int | None:
        return None


KINDS = {
    "initlab": Initlab,
    "jax_seq": JaxSequential,
    "matmul": Ceilings,
    "flops": Flops,
}
