"""initlab: the science of weight initialization in JAX.

Every initializer is a pure ``init(key, shape, dtype) -> jax.Array``; many
restarts train at once in one jitted, vmapped loop; their outcomes become
statistics, plots and reports.

Example:
  >>> import initlab
  >>> out = initlab.train("digits", ["glorot_uniform", "he_normal"],
  ...                     num_restarts=64, steps=300)
  >>> initlab.stats.summary_table(out, "test_accuracy", rng=0)
"""

from importlib import metadata as _metadata

from initlab import (
    diagnostics,
    models,
    parametrization,
    plots,
    report,
    restarts,
    stats,
    tasks,
)
from initlab import initializers as _initializers
from initlab.engine import (
    DESIGNS,
    OPTIMIZERS,
    DeviceSpec,
    Plan,
    TrainConfig,
    TrainCore,
    TrainState,
    make_optimizer,
    make_train,
    plan,
    restart_seeds,
    stream_keys,
    train,
    use_cpu_devices,
)
from initlab.lsuv import lsuv, lsuv_model, lsuv_rescale
from initlab.models import MODELS, PureModel, from_linen, from_nnx, from_pure
from initlab.outcomes import Outcomes
from initlab.registry import KERAS_NAMES, get, names, register, to_config
from initlab.reinit import reinit
from initlab.report import write_report
from initlab.tasks import TASKS, Task, get_task, make_task

try:
    __version__ = _metadata.version("initlab")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# Every initializer factory and helper, as the initializers package lists them
# (each factory registers itself where it is defined).
globals().update({name: getattr(_initializers, name) for name in _initializers.__all__})

# The non-initializer public API, then the initializers.
__all__ = [
    "DESIGNS", "DeviceSpec", "KERAS_NAMES", "MODELS", "OPTIMIZERS", "Outcomes",
    "Plan", "PureModel",
    "TASKS", "Task", "TrainConfig", "TrainCore", "TrainState", "diagnostics",
    "from_linen", "from_nnx", "from_pure", "get", "get_task", "lsuv", "lsuv_model",
    "lsuv_rescale", "make_optimizer", "make_task", "make_train", "models",
    "names", "plan", "plots", "register", "reinit", "report", "restart_seeds", "stats",
    "stream_keys", "tasks", "to_config", "train", "use_cpu_devices",
    "write_report",
    "restarts",
    *_initializers.__all__,
]  # fmt: skip
__all__ += ["parametrization"]
