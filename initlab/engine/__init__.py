"""Restarts: the config, the pure core, keys, chunks, sharding and resume.

The flow (see DESIGN.md): a :class:`TrainConfig` -> (``build``) the task,
model, optimizer and initializers -> keys -> (init phase) parameters for every
(initializer, restart), stacked on one leading axis -> (train phase) the pure
core of :func:`make_train`, vmapped over the whole stack in one compiled loop
-> :class:`~initlab.Outcomes`.

Rooms: ``config`` (TrainConfig, the one declaration of every option),
``specs`` (what each option accepts: checked, normalised, described),
``build`` (specs -> objects, defaults, checks before compiling),
``optimizers`` (optax from names, dicts, factories; hyper-parameter axes),
``user_code`` (``module:attr`` specs), ``schedule`` (when a run evaluates),
``plan`` (the execution plan: devices, chunks, blocks, memory), ``core``
(make_train: the public pure per-restart functions), ``keys`` (four PRNG
streams per restart and the designs), ``devices`` (CPU devices, the mesh),
``execute`` (restart blocks, jit caches, chunks), ``store`` (run identity,
run folders, resume) and ``train`` (the entry point).
"""

from initlab.engine.build import Run, build_model, build_task, resolve
from initlab.engine.config import TrainConfig
from initlab.engine.core import TrainCore, TrainState, make_train
from initlab.engine.devices import use_cpu_devices
from initlab.engine.execute import ChunkRunner
from initlab.engine.keys import DESIGNS, Design, restart_seeds, stream_keys
from initlab.engine.optimizers import make_optimizer
from initlab.engine.plan import DeviceSpec, Plan, plan
from initlab.engine.specs import (
    OPTIMIZERS,
    describe,
    initializer_label,
    normalise_initializers,
    resolve_initializers,
)
from initlab.engine.store import fingerprint
from initlab.engine.train import train

__all__ = [
    "ChunkRunner", "DESIGNS", "Design", "DeviceSpec", "OPTIMIZERS", "Plan", "Run",
    "TrainConfig",
    "TrainCore", "TrainState", "build_model", "build_task", "describe",
    "fingerprint", "initializer_label", "make_optimizer", "make_train",
    "normalise_initializers", "plan", "resolve", "resolve_initializers",
    "restart_seeds", "stream_keys", "train", "use_cpu_devices",
]  # fmt: skip
