"""Restarts that share one start but for a tiny change (Summers & Dinneen 2021).

How sensitive is training to its start? Give every restart the *same* base
initialization except one weight, moved by epsilon or with one bit flipped,
and compare the spread of their outcomes and predictions with that of fully
re-drawn restarts. Two pieces, used together:

* :func:`perturbation` -- an initializer that marks the change: the base
  initializer, and epsilon or the bit to flip;
* :func:`shared_start` -- a model wrapper: for a :class:`Perturbation` it draws
  the base parameters from one fixed key (the same for every restart) and
  changes one weight of the whole network, chosen (with the sign of the
  change) by the restart's own init key; for any other initializer it draws
  from the restart's key as usual (a full re-draw).

Both arms then train in one ``initlab.train`` call, one compilation, as
initializers of the same model; run with ``design="fixed_data"`` so the
data order is shared too. A model wrapper rather than an initializer alone,
because an initializer sees one leaf at a time and could not pick *one*
weight of the network, nor draw a base that is the same for every restart.

References:
  Summers & Dinneen (2021), "Nondeterminism and instability in neural
  network optimization", ICML (one bit of one weight changes the outcome
  as much as a new seed, in their ResNets).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks
from initlab.models import PureModel
from initlab.registry import get
from initlab.tree_paths import map_with_paths, paths

_UINT = {2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint64}


@dataclasses.dataclass(frozen=True)
class Perturbation:
    """A tiny change of one weight of a shared start (see :func:`shared_start`).

    Called as an initializer it is its base initializer (the engine checks
    every initializer so); only :func:`shared_start` gives it its meaning.

    Attributes:
      init: the base initializer (a function).
      epsilon: move the weight by +-epsilon (absolute), or None.
      bit: flip this bit of the weight (0 = the last bit of the mantissa:
        a change of one unit in the last place), or None.
    """

    init: Any
    epsilon: float | None = None
    bit: int | None = None

    def __call__(self, key, shape, dtype=jnp.float32):
        return self.init(key, shape, dtype)

    @property
    def label(self) -> str:
        """A short name: ``"eps=1e-04"`` or ``"bit 0"``."""
        return f"bit {self.bit}" if self.bit is not None else f"eps={self.epsilon:.0e}"


def perturbation(
    init: Any = "glorot_uniform",
    *,
    epsilon: float | None = None,
    bit: int | None = None,
) -> Perturbation:
    """The mark of a shared start with one weight changed (give exactly one).

    Args:
      init: the base initializer: a name, config or function.
      epsilon: the change of the weight, added with a random sign (> 0).
      bit: the bit to flip, 0 (least significant) to the dtype's width - 1;
        0 changes the weight by one unit in the last place (~6e-8 relative
        in float32).

    Returns:
      :class:`Perturbation`, an initializer for :func:`shared_start`'s model.

    Raises:
      ValueError: neither or both of epsilon and bit, epsilon <= 0, a
        negative bit.

    Example:
      >>> inits = {"redraw": "glorot_uniform",
      ...          "bit 0": perturbation("glorot_uniform", bit=0)}
    """
    where = "perturbation"
    if (epsilon is None) == (bit is None):
        raise ValueError(
            f"{where}: give exactly one of epsilon (move one weight by +-epsilon) "
            f"or bit (flip one bit of one weight); got epsilon={epsilon!r}, "
            f"bit={bit!r}."
        )
    if epsilon is not None:
        epsilon = _checks.number(epsilon, "epsilon", positive=True, where=where)
    if bit is not None:
        bit = _checks.integer(bit, "bit", low=0, high=64, where=where)
    return Perturbation(get(init), epsilon, bit)


def _change_one(params: Any, key: jax.Array, p: Perturbation, where: str) -> Any:
    """``params`` with one entry (over the leaves matching ``where``) changed."""
    chosen = [path for path in paths(params) if re.search(where, path)]
    leaves = dict(zip(paths(params), jax.tree.leaves(params), strict=True))
    sizes = [int(np.prod(np.shape(leaves[path]))) for path in chosen]
    total = sum(sizes)
    k_index, k_sign = jax.random.split(key)
    index = jax.random.randint(k_index, (), 0, total)
    starts = np.cumsum([0, *sizes[:-1]])
    changed = {}
    for path, start, size in zip(chosen, starts, sizes, strict=True):
        leaf = jnp.asarray(leaves[path])
        flat = leaf.reshape(-1)
        local = jnp.clip(index - start, 0, size - 1)
        here = (index >= start) & (index < start + size)
        value = flat[local]
        if p.bit is not None:
            width = jnp.dtype(leaf.dtype).itemsize
            if p.bit >= 8 * width:
                raise ValueError(
                    f"perturbation: bit {p.bit} does not exist in {leaf.dtype} "
                    f"(bits 0..{8 * width - 1})."
                )
            uint = _UINT[width]
            bits = jax.lax.bitcast_convert_type(value, uint) ^ uint(1 << p.bit)
            new = jax.lax.bitcast_convert_type(bits, leaf.dtype)
        else:
            sign = jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0)
            new = value + (sign * p.epsilon).astype(leaf.dtype)
        changed[path] = (
            flat.at[local].set(jnp.where(here, new, value)).reshape(leaf.shape)
        )
    return map_with_paths(lambda path, x: changed.get(path, x), params)


def shared_start(
    model: PureModel, base_key: jax.Array | int = 0, *, where: str = r"kernel$"
) -> PureModel:
    """``model`` whose :class:`Perturbation` initializers share one base start.

    With a :class:`Perturbation` as kernel initializer, ``init(key, ...)``
    draws the base parameters ``model.init(base_key, p.init, bias_init)``
    (the same for every restart) and changes one entry, chosen uniformly over
    the entries of the leaves whose path matches ``where`` (default every
    kernel), by ``p.epsilon`` with a random sign or by flipping ``p.bit``;
    which entry and which sign come from ``key`` (the restart's init key).
    With any other initializer it is ``model.init(key, ...)``: a full
    re-draw. Use the run's restart-0 init key as ``base_key``
    (``initlab.engine.keys.stream_key(seed, "init", [0])[0]``) and the base is
    that restart's start. Bias rules the engine applies outside the model
    (``bias_init="torch_default_bias"``) would be re-drawn per restart: leave
    bias_init to the model.

    Args:
      model: the model to wrap.
      base_key: a JAX key or an int seed of the base draw.
      where: regular expression on leaf paths of the weights that may change.

    Returns:
      The wrapped :class:`initlab.models.PureModel` (named
      ``"<model>-shared"``).

    Raises:
      ValueError: (at init) no leaf matches ``where``.

    Example:
      >>> base = initlab.engine.keys.stream_key(0, "init", [0])[0]
      >>> model = shared_start(initlab.models.mlp((8,), 64, 10), base)
      >>> start = model.init(jax.random.key(1), perturbation(bit=0))
      >>> # both arms in one run: initlab.train("digits", {"redraw":
      >>> # "glorot_uniform", "bit 0": perturbation(bit=0)}, model=model,
      >>> # design="fixed_data", num_restarts=16, keep_predictions=True)

    References:
      Summers & Dinneen (2021).
    """
    if not isinstance(model, PureModel):
        raise TypeError(
            f"shared_start: model must be an initlab PureModel; got "
            f"{type(model).__name__}."
        )
    if isinstance(base_key, int | np.integer) and not isinstance(base_key, bool):
        base_key = jax.random.key(int(base_key))
    if not isinstance(where, str):
        raise TypeError(f"shared_start: where must be a regex str; got {where!r}.")
    pattern = re.compile(where)

    def init(key, kernel_init=None, bias_init=None):
        if not isinstance(kernel_init, Perturbation):
            return model.init(key, kernel_init, bias_init)
        params = model.init(base_key, kernel_init.init, bias_init)
        if not any(pattern.search(path) for path in paths(params)):
            raise ValueError(
                f"shared_start: no parameter path matches where={where!r}; the "
                f"paths are {paths(params)[:6]}."
            )
        return _change_one(params, key, kernel_init, where)

    return dataclasses.replace(model, name=f"{model.name}-shared", init=init)


def changed_entries(base: Any, params: Any) -> np.ndarray:
    """(R,) how many entries of each restart's params differ from ``base``.

    Args:
      base: one model's parameters (no restart axis).
      params: a stack with the restart axis first (``Outcomes.initial_params``).

    Returns:
      int counts per restart (1 for a :func:`shared_start` perturbation; 0
      when the change was undone by rounding, e.g. epsilon far below the
      weight's last place).

    Example:
      >>> model = initlab.models.mlp((8,), 4, 2)
      >>> base_params = model.init(jax.random.key(0), initlab.glorot_uniform())
      >>> draw = jax.vmap(lambda k: shared_start(model, 0).init(k, perturbation(bit=0)))
      >>> changed_entries(base_params, draw(jax.random.split(jax.random.key(1), 3)))
      array([1, 1, 1])
    """
    leaves_b = jax.tree.leaves(base)
    leaves_p = jax.tree.leaves(params)
    if len(leaves_b) != len(leaves_p):
        raise ValueError("changed_entries: base and params differ in structure.")
    counts = 0
    for b, p in zip(leaves_b, leaves_p, strict=True):
        p = np.asarray(p)
        diff = p != np.asarray(b)[None]
        counts = counts + diff.reshape(p.shape[0], -1).sum(axis=1)
    return np.asarray(counts, np.int64)
