"""Run folders: the run fingerprint, finished chunks and their params (resume)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from initlab.models import PureModel
from initlab.outcomes import Outcomes


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that fixes a run's numbers (its fingerprint makes resume safe)."""

    task: str
    model: str
    initializers: dict[str, Any]
    bias_init: Any
    num_restarts: int
    first_restart: int
    steps: int
    batch_size: int
    optimizer: str
    learning_rate: float | None
    design: str
    grid_data: int | None
    seed: int
    eval_every: int
    target: float | None
    target_metric: str | None
    chunk_size: int  # chunk files cover fixed rows: resume needs the same size

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _params_path(chunk_path: Path) -> Path:
    return chunk_path.with_name(chunk_path.stem + ".params.npz")


def _save_params(chunk_path: Path, part: Outcomes) -> None:
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


def _load_params(chunk_path: Path, part: Outcomes, model: PureModel) -> None:
    target = _params_path(chunk_path)
    if not target.exists():
        raise ValueError(
            f"keep_params=True, but {chunk_path.name} was written without params; "
            "rerun without keep_params or into a fresh out_dir."
        )
    treedef = jax.tree.structure(jax.eval_shape(model.init, jax.random.key(0)))
    with np.load(target) as data:
        for which in ("initial", "final"):
            leaves = [data[f"{which}_{i}"] for i in range(treedef.num_leaves)]
            setattr(part, f"{which}_params", jax.tree.unflatten(treedef, leaves))


def _prepare_out_dir(path: Path, config: RunConfig) -> None:
    """Creates ``path`` or checks that it holds chunks of this very run."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / "run.json"
    record = {"fingerprint": config.fingerprint(), "config": dataclasses.asdict(config)}
    if marker.exists():
        old = json.loads(marker.read_text())
        if old.get("fingerprint") != record["fingerprint"]:
            raise ValueError(
                f"{path} holds chunks of a different run (fingerprint "
                f"{old.get('fingerprint')} vs {record['fingerprint']}); resume needs "
                "the same arguments. Use another out_dir or delete that one."
            )
        return
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, marker)
