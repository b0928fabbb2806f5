"""Run folders: the run's identity (its content), finished chunks, their params.

A run's identity is what determines its numbers, never a name: the resolved
config (every option, defaults filled in), a hash of the task's arrays, and
probes of the objects a name cannot vouch for: the parameters each
initializer draws for a fixed probe key, the model's outputs on a few
training examples, and the optimizer's updates for a fixed gradient. Two runs
with equal fingerprints compute the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab.engine.build import Run
from initlab.models import PureModel
from initlab.outcomes import Outcomes

# Config fields that do not change a restart's numbers (where it runs, what
# is kept in memory) and so stay out of the identity.
_NOT_IDENTITY = ("devices", "keep_params")
# The probe: a key no run uses for its own streams, and a handful of examples.
_PROBE_SEED, _PROBE_EXAMPLES = 0x1417, 8


def _sha(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray | jax.Array):
            a = np.asarray(part)
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _tree_sha(tree: Any) -> str:
    leaves, treedef = jax.tree.flatten(tree)
    return _sha(str(treedef), *[np.asarray(x) for x in leaves])


def identity(run: Run) -> dict[str, Any]:
    """What the fingerprint hashes: the resolved config and the content probes.

    Example:
      >>> from initlab.engine.build import resolve
      >>> identity(resolve(initlab.TrainConfig(task="xor")))["task_data"]
      '...'
    """
    config = {k: v for k, v in run.config.to_dict().items() if k not in _NOT_IDENTITY}
    t = run.task
    key = jax.random.key(_PROBE_SEED)
    x = jnp.asarray(t.x_train[:_PROBE_EXAMPLES])
    y = jnp.asarray(t.y_train[:_PROBE_EXAMPLES])
    params = run.model.init(key)
    out = run.model.apply(params, x)
    probes = {
        label: _tree_sha(run.model.init(key, init, run.bias_inits[label]))
        for label, init in run.initializers.items()
    }
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.01), params)
    state = run.optimizer.init(params)
    updates = []
    for _ in range(2):
        update, state = run.optimizer.update(grads, state, params)
        updates.append(update)
    return {
        "config": config,
        "task_data": _sha(
            t.name, t.kind, t.num_classes, t.x_train, t.y_train, t.x_test, t.y_test
        ),  # fmt: skip
        "model": _sha(
            run.model.name,
            _tree_sha(params),
            _tree_sha((out, t.loss(out, y), t.metrics(out, y))),
        ),  # fmt: skip
        "initializers": probes,
        "optimizer": _tree_sha(updates),
    }


def fingerprint(run: Run) -> str:
    """16 hex digits of :func:`identity`: equal fingerprints, equal numbers."""
    return _sha(identity(run))


def _params_path(chunk_path: Path) -> Path:
    return chunk_path.with_name(chunk_path.stem + ".params.npz")


def save_params(chunk_path: Path, part: Outcomes) -> None:
    """Initial and final params of a chunk beside it, so keep_params can resume."""
    arrays = {}
    for which in ("initial", "final"):
        for i, leaf in enumerate(jax.tree.leaves(getattr(part, f"{which}_params"))):
            arrays[f"{which}_{i}"] = np.asarray(leaf)
    target = _params_path(chunk_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, target)


def load_params(chunk_path: Path, model: PureModel) -> tuple[Any, Any]:
    """(initial, final) params saved beside a chunk by :func:`save_params`."""
    target = _params_path(chunk_path)
    if not target.exists():
        raise ValueError(
            f"keep_params=True, but {chunk_path.name} was written without params; "
            "rerun without keep_params or into a fresh out_dir."
        )
    treedef = jax.tree.structure(jax.eval_shape(model.init, jax.random.key(0)))
    with np.load(target) as data:
        return tuple(
            jax.tree.unflatten(
                treedef, [data[f"{which}_{i}"] for i in range(treedef.num_leaves)]
            )
            for which in ("initial", "final")
        )


def prepare_out_dir(path: Path, run: Run, fingerprint: str) -> None:
    """Creates ``path`` or checks that it holds chunks of this very run."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / "run.json"
    record = {"fingerprint": fingerprint, "config": run.config.to_dict()}
    if marker.exists():
        old = json.loads(marker.read_text())
        if old.get("fingerprint") != fingerprint:
            raise ValueError(
                f"{path} holds chunks of a different run (fingerprint "
                f"{old.get('fingerprint')} vs {fingerprint}); resume needs "
                "the same arguments. Use another out_dir or delete that one."
            )
        return
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, marker)
