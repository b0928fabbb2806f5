"""Depth sweeps: initializers x activations x depths as one tidy table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import numpy as np
import pandas as pd

from initlab import _checks, models
from initlab.diagnostics.signal import (
    LAYER_STATISTICS,
    SignalStats,
    _draw,
    _keys,
    _mlp_stats,
)

COLUMNS = ("initializer", "activation", "depth", "layer", "statistic", "value", "key")


def stats_frame(
    stats: SignalStats,
    initializer: str,
    activation: str,
    depth: int,
    first_layer: int = 1,
) -> pd.DataFrame:
    """A tidy table of :class:`SignalStats` with a leading key axis.

    Columns ``(initializer, activation, depth, layer, statistic, value, key)``;
    one row per key, layer and statistic of ``LAYER_STATISTICS`` (layers
    numbered from ``first_layer``), plus the Jacobian's spectrum summaries
    ``JACOBIAN_STATISTICS`` (max, min, mean, std of the singular values) at
    the last layer. NaN rows (the output layer's dead fraction) are dropped.

    Args:
      stats: from :func:`signal_propagation` (leading axis K).
      initializer, activation: labels.
      depth: label (the network's depth as the caller counts it).
      first_layer: number of the first layer (default 1).

    Returns:
      a pandas DataFrame.

    Example:
      >>> from initlab.diagnostics import signal_propagation
      >>> s = signal_propagation(0, (64,) * 9, initlab.he_normal(), num_keys=4)
      >>> df = stats_frame(s, "he_normal", "relu", 8)
      >>> df[df.statistic == "second_moment"].groupby("layer").value.mean()
    """
    per_layer = {s: np.asarray(getattr(stats, s)) for s in LAYER_STATISTICS}
    num_keys, num_layers = per_layer["mean"].shape
    key_ix, layer_ix = np.meshgrid(
        np.arange(num_keys), np.arange(num_layers), indexing="ij"
    )
    frames = []
    for statistic, values in per_layer.items():
        frames.append(
            pd.DataFrame(
                {
                    "layer": layer_ix.ravel() + first_layer,
                    "statistic": statistic,
                    "value": values.ravel().astype(np.float64),
                    "key": key_ix.ravel(),
                }
            )
        )
    svs = np.asarray(stats.jacobian_singular_values, np.float64)
    summaries = {}
    if svs.shape[-1]:
        summaries = {
            "jacobian_sv_max": svs.max(axis=1),
            "jacobian_sv_min": svs.min(axis=1),
            "jacobian_sv_mean": svs.mean(axis=1),
            "jacobian_sv_std": svs.std(axis=1),
        }
    for statistic, values in summaries.items():
        frames.append(
            pd.DataFrame(
                {
                    "layer": num_layers - 1 + first_layer,
                    "statistic": statistic,
                    "value": values,
                    "key": np.arange(num_keys),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    # Not computed (NaN): the output layer's dead fraction, skipped gradients.
    not_computed = np.isnan(df["value"]) & df["statistic"].isin(
        ["dead_fraction", "grad_norm"]
    )
    df = df[~not_computed]
    df.insert(0, "initializer", initializer)
    df.insert(1, "activation", activation)
    df.insert(2, "depth", int(depth))
    return df[list(COLUMNS)].reset_index(drop=True)


def depth_sweep(
    initializers: Mapping[str, Callable | tuple[Callable, Callable]],
    activations: Sequence[str] = ("relu", "tanh"),
    depths: Sequence[int] = (2, 4, 8, 16, 32, 64),
    width: int = 256,
    batch_size: int = 256,
    num_keys: int = 8,
    seed: int = 0,
    out_features: int | None = None,
) -> pd.DataFrame:
    """Signal propagation of deep square MLPs over initializers x activations x
    depths, as one tidy table.

    Network of depth ``D``: ``initlab.models.mlp((width,) * D, width,
    out_features, activation)``, ``D`` hidden layers of ``width`` units (input
    also ``width``), then a linear readout of ``out_features`` (default
    ``width``, so the input-output Jacobian is square); layers are numbered
    1..D+1 (the readout is ``D + 1``). Inputs: ``batch_size`` standard-normal
    rows from ``jax.random.key(seed)``; targets: zeros. Network ``k`` of every
    cell is ``init(fold_in(fold_in(key(seed), 1), k))``: the same keys for
    every initializer, activation and depth (common random numbers), and the
    same parameters for every activation. Each (initializer, depth) draws
    once (jitted, vmapped over the keys); each (activation, depth) compiles
    its statistics once for every initializer.

    Args:
      initializers: label -> kernel initializer, or label -> (kernel_init,
        bias_init).
      activations: names from ``ACTIVATIONS`` (default ("relu", "tanh")).
      depths: numbers of hidden layers (default 2, 4, ..., 64).
      width: hidden width (default 256).
      batch_size: rows of the input batch (default 256).
      num_keys: networks per cell (default 8).
      seed: seed of the inputs and keys (default 0).
      out_features: readout width (default ``width``).

    Returns:
      DataFrame with columns ``COLUMNS``; see :func:`stats_frame`.

    Raises:
      ValueError: an empty initializer mapping, depth < 1, a non-positive
        size, or an unknown activation.
      TypeError: a depth or size that is not an int.

    Example:
      >>> df = depth_sweep({"he": initlab.he_normal(),
      ...                   "glorot": initlab.glorot_normal()}, ("relu",), (8, 32))
    """
    where = "depth_sweep"
    if not initializers:
        raise ValueError(f"{where}: give at least one initializer (label -> init).")
    depths = [_checks.positive_int(d, "every depth", where=where) for d in depths]
    activations = tuple(activations)
    for a in activations:
        models.get_activation(a)  # unknown names fail here, with the valid ones
    width = _checks.positive_int(width, "width", where=where)
    batch_size = _checks.positive_int(batch_size, "batch_size", where=where)
    num_keys = _checks.positive_int(num_keys, "num_keys", where=where)
    out = width if out_features is None else out_features
    out = _checks.positive_int(out, "out_features", where=where)
    root = jax.random.key(_checks.integer(seed, "seed", low=0, where=where))
    x = jax.random.normal(root, (batch_size, width))
    net_keys = _keys(jax.random.fold_in(root, 1), num_keys, where)
    frames = {}
    for label, inits in initializers.items():
        kernel_init, bias_init = inits if isinstance(inits, tuple) else (inits, None)
        for depth in depths:
            sizes = (width,) * (depth + 1) + (out,)
            # The draw does not depend on the activation: one per depth, shared.
            params = None
            for activation in activations:
                model, stats = _mlp_stats(sizes, activation, x.dtype, True, True)
                if params is None:
                    params = _draw(model, net_keys, kernel_init, bias_init)
                frames[label, activation, depth] = stats_frame(
                    stats(params, x, None), label, activation, depth
                )
    return pd.concat(
        [
            frames[label, activation, depth]
            for label in initializers
            for activation in activations
            for depth in depths
        ],
        ignore_index=True,
    )
