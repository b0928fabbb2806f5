"""Depth sweeps: initializers x activations x depths as one tidy table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import numpy as np
import pandas as pd

from initlab.diagnostics.mlp import _activation
from initlab.diagnostics.signal import (
    LAYER_STATISTICS,
    SignalStats,
    _keys,
    signal_propagation,
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
      >>> df = stats_frame(s, "he_normal", "relu", 32)
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

    Network of depth ``D``: ``D`` hidden layers of ``width`` units (input also
    ``width``), then a linear readout of ``out_features`` (default ``width``,
    so the input-output Jacobian is square); layers are numbered 1..D+1 (the
    readout is ``D + 1``). Inputs: ``batch_size`` standard-normal rows from
    ``jax.random.key(seed)``; targets: zeros. Network ``k`` of every cell uses
    key ``fold_in(fold_in(key(seed), 1), k)``: the same keys for every
    initializer, activation and depth (common random numbers).

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
      ValueError: an empty initializer mapping, depth < 1, or unknown
        activation.

    Example:
      >>> df = depth_sweep({"he": initlab.he_normal(),
      ...                   "glorot": initlab.glorot_normal()}, ("relu",), (8, 32))
    """
    if not initializers:
        raise ValueError("depth_sweep: give at least one initializer (label -> init).")
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in depths):
        raise ValueError(f"depth_sweep: depths must be ints >= 1; got {depths!r}.")
    for a in activations:
        _activation(a)
    root = jax.random.key(seed)
    x = jax.random.normal(root, (batch_size, width))
    net_keys = _keys(jax.random.fold_in(root, 1), num_keys)
    out = width if out_features is None else out_features
    frames = []
    for label, inits in initializers.items():
        kernel_init, bias_init = inits if isinstance(inits, tuple) else (inits, None)
        for activation in activations:
            for depth in depths:
                stats = signal_propagation(
                    net_keys,
                    (width,) * (depth + 1) + (out,),
                    kernel_init,
                    bias_init,
                    activation,
                    x,
                )
                frames.append(stats_frame(stats, label, activation, depth))
    return pd.concat(frames, ignore_index=True)
