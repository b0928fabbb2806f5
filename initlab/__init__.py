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

from initlab import diagnostics, models, plots, report, stats, tasks
from initlab.engine import (
    DESIGNS,
    OPTIMIZERS,
    TrainConfig,
    TrainCore,
    TrainState,
    make_optimizer,
    make_train,
    restart_seeds,
    stream_keys,
    train,
    use_cpu_devices,
)
from initlab.initializers import (
    TRUNCATED_STD,
    InitFn,
    chi_1,
    constant,
    critical_sigma_w,
    dct,
    delta_orthogonal,
    depth_scaled,
    depth_schedule,
    dirac,
    edge_of_chaos,
    edge_of_chaos_bias,
    fans,
    fixed_point_q,
    fixup,
    fixup_scale,
    gabor,
    gain,
    glorot_normal,
    glorot_uniform,
    gpt2_residual,
    gpt2_scale,
    haar,
    he_normal,
    he_uniform,
    identity,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    ones,
    orthogonal,
    perturbed,
    random_normal,
    random_uniform,
    schedule_scale,
    sparse,
    torch_default,
    torch_default_bias,
    truncated_normal,
    variance_scaling,
    xavier_normal,
    xavier_uniform,
    zero_init,
    zeros,
)
from initlab.lsuv import lsuv, lsuv_model, lsuv_rescale
from initlab.models import MODELS, PureModel, from_nnx, from_pure
from initlab.outcomes import Outcomes
from initlab.registry import KERAS_NAMES, get, names, register, to_config
from initlab.reinit import reinit
from initlab.report import write_report
from initlab.tasks import TASKS, Task, get_task, make_task

try:
    __version__ = _metadata.version("initlab")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DESIGNS", "InitFn", "KERAS_NAMES", "MODELS", "OPTIMIZERS", "Outcomes", "PureModel",
    "TASKS", "TRUNCATED_STD", "Task", "TrainConfig", "TrainCore", "TrainState", "chi_1",
    "constant", "critical_sigma_w", "dct", "delta_orthogonal", "depth_scaled",
    "depth_schedule", "diagnostics", "dirac", "edge_of_chaos", "edge_of_chaos_bias",
    "fans", "fixed_point_q", "fixup", "fixup_scale", "from_nnx", "from_pure", "gabor",
    "gain", "get", "get_task", "glorot_normal", "glorot_uniform", "gpt2_residual",
    "gpt2_scale", "haar", "he_normal", "he_uniform", "identity", "kaiming_normal",
    "kaiming_uniform", "lecun_normal", "lecun_uniform", "lsuv", "lsuv_model",
    "lsuv_rescale", "make_optimizer", "make_task", "make_train", "models", "names",
    "ones", "orthogonal", "perturbed", "plots", "random_normal", "random_uniform",
    "register", "reinit", "report", "restart_seeds", "schedule_scale", "sparse",
    "stats", "stream_keys", "tasks", "to_config", "torch_default", "torch_default_bias",
    "train", "truncated_normal", "use_cpu_devices", "variance_scaling", "write_report",
    "xavier_normal", "xavier_uniform", "zero_init", "zeros",
]  # fmt: skip
