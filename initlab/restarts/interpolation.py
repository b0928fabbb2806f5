"""The straight line between two restarts: loss along it, and its barrier.

:func:`interpolation_curves` evaluates the models ``theta(alpha) = theta_a +
alpha (theta_b - theta_a)`` for alphas in [0, 1], for many pairs at once (one
compiled, vmapped call over pairs x alphas); :func:`barrier` is the height of
the bump above the chord between the ends. Two restarts are *linearly mode
connected* when the barrier is about 0 (Frankle et al. 2020), e.g. after
their hidden units are aligned (:mod:`initlab.restarts.alignment`; Entezari
et al. 2022) or when they share an early checkpoint
(:mod:`initlab.restarts.spawn`).

References:
  Frankle, Dziugaite, Roy & Carbin (2020), "Linear mode connectivity and the
  lottery ticket hypothesis", ICML. Entezari, Sedghi, Saukh & Neyshabur
  (2022), "The role of permutation invariance in linear mode connectivity of
  neural networks", ICLR (the barrier's definition used here). Garipov et
  al. (2018), "Loss surfaces, mode connectivity, and fast ensembling of
  DNNs", NeurIPS.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from initlab import _checks, stats

Evaluate = Callable[[Any], dict[str, jax.Array]]


def evaluator(core: Any) -> Evaluate:
    """``evaluate(params) -> {"train_loss", "train_accuracy", "test_loss", ...}``.

    The metrics a run records, on the full train and test sets, in evaluation
    mode, for a :class:`initlab.TrainCore` (its task's arrays closed over).

    Example:
      >>> evaluate = evaluator(initlab.make_train("digits"))
    """
    data = core.data()
    return lambda params: core.evaluate(params, data)


def interpolate(params_a: Any, params_b: Any, alpha: Any) -> Any:
    """``theta_a + alpha (theta_b - theta_a)``; exactly theta_a at 0, theta_b at 1.

    Written as a step from a (not ``(1 - alpha) a + alpha b``) so that a
    model interpolated with itself is itself, bit for bit, at every alpha.

    Example:
      >>> model = initlab.models.mlp((8,), 4, 2)
      >>> a, b = model.init(jax.random.key(0)), model.init(jax.random.key(1))
      >>> mid = interpolate(a, b, 0.5)
    """
    alpha = jnp.asarray(alpha)

    def leaf(a, b):
        a, b = jnp.asarray(a), jnp.asarray(b)
        t = alpha.astype(a.dtype)
        return jnp.where(t == 1, b, a + t * (b - a))

    return jax.tree.map(leaf, params_a, params_b)


@functools.lru_cache(maxsize=32)
def _jitted(evaluate: Evaluate, num_points: int):
    """One compiled (pairs x alphas) evaluation per evaluate function."""
    alphas = jnp.linspace(0.0, 1.0, num_points)

    def along(a, b):
        return jax.vmap(lambda t: evaluate(interpolate(a, b, t)))(alphas)

    return jax.jit(jax.vmap(along))


def interpolation_curves(
    evaluate: Evaluate,
    params_a: Any,
    params_b: Any,
    *,
    num_points: int = 11,
    block: int = 16,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Metrics along the line between restarts a and b, for P pairs at once.

    Args:
      evaluate: ``params -> {metric: scalar}``, pure JAX (e.g.
        :func:`evaluator` of the run's core).
      params_a, params_b: stacks of parameters with the pair axis first
        (shapes (P, ...)): pair p runs from ``params_a[p]`` to ``params_b[p]``.
      num_points: alphas evenly spaced in [0, 1], ends included (>= 2).
      block: pairs per compiled call (bounds memory).

    Returns:
      ``(alphas, curves)``: alphas (A,), curves metric -> (P, A).

    Raises:
      ValueError: stacks of different structure or pair counts.

    Example:
      >>> model = initlab.models.mlp((8,), 2, 1)
      >>> evaluate = evaluator(initlab.make_train("xor", model, steps=1))
      >>> draw = jax.vmap(lambda k: model.init(k, initlab.he_normal()))
      >>> a_stack = draw(jax.random.split(jax.random.key(0), 3))
      >>> b_stack = draw(jax.random.split(jax.random.key(1), 3))
      >>> alphas, curves = interpolation_curves(evaluate, a_stack, b_stack,
      ...                                       num_points=5)
      >>> barrier(curves["train_loss"], higher_is_better=False)   # (3,)
    """
    where = "interpolation_curves"
    num_points = _checks.integer(num_points, "num_points", low=2, where=where)
    block = _checks.positive_int(block, "block", where=where)
    if jax.tree.structure(params_a) != jax.tree.structure(params_b):
        raise ValueError(f"{where}: params_a and params_b differ in structure.")
    sizes = {int(np.shape(x)[0]) for x in jax.tree.leaves((params_a, params_b))}
    if len(sizes) != 1:
        raise ValueError(
            f"{where}: every leaf needs the same leading pair axis; got sizes "
            f"{sorted(sizes)}."
        )
    p = sizes.pop()
    alphas = np.linspace(0.0, 1.0, num_points)
    fn = _jitted(evaluate, num_points)
    parts = []
    for lo in range(0, p, block):

        def cut(tree, lo=lo):
            return jax.tree.map(lambda x: jnp.asarray(x[lo : lo + block]), tree)

        parts.append(jax.device_get(fn(cut(params_a), cut(params_b))))
    curves = {k: np.concatenate([np.asarray(d[k]) for d in parts]) for k in parts[0]}
    return alphas, {k: v.astype(np.float64) for k, v in curves.items()}


def barrier(curve: Any, *, higher_is_better: bool) -> np.ndarray:
    """The barrier height: the largest bump of a curve over its chord.

    For a loss ``max_alpha [f(alpha) - ((1 - alpha) f(0) + alpha f(1))]``; for
    a metric where higher is better (accuracy) the same for ``-f`` (the
    error barrier). 0 when the curve never rises above the chord (the ends
    count, so the barrier is never negative). The alphas must be evenly
    spaced, ends included, as :func:`interpolation_curves` makes them.

    Args:
      curve: (..., A) values along the line.
      higher_is_better: False for losses, True for accuracies.

    Returns:
      (...) barrier heights.

    Example:
      >>> barrier([1.0, 3.0, 1.0], higher_is_better=False)
      array(2.)

    References:
      Entezari et al. (2022), definition 1; Frankle et al. (2020).
    """
    f = np.asarray(curve, np.float64)
    if f.ndim < 1 or f.shape[-1] < 2:
        raise ValueError(f"barrier: curve must be (..., A) with A >= 2; got {f.shape}.")
    _checks.boolean(higher_is_better, "higher_is_better", where="barrier")
    if higher_is_better:
        f = -f
    alphas = np.linspace(0.0, 1.0, f.shape[-1])
    # f(0) + alpha (f(1) - f(0)): exactly f(0) everywhere when the ends agree
    chord = f[..., :1] + alphas * (f[..., -1:] - f[..., :1])
    return np.max(f - chord, axis=-1)


def barrier_summary(
    barriers: dict[str, Any],
    *,
    rng: stats.RNG,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """Mean barrier per condition with a bootstrap interval over pairs.

    Pairs of disjoint restarts are independent, so the percentile bootstrap
    over pairs is the interval of the mean barrier of the condition.

    Args:
      barriers: condition label -> (P,) barrier heights.
      rng: seed or Generator (one child stream per condition).
      confidence, n_resamples: of the bootstrap.

    Returns:
      One row per condition: ``condition``, ``n`` (pairs), ``mean``, ``low``,
      ``high``, ``median``, ``max``.

    Example:
      >>> barrier_summary({"raw": [0.4, 0.6, 0.5], "aligned": [0.0, 0.1, 0.05]},
      ...                 rng=0)
    """
    seeds = stats.as_rng(rng).spawn(len(barriers))
    rows = []
    for (label, values), gen in zip(barriers.items(), seeds, strict=True):
        v = stats.check_values(values, f"barriers of {label!r}", min_n=1)
        low = high = float(v[0])
        if v.size >= 2:
            low, high = stats.bootstrap_ci(
                v, np.mean, rng=gen, confidence=confidence, n_resamples=n_resamples
            )
        rows.append(
            dict(
                condition=label,
                n=int(v.size),
                mean=float(v.mean()),
                low=low,
                high=high,
                median=float(np.median(v)),
                max=float(v.max()),
            )
        )
    return pd.DataFrame(rows)
