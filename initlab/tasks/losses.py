"""Losses and metrics: pure JAX functions of (outputs (B, out), targets)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

LossFn = Callable[[jax.Array, jax.Array], jax.Array]
LOSSES = ("cross_entropy", "mse", "half_sse")


def _like_outputs(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Targets (B,) against outputs (B, 1) -> (B, 1); shapes must then agree."""
    targets = jnp.asarray(targets, outputs.dtype)
    if targets.shape != outputs.shape and targets.size == outputs.size:
        targets = targets.reshape(outputs.shape)
    if targets.shape != outputs.shape:
        raise ValueError(
            f"targets of shape {targets.shape} do not match outputs of shape "
            f"{outputs.shape}."
        )
    return targets


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of logits (B, C) against int labels (B,).

    Example:
      >>> cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3]))   # log 4
      Array(1.3862944, dtype=float32)
    """
    losses = optax.softmax_cross_entropy_with_integer_labels(
        logits, labels.astype(jnp.int32)
    )
    return jnp.mean(losses)


def mse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean over examples and outputs of ``(y - t)^2``.

    Example:
      >>> mse(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0]))
      Array(2.5, dtype=float32)
    """
    return jnp.mean((outputs - _like_outputs(outputs, targets)) ** 2)


def half_sse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """``1/2 * sum over the batch (and outputs) of (y - t)^2``, the classic loss.

    A *sum*, not a mean: the learning rate of the classic XOR experiments is per
    this sum (Rumelhart et al. 1986).

    Example:
      >>> half_sse(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0]))
      Array(2.5, dtype=float32)
    """
    return 0.5 * jnp.sum((outputs - _like_outputs(outputs, targets)) ** 2)


_LOSS_FNS: dict[str, LossFn] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "half_sse": half_sse,
}


def correct(outputs: jax.Array, labels: jax.Array, threshold: float = 0.5):
    """Per-example correctness (B,) bool.

    One output unit: the output is on the label's side of ``threshold``
    (label 1 above, label 0 at or below); several: argmax equals the label.

    Example:
      >>> correct(jnp.array([[0.7], [0.7]]), jnp.array([1, 0]))
      Array([ True, False], dtype=bool)
    """
    labels = jnp.asarray(labels).reshape(outputs.shape[0])
    if outputs.shape[-1] == 1:
        return (outputs[:, 0] > threshold) == (labels == 1)
    return jnp.argmax(outputs, axis=-1) == labels


def _classification_metrics(loss: LossFn, solved: bool):
    def metrics(outputs: jax.Array, labels: jax.Array) -> dict[str, jax.Array]:
        ok = correct(outputs, labels)
        out = {"loss": loss(outputs, labels), "accuracy": jnp.mean(ok)}
        if solved:
            out["solved"] = jnp.all(ok).astype(jnp.float32)
        return out

    return metrics


def _regression_metrics(loss: LossFn):
    def metrics(outputs: jax.Array, targets: jax.Array) -> dict[str, jax.Array]:
        t = _like_outputs(outputs, targets)
        sse = jnp.sum((outputs - t) ** 2)
        sst = jnp.sum((t - jnp.mean(t, axis=0, keepdims=True)) ** 2)
        return {"loss": loss(outputs, targets), "r2": 1.0 - sse / sst}

    return metrics
