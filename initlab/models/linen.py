"""Flax linen models as PureModels: params, mutable collections and RNG streams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from initlab._types import PRNGKey, PyTree
from initlab.models.pure import PureModel, _by_rules


def from_linen(
    module: Any,
    example_x: Any,
    *,
    name: str | None = None,
    train_kwarg: str | None = "train",
    mutable: Sequence[str] = ("batch_stats",),
    rng_streams: Sequence[str] = ("dropout",),
    kernel_rule: str = r"kernel$",
    bias_rule: str = r"bias$",
) -> PureModel:
    """A :class:`PureModel` from a Flax linen module, with its state and RNGs.

    ``params`` is the module's ``"params"`` collection; the collections in
    ``mutable`` (``batch_stats``) are its state, carried per restart and
    updated by every training step (``module.apply(..., train=True,
    mutable=[...])``); each stream in ``rng_streams`` gets a fresh key every
    training step. Evaluation calls ``module.apply(..., train=False)``. The
    engine's kernel/bias initializers redraw the leaves whose path matches
    ``kernel_rule`` / ``bias_rule`` (see :func:`initlab.reinit`).

    Args:
      module: a ``flax.linen.Module`` whose ``__call__(x, train)`` returns
        (batch, out).
      example_x: an input batch (shapes only) for ``module.init``.
      name: label (default: the module's class name).
      train_kwarg: the keyword that switches training mode (None: the module
        takes none).
      mutable: collections updated during training.
      rng_streams: RNG streams used during training (dropout).
      kernel_rule, bias_rule: regular expressions of kernel and bias paths.

    Returns:
      the pure model.

    Raises:
      TypeError: ``module`` is not a linen Module.

    Example:
      >>> import flax.linen as nn
      >>> class Net(nn.Module):
      ...     @nn.compact
      ...     def __call__(self, x, train):
      ...         x = nn.BatchNorm(use_running_average=not train)(nn.Dense(32)(x))
      ...         x = nn.Dropout(0.1, deterministic=not train)(nn.relu(x))
      ...         return nn.Dense(10)(x)
      >>> model = from_linen(Net(), jnp.zeros((1, 64)))
    """
    import flax.linen as nn

    if not isinstance(module, nn.Module):
        raise TypeError(
            f"from_linen: module must be a flax.linen Module; got "
            f"{type(module).__name__} (for NNX use initlab.models.from_nnx)."
        )
    mutable = list(mutable)
    streams = list(rng_streams)
    example = jnp.asarray(example_x)[:1]

    def mode(train: bool) -> dict[str, bool]:
        return {} if train_kwarg is None else {train_kwarg: train}

    def rngs(key: PRNGKey) -> dict[str, PRNGKey]:
        return {s: jax.random.fold_in(key, i + 1) for i, s in enumerate(streams)}

    def variables(key: PRNGKey) -> dict[str, Any]:
        return dict(module.init({"params": key, **rngs(key)}, example, **mode(False)))

    def init(key: PRNGKey, kernel_init=None, bias_init=None) -> PyTree:
        return _by_rules(variables(key)["params"], key, kernel_init, bias_init,
                         kernel_rule, bias_rule)  # fmt: skip

    def init_state(key: PRNGKey) -> PyTree:
        return {k: v for k, v in variables(key).items() if k in mutable}

    def train_apply(params, state, x, key):
        out, updates = module.apply({"params": params, **state}, x, **mode(True),
                                    rngs=rngs(key), mutable=mutable)  # fmt: skip
        return out, {**state, **updates}

    def eval_apply(params, state, x):
        return module.apply({"params": params, **state}, x, **mode(False))

    initial = init_state(jax.random.key(0))

    def apply(params, x):
        return eval_apply(params, initial, x)

    label = name if name is not None else type(module).__name__
    return PureModel(label, init, apply, init_state=init_state,
                     train_apply=train_apply, eval_apply=eval_apply)  # fmt: skip
