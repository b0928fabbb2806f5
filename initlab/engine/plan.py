"""The execution plan: how a run's restarts are laid out on the hardware, and why.

One plan, computed before anything compiles, from the backend and its devices
(count, kind, memory: ``Device.memory_stats()`` on accelerators, the host's RAM
on CPU) and the run's measured per-restart bytes (parameters and optimizer
state by ``jax.eval_shape``; one step's and one evaluation block's
intermediates from the traced program). It fixes the devices, the chunk size,
the restarts per device, the restart block (cache-sized ``lax.map`` blocks on
CPU; the whole per-device stack vmapped on GPU/TPU unless memory says
otherwise), the evaluation block, the predicted peak memory per device and the
number of compilations. A plan that would not fit fails here, saying what
would.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from initlab import _checks
from initlab.engine.build import Run, resolve
from initlab.engine.config import TrainConfig
from initlab.engine.core import EVAL_BLOCK, TrainCore

# On CPU a block of restarts walks all its steps while its parameters and
# activations stay in cache: measured on a 2-core EPYC, the digits MLP (~2 MB
# per restart-step) ran 1.5x faster 1-2 restarts at a time than all 128 per
# device at once, and XOR (~1 KB) the same with any block of >= 256 restarts.
CPU_BLOCK_BYTES = 4 * 2**20
# Share of a device's memory a plan may fill: XLA needs room for its own
# buffers, fragmentation and the evaluation outputs.
MEMORY_FRACTION = 0.8
# Above this, the outcomes held on the host (curves, per-example results) of a
# run are refused before training: split the sweep with first_restart.
HOST_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    """The hardware a plan is for: real (``DeviceSpec.detect()``) or described.

    Attributes:
      platform: "cpu", "gpu" or "tpu".
      count: devices the restarts are sharded over.
      memory_bytes: usable memory of one device (CPU: the host's RAM divided
        among the CPU devices).
      kind: a label, e.g. "NVIDIA H100 80GB HBM3".
      host_memory_bytes: the host's RAM (holds the outcomes of every restart).

    Example:
      >>> DeviceSpec("gpu", 8, 16 * 2**30, "16 GiB GPU")
    """

    platform: str
    count: int
    memory_bytes: int
    kind: str = ""
    host_memory_bytes: int | None = None

    def __post_init__(self) -> None:
        _checks.choice(self.platform, ("cpu", "gpu", "tpu"), "platform",
                       where="DeviceSpec")  # fmt: skip
        _checks.positive_int(self.count, "count", where="DeviceSpec")
        _checks.positive_int(self.memory_bytes, "memory_bytes", where="DeviceSpec")

    @classmethod
    def detect(cls, devices: Sequence[Any]) -> DeviceSpec:
        """The spec of real jax devices (the ones a run's mesh uses)."""
        first = devices[0]
        host = _host_memory()
        stats = _memory_stats(first)
        if first.platform == "cpu" or not stats:
            per = host // len(devices) if first.platform == "cpu" else 16 * 2**30
        else:
            per = int(stats.get("bytes_limit") or stats.get("bytes_reservable_limit"))
        return cls(first.platform, len(devices), int(per),
                   str(getattr(first, "device_kind", "")), host)  # fmt: skip


def _memory_stats(device: Any) -> dict[str, Any]:
    try:
        return device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - backends without the query raise
        return {}


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a run trains (see the module docstring); printed, saved, tested.

    Attributes:
      backend, device_kind: where it runs; devices: how many.
      device_memory_bytes: usable memory per device.
      rows: initializers x restarts.
      chunk_size: rows per compiled call; num_chunks: calls.
      restarts_per_device: rows of one chunk on one device (padded).
      restart_block: restarts walked at once per device (None: the whole
        per-device stack vmapped).
      eval_block: examples per evaluation block.
      bytes_per_restart: "params", "opt_state", "state", "step" (one step's
        intermediates) and "eval" (one evaluation block's) of one restart.
      peak_bytes_per_device: the predicted peak memory of a device.
      host_bytes: outcomes held on the host for the whole run.
      compilations: jitted programs the run compiles (init per initializer,
        the model state, start, evaluation, per-example results, and one
        segment program for every segment length).
      segments: scan segments per chunk (an evaluation ends each).
      chunk_reason: why this chunk size.
    """

    backend: str
    device_kind: str
    devices: int
    device_memory_bytes: int
    rows: int
    chunk_size: int
    num_chunks: int
    restarts_per_device: int
    restart_block: int | None
    eval_block: int
    bytes_per_restart: dict[str, int]
    peak_bytes_per_device: int
    host_bytes: int
    compilations: int
    segments: int
    chunk_reason: str

    def summary(self) -> str:
        """One line: devices, chunks, blocks, memory, compilations.

        Example:
          >>> print(initlab.plan(initlab.TrainConfig(task="xor")).summary())
          plan: 1 cpu device (cpu), 16 rows in 1 chunk of 16 (all rows), ...
        """
        block = ("whole stack vmapped" if self.restart_block is None
                 else f"blocks of {self.restart_block}")  # fmt: skip
        return (
            f"plan: {self.devices} {self.backend} device"
            f"{'s' if self.devices > 1 else ''} ({self.device_kind or '?'}), "
            f"{self.rows} rows in {self.num_chunks} chunk"
            f"{'s' if self.num_chunks > 1 else ''} of {self.chunk_size} "
            f"({self.chunk_reason}), {self.restarts_per_device} restarts per "
            f"device in {block}, eval blocks of {self.eval_block}, peak "
            f"{_gib(self.peak_bytes_per_device)} of {_gib(self.device_memory_bytes)}"
            f" per device, {self.compilations} compilations"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (what ``Outcomes.metadata["plan"]`` records)."""
        return dataclasses.asdict(self)


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**27 else f"{n / 2**20:.1f} MiB"


def _tree_bytes(tree: Any) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize
               for x in jax.tree.leaves(tree))  # fmt: skip


def _traced_bytes(fn, *args) -> int:
    """Bytes of every intermediate of ``fn``'s traced program (an upper bound)."""
    from jax.extend.core import jaxprs_in_params

    jaxpr = jax.make_jaxpr(fn)(*args)
    total, todo = 0, [jaxpr.jaxpr]
    while todo:
        for eqn in todo.pop().eqns:
            for var in eqn.outvars:
                aval = var.aval
                if hasattr(aval, "shape") and hasattr(aval, "dtype"):
                    total += math.prod(aval.shape) * aval.dtype.itemsize
            todo.extend(getattr(j, "jaxpr", j) for j in jaxprs_in_params(eqn.params))
    return total


def restart_bytes(core: TrainCore) -> dict[str, int]:
    """Bytes one restart needs: parameters, optimizer state, step, evaluation.

    Measured without computing anything: shapes by ``jax.eval_shape``, the
    step's intermediates from its traced program on batches of 1 and 2,
    extrapolated linearly to the batch (so the real step is traced once, by
    the compiler), and one evaluation block's forward pass likewise.

    Example:
      >>> restart_bytes(initlab.make_train("xor"))["params"]
      36
    """
    params = jax.eval_shape(core.model.init, jax.random.key(0))
    opt_state = jax.eval_shape(core.optimizer.init, params)
    xs, ys = core.task.x_train, core.task.y_train

    def batch(b):
        return (jax.ShapeDtypeStruct((b, *xs.shape[1:]), xs.dtype),
                jax.ShapeDtypeStruct((b, *ys.shape[1:]), ys.dtype))  # fmt: skip

    def grad_at(b):
        return _traced_bytes(jax.value_and_grad(core.loss), params, *batch(b))

    def forward_at(b):
        return _traced_bytes(core.model.apply, params, batch(b)[0])

    param_bytes = _tree_bytes(params)
    one, two = grad_at(1), grad_at(2)
    # grads, updates and new params, each the size of the params
    step = one + (core.batch_size - 1) * (two - one) + 3 * param_bytes
    block = min(core.eval_block, max(len(core.task.x_train), len(core.task.x_test)))
    f1, f2 = forward_at(1), forward_at(2)
    evaluation = f1 + (block - 1) * (f2 - f1)
    state = 4 * len(xs) + 16  # the epoch's order (int32) and the flags
    return {"params": param_bytes, "opt_state": _tree_bytes(opt_state),
            "state": state, "step": int(step), "eval": int(evaluation)}  # fmt: skip


def plan(config: TrainConfig, device: DeviceSpec | None = None) -> Plan:
    """The execution plan of a run on real or described hardware.

    Args:
      config: a :class:`TrainConfig`.
      device: the hardware to plan for (default: the devices JAX sees, as
        ``config.devices`` picks them). Tests describe GPUs here.

    Returns:
      :class:`Plan`.

    Raises:
      ValueError: a ``chunk_size`` that would not fit (the message gives the
        largest that would), a restart too large for one device, or outcomes
        too large for the host.

    Example:
      >>> p = initlab.plan(initlab.TrainConfig(task="digits", num_restarts=4096),
      ...                  DeviceSpec("gpu", 1, 80 * 2**30))
      >>> p.num_chunks, p.restart_block
      (1, None)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"plan: expected a TrainConfig; got {type(config).__name__}.")
    return plan_run(resolve(config), device, chunk_given=config.chunk_size is not None)


def plan_run(run: Run, device: DeviceSpec | None = None, *,
             chunk_given: bool = False) -> Plan:  # fmt: skip
    """:func:`plan` of a built run (``chunk_given``: the user set chunk_size)."""
    c = run.config
    if device is None:
        from initlab.engine.devices import _mesh

        device = DeviceSpec.detect(list(_mesh(c.devices).devices.flat))
    accel = device.platform != "cpu"
    n_train, n_test = len(run.task.x_train), len(run.task.x_test)
    # The whole split at once on an accelerator (one wide kernel); blocks of
    # EVAL_BLOCK on CPU, where a block's activations stay in cache.
    eval_block = max(n_train, n_test) if accel else EVAL_BLOCK
    core = core_of(run, eval_block)
    per = restart_bytes(core)
    rows = len(run.initializers) * len(run.combos) * c.num_restarts
    resident = per["params"] + per["opt_state"] + per["state"]
    data = sum(a.nbytes for a in (run.task.x_train, run.task.y_train,
                                  run.task.x_test, run.task.y_test))  # fmt: skip
    budget = int(MEMORY_FRACTION * device.memory_bytes) - data
    # a restart's step (and evaluation) must fit beside its resident state
    one = resident + max(per["step"], per["eval"])
    if one > budget:
        raise ValueError(
            f"one restart needs about {_gib(one)} (params {_gib(per['params'])}, "
            f"optimizer state {_gib(per['opt_state'])}, one step "
            f"{_gib(per['step'])}) but a {device.platform} device has "
            f"{_gib(budget)} to give: use a smaller model or batch_size."
        )
    n_segments = len(core.eval_steps) - 1

    def per_device(chunk: int) -> int:
        return math.ceil(chunk / device.count)

    def block_for(stack: int) -> int | None:
        if not accel:
            block = max(1, CPU_BLOCK_BYTES // max(per["step"], 1))
            return None if block >= stack else int(block)
        # accelerators: the whole stack, unless its intermediates do not fit
        room = budget - stack * resident
        fits = max(1, room // max(per["step"], per["eval"], 1))
        return None if fits >= stack else int(fits)

    def peak(chunk: int) -> int:
        stack = per_device(chunk)
        block = block_for(stack) or stack
        # resident state twice (donated buffers and the next segment's output),
        # plus the larger of a block's steps and the step-0 evaluation, which
        # runs over the whole stack at once
        work = max(block * per["step"], stack * per["eval"])
        return data + 2 * stack * resident + work

    limit = budget + data
    if chunk_given:
        chunk = c.chunk_size
        reason = "as configured"
        if peak(chunk) > limit:
            raise ValueError(
                f"chunk_size={chunk} would need about {_gib(peak(chunk))} per "
                f"{device.platform} device (of {_gib(device.memory_bytes)}); "
                f"chunk_size={_largest_fit(peak, limit, rows, device.count)} "
                "would fit."
            )
    elif peak(rows) <= limit:
        chunk, reason = rows, "all rows"
    else:
        chunk = _largest_fit(peak, limit, rows, device.count)
        reason = f"memory: all {rows} rows would need {_gib(peak(rows))} per device"
    num_chunks = math.ceil(rows / chunk)
    evals = n_segments + 1
    metric_count = len(run.metrics)
    host = rows * (evals * metric_count * 8 + (n_test if run.task.correct else 0))
    host_limit = HOST_FRACTION * (device.host_memory_bytes or _host_memory())
    if host > host_limit:
        raise ValueError(
            f"{rows} rows x {evals} evaluations would hold {_gib(host)} of outcomes "
            f"on the host (of {_gib(int(host_limit / HOST_FRACTION))}): split the "
            "sweep with first_restart/num_restarts, or evaluate less often "
            "(eval_every / eval_schedule)."
        )
    # init per initializer, the model state, start, evaluation, per-example
    # results, and one segment program for every segment length
    compilations = len(run.initializers) + 3 + (run.task.correct is not None) + 1
    return Plan(
        backend=device.platform, device_kind=device.kind, devices=device.count,
        device_memory_bytes=int(device.memory_bytes), rows=rows, chunk_size=chunk,
        num_chunks=num_chunks, restarts_per_device=per_device(chunk),
        restart_block=block_for(per_device(chunk)), eval_block=eval_block,
        bytes_per_restart=per, peak_bytes_per_device=int(peak(chunk)),
        host_bytes=int(host), compilations=compilations,
        segments=n_segments, chunk_reason=reason,
    )  # fmt: skip


def core_of(run: Run, eval_block: int = EVAL_BLOCK) -> TrainCore:
    """The pure core a built run trains (its initializers enter the init phase)."""
    c = run.config
    return TrainCore(
        run.task, run.model, run.optimizer, c.batch_size, c.steps, c.eval_every,
        eval_block=eval_block, compute_dtype=c.compute_dtype,
        data_order=c.data_order, schedule=c.eval_schedule,
    )  # fmt: skip


def _largest_fit(peak, limit: int, rows: int, count: int) -> int:
    """The largest chunk (a multiple of the device count) whose peak fits."""
    low, high = count, rows
    if peak(low) > limit:
        return count
    while low < high:  # peak is monotone in the chunk size
        mid = (low + high + 1) // 2
        mid = max(count, mid // count * count)
        if peak(mid) <= limit:
            if mid == low:
                break
            low = mid
        else:
            high = mid - 1
    return low
