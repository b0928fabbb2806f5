"""Does the start predict the outcome? Diagnostics at init against final metrics.

:func:`init_features` measures every restart's *stored* initial parameters
on a batch (signal moments per layer, the Jacobian's spectrum and dead units
from :mod:`initlab.diagnostics`; the task loss, its gradient norm, the
parameter norm and an empirical NTK's trace and condition number here);
:func:`predictor_table` ranks them by their rank correlation with an outcome
(bootstrap intervals, Holm-adjusted p-values); :func:`held_out_check` asks
whether the best of them predicts restarts it was not chosen on. A feature
that looks good in :func:`predictor_table` but fails the held-out check is
the multiple-comparisons artefact the check is there to catch.

References:
  Jacot, Gabriel & Hongler (2018), "Neural tangent kernel", NeurIPS.
  Holm (1979), "A simple sequentially rejective multiple test procedure",
  Scand. J. Stat. 6. Spearman (1904).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.stats

from initlab import _checks, diagnostics
from initlab.stats import RNG, as_rng


def _ntk(model, params, x):
    """Trace and eigenvalues of the empirical NTK J J^T on x (B*C x B*C)."""
    jac = jax.jacrev(lambda p: model.apply(p, x).reshape(-1))(params)
    j = jnp.concatenate(
        [a.reshape(a.shape[0], -1) for a in jax.tree.leaves(jac)], axis=1
    )
    gram = j @ j.T
    return jnp.trace(gram), jnp.linalg.eigvalsh(gram)


def init_features(
    model: Any,
    params: Any,
    x: Any,
    y: Any,
    loss: Any,
    *,
    ntk_examples: int = 8,
    activation: str | None = None,
) -> pd.DataFrame:
    """Diagnostics of each restart's initial parameters on one batch.

    Columns (one row per restart): ``q_<l>`` the second moment of layer l's
    pre-activations (hidden layers, then the output; from
    :func:`initlab.diagnostics.model_signal_propagation` on the stored
    parameters, not re-drawn), ``dead_<l>`` the fraction of dead hidden units
    (only with ``activation``), ``jacobian_sv_max``, ``jacobian_sv_mean``,
    ``jacobian_sv_std`` (singular values of d output / d input at ``x[0]``),
    ``loss`` (the task loss on the batch), ``grad_norm`` (its gradient's
    global norm), ``param_norm``, ``ntk_trace`` and ``ntk_log10_cond`` (the
    empirical neural tangent kernel ``J J^T`` of the outputs on the first
    ``ntk_examples`` examples: trace, and log10 of its largest over its
    smallest eigenvalue, floored at 1e-30 of the largest).

    Args:
      model: the run's :class:`initlab.models.PureModel` (with
        ``intermediates`` for the per-layer moments; without, they are left
        out).
      params: the initial parameters, restart axis first
        (``Outcomes.initial_params``).
      x, y: a batch of inputs and targets (e.g. the first 256 training
        examples).
      loss: ``loss(outputs, y) -> scalar`` (``task.loss``).
      ntk_examples: examples of the NTK (its size is examples x outputs).
      activation: the hidden activation's name, for the dead-unit fractions.

    Returns:
      A DataFrame, one row per restart.

    Raises:
      ValueError: params without a restart axis, a batch smaller than
        ``ntk_examples``.

    Example:
      >>> model, task = initlab.models.mlp((8,), 64, 10), initlab.get_task("digits")
      >>> params = jax.vmap(model.init)(jax.random.split(jax.random.key(0), 4))
      >>> feats = init_features(model, params, task.x_train[:64],
      ...                       task.y_train[:64], task.loss, ntk_examples=4)
    """
    where = "init_features"
    ntk_examples = _checks.positive_int(ntk_examples, "ntk_examples", where=where)
    leaves = jax.tree.leaves(params)
    if not leaves or np.ndim(leaves[0]) < 1:
        raise ValueError(f"{where}: params must have the restart axis first.")
    r = int(np.shape(leaves[0])[0])
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.shape[0] < ntk_examples:
        raise ValueError(
            f"{where}: the batch has {x.shape[0]} examples, fewer than "
            f"ntk_examples={ntk_examples}."
        )
    stack = jax.tree.map(jnp.asarray, params)
    columns: dict[str, np.ndarray] = {}
    if getattr(model, "intermediates", None) is not None:
        # The diagnostics draw params from typed keys; give them the stored
        # ones: key i carries the data (0, i) and picks restart i of the stack.
        def pick(key, *_):
            i = jax.random.key_data(key)[1]
            return jax.tree.map(lambda a: a[i], stack)

        index = jnp.stack([jnp.zeros(r, jnp.uint32), jnp.arange(r, dtype=jnp.uint32)])
        keys = jax.random.wrap_key_data(index.T, impl="threefry2x32")
        stored = dataclasses.replace(model, init=pick)
        sig = diagnostics.model_signal_propagation(
            stored, keys, x, activation=activation
        )
        q = np.asarray(sig.second_moment)
        for layer in range(q.shape[1]):
            columns[f"q_{layer}"] = q[:, layer]
        if activation is not None:
            dead = np.asarray(sig.dead_fraction)
            for layer in range(dead.shape[1] - 1):  # the output has no activation
                columns[f"dead_{layer}"] = dead[:, layer]
        sv = np.asarray(sig.jacobian_singular_values)
        columns.update(
            jacobian_sv_max=sv.max(axis=1),
            jacobian_sv_mean=sv.mean(axis=1),
            jacobian_sv_std=sv.std(axis=1),
        )

    def one(p):
        value, grads = jax.value_and_grad(lambda q: loss(model.apply(q, x), y))(p)
        norm = lambda t: jnp.sqrt(sum(jnp.sum(a * a) for a in jax.tree.leaves(t)))  # noqa: E731
        trace, eig = _ntk(model, p, x[:ntk_examples])
        top = eig[-1]
        cond = jnp.log10(top / jnp.maximum(eig[0], top * 1e-30))
        return dict(
            loss=value,
            grad_norm=norm(grads),
            param_norm=norm(p),
            ntk_trace=trace,
            ntk_log10_cond=cond,
        )

    # lax.map, not vmap: the NTK's Jacobian is (examples x outputs x params)
    # per restart.
    rest = jax.device_get(jax.jit(lambda s: jax.lax.map(one, s))(stack))
    columns.update({k: np.asarray(v, np.float64) for k, v in rest.items()})
    return pd.DataFrame({k: np.asarray(v, np.float64) for k, v in columns.items()})


def _ranks(a: np.ndarray) -> np.ndarray:
    return scipy.stats.rankdata(a, axis=0)


def _spearman_columns(feats: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Spearman correlation of each column of feats (n, F) with outcome (n,)."""
    rf = _ranks(feats)
    ro = _ranks(outcome)
    rf = rf - rf.mean(axis=0)
    ro = ro - ro.mean()
    denom = np.sqrt((rf**2).sum(axis=0) * (ro**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rf * ro[:, None]).sum(axis=0) / denom


def _inputs(features: Any, outcome: Any, where: str):
    frame = pd.DataFrame(features)
    y = np.asarray(outcome, np.float64).reshape(-1)
    if len(frame) != y.size:
        raise ValueError(
            f"{where}: {len(frame)} rows of features but {y.size} outcomes."
        )
    if y.size < 6:
        raise ValueError(f"{where}: need at least 6 restarts; got {y.size}.")
    keep = np.isfinite(y)
    frame, y = frame[keep].reset_index(drop=True), y[keep]
    usable = [
        c
        for c in frame
        if np.all(np.isfinite(frame[c])) and np.ptp(frame[c].to_numpy(float)) > 0
    ]
    if not usable:
        raise ValueError(f"{where}: no feature varies across the restarts.")
    return frame[usable], y


def predictor_table(
    features: Any,
    outcome: Any,
    *,
    rng: RNG,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """Rank correlation of every feature with the outcome, with intervals.

    Spearman's rho per feature; percentile-bootstrap interval resampling
    restarts (feature and outcome together); the p-value of rho = 0
    (``scipy.stats.spearmanr``'s t approximation) and its Holm adjustment
    over all features (so a "significant" row survives testing every
    feature at once). Constant or non-finite features are left out;
    restarts with a non-finite outcome (diverged) too.

    Args:
      features: DataFrame (or dict) of features, one row per restart.
      outcome: (R,) the final metric of each restart.
      rng: seed or Generator of the bootstrap.
      confidence, n_resamples: of the bootstrap.

    Returns:
      One row per feature, strongest first: ``feature``, ``rho``, ``low``,
      ``high``, ``p``, ``p_holm``, ``n``.

    Raises:
      ValueError: lengths that differ, fewer than 6 restarts, no usable
        feature.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> feats = pd.DataFrame({"grad_norm": rng.normal(size=30),
      ...                       "loss": rng.normal(size=30)})
      >>> accuracy = 0.9 + 0.01 * feats.grad_norm + 0.005 * rng.normal(size=30)
      >>> predictor_table(feats, accuracy, rng=0, n_resamples=200)

    References:
      Spearman (1904); Holm (1979).
    """
    frame, y = _inputs(features, outcome, "predictor_table")
    n_resamples = _checks.positive_int(
        n_resamples, "n_resamples", where="predictor_table"
    )
    gen = as_rng(rng)
    f = frame.to_numpy(np.float64)
    rho = _spearman_columns(f, y)
    boot = np.empty((n_resamples, f.shape[1]))
    for b in range(n_resamples):
        idx = gen.integers(0, y.size, y.size)
        boot[b] = _spearman_columns(f[idx], y[idx])
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    n = y.size
    t = rho * np.sqrt((n - 2) / np.maximum(1 - rho**2, 1e-300))
    p = 2 * scipy.stats.t.sf(np.abs(t), n - 2)
    order = np.argsort(p)
    holm = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        holm[i] = running
    table = pd.DataFrame(
        dict(
            feature=list(frame.columns),
            rho=rho,
            low=low,
            high=high,
            p=p,
            p_holm=holm,
            n=n,
        )
    )
    return table.reindex(np.argsort(-np.abs(rho))).reset_index(drop=True)


def _held_out(f: np.ndarray, y: np.ndarray, folds: np.ndarray, top: float):
    """Select on the other folds, score the held-out one: (rho, gain, choices)."""
    scores = np.empty(y.size)
    choices = []
    gains, weights = [], []
    for fold in np.unique(folds):
        test, train = folds == fold, folds != fold
        rho = _spearman_columns(f[train], y[train])
        best = int(np.nanargmax(np.abs(rho)))
        sign = 1.0 if rho[best] >= 0 else -1.0
        choices.append(best)
        s = sign * f[test, best]
        scores[test] = scipy.stats.rankdata(s) / test.sum()  # within-fold ranks
        k = max(1, int(round(top * test.sum())))
        chosen = np.argsort(-s)[:k]
        gains.append(y[test][chosen].mean() - y[test].mean())
        weights.append(test.sum())
    rho = float(_spearman_columns(scores[:, None], y)[0])
    return rho, float(np.average(gains, weights=weights)), choices


def held_out_check(
    features: Any,
    outcome: Any,
    *,
    rng: RNG,
    folds: int = 5,
    n_permutations: int = 200,
    top_fraction: float = 0.25,
) -> dict[str, Any]:
    """Does the best feature predict restarts it was not chosen on?

    K-fold cross-validation over restarts: on K - 1 folds pick the feature
    with the largest |rho| and its sign; on the held-out fold rank the
    restarts by it. Reported: the rank correlation between these held-out
    scores (ranked within their fold) and the outcome, and the gain of
    keeping the ``top_fraction`` best-scored starts of each held-out fold (their
    mean outcome minus the fold's). The null distribution comes from running
    the same procedure (selection included) on shuffled outcomes
    ``n_permutations`` times: ``p`` is the share of shuffles that do at
    least as well (``(1 + #) / (1 + n_permutations)``).

    Args:
      features: DataFrame of features, one row per restart.
      outcome: (R,) final metric (higher better for the gain: pass a loss
        negated).
      rng: seed or Generator (folds and shuffles).
      folds: K (default 5; at least 2).
      n_permutations: shuffles of the null (default 200).
      top_fraction: share of starts kept in the gain.

    Returns:
      A dict: ``rho``, ``p``, ``null_low``, ``null_high`` (the null's 2.5 /
      97.5 % quantiles), ``gain``, ``gain_p``, ``chosen`` (feature -> folds
      that picked it), ``folds``, ``n``.

    Raises:
      ValueError: as :func:`predictor_table`; folds outside 2..R.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> feats = pd.DataFrame({"grad_norm": rng.normal(size=30),
      ...                       "loss": rng.normal(size=30)})
      >>> accuracy = 0.9 + 0.01 * feats.grad_norm + 0.005 * rng.normal(size=30)
      >>> check = held_out_check(feats, accuracy, rng=0, n_permutations=50)
      >>> check["rho"], check["p"]
    """
    where = "held_out_check"
    frame, y = _inputs(features, outcome, where)
    folds = _checks.integer(folds, "folds", low=2, high=y.size + 1, where=where)
    n_permutations = _checks.positive_int(n_permutations, "n_permutations", where=where)
    top = _checks.number(top_fraction, "top_fraction", positive=True, where=where)
    if top > 1:
        raise ValueError(f"{where}: top_fraction must be in (0, 1]; got {top}.")
    gen = as_rng(rng)
    f = frame.to_numpy(np.float64)
    assign = gen.permutation(np.arange(y.size) % folds)
    rho, gain, choices = _held_out(f, y, assign, top)
    null = np.array(
        [
            _held_out(f, gen.permutation(y), assign, top)[:2]
            for _ in range(n_permutations)
        ]
    )
    names = list(frame.columns)
    chosen: dict[str, int] = {}
    for c in choices:
        chosen[names[c]] = chosen.get(names[c], 0) + 1
    return dict(
        rho=rho,
        p=float((1 + np.sum(null[:, 0] >= rho)) / (1 + n_permutations)),
        null_low=float(np.quantile(null[:, 0], 0.025)),
        null_high=float(np.quantile(null[:, 0], 0.975)),
        gain=gain,
        gain_p=float((1 + np.sum(null[:, 1] >= gain)) / (1 + n_permutations)),
        chosen=chosen,
        folds=folds,
        n=int(y.size),
    )
