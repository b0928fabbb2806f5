"""Restarts: keys, one jitted vmapped ``lax.scan`` SGD loop, chunks, sharding, resume.

The flow (see DESIGN.md): keys -> (init phase) parameters for every
(initializer, restart), stacked on one leading axis -> (train phase) one
compiled, vmapped loop over the whole stack -> :class:`~initlab.Outcomes`.

Rooms: ``keys`` (two PRNG streams per restart), ``devices`` (CPU devices, the
mesh), ``inputs`` (checks before compiling), ``loop`` (the jitted loop),
``store`` (run folders, resume) and ``train`` (the entry point).
"""

from initlab.engine.devices import use_cpu_devices
from initlab.engine.inputs import OPTIMIZERS, make_optimizer
from initlab.engine.inputs import _label as _label  # used by experiments
from initlab.engine.keys import DESIGNS, Design, restart_seeds, stream_keys
from initlab.engine.loop import TrainState
from initlab.engine.loop import _Compiled as _Compiled  # tests interrupt its run
from initlab.engine.store import RunConfig
from initlab.engine.train import train

__all__ = [
    "DESIGNS", "Design", "OPTIMIZERS", "RunConfig", "TrainState", "make_optimizer",
    "restart_seeds", "stream_keys", "train", "use_cpu_devices",
]  # fmt: skip
