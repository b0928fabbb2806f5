"""Run folders: the run's identity (its content), finished chunks, their params.

A run's identity is what determines its numbers, never a name: the resolved
config (every option, defaults filled in), a hash of the task's arrays, and
probes of the objects a name cannot vouch for: the parameters each
initializer draws for a fixed probe key, the model's outputs on a few
training examples, and the optimizer's updates for a fixed gradient. Two runs
with equal fingerprints compute the same numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab.engine.build import Run
from initlab.models import PureModel
from initlab.outcomes import Outcomes, atomic_path

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

    * the config (every option, defaults filled in; objects described);
    * the task's arrays (a SHA-256 of their bytes, dtypes and shapes);
    * the model: its parameter tree (structure, shapes, dtypes) and its outputs
      on a few training examples for fixed pattern parameters;
    * each initializer that its config cannot vouch for (a plain function, a
      factory registered outside initlab, a composite of those): the params it
      draws for a fixed probe key; initlab's own factories are named by their
      config and initlab's version;
    * the optimizer: its state and two updates for a fixed probe gradient.

    Example:
      >>> from initlab.engine.build import resolve
      >>> sorted(identity(resolve(initlab.TrainConfig(task="xor"))))
      ['config', 'initializers', 'initlab', 'model', 'optimizer', 'task_data']
    """
    from importlib import metadata

    config = {k: v for k, v in run.config.to_dict().items() if k not in _NOT_IDENTITY}
    t = run.task
    abstract = jax.eval_shape(run.model.init, jax.random.key(0))
    leaves, treedef = jax.tree.flatten(abstract)
    pattern = np.random.default_rng(_PROBE_SEED)
    params = jax.tree.unflatten(treedef, [
        jnp.asarray(0.1 * pattern.standard_normal(a.shape), a.dtype) for a in leaves
    ])  # fmt: skip
    x = jnp.asarray(t.x_train[:_PROBE_EXAMPLES])
    y = jnp.asarray(t.y_train[:_PROBE_EXAMPLES])
    out = run.model.apply(params, x)
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.01), params)
    state = run.optimizer.init(params)
    updates = []
    for _ in range(2):
        update, state = run.optimizer.update(grads, state, params)
        updates.append(update)
    probes = {
        label: _tree_sha(run.model.init(probe_key(), init, run.bias_inits[label]))
        for label, init in run.initializers.items()
        if not (_vouched(init) and _vouched(run.bias_inits[label]))
    }
    try:
        version = metadata.version("initlab")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return {
        "config": config,
        "initlab": version,
        "task_data": _sha(
            t.name, t.kind, t.num_classes, t.x_train, t.y_train, t.x_test, t.y_test
        ),  # fmt: skip
        "model": _sha(
            run.model.name,
            str(treedef),
            _tree_sha((out, t.loss(out, y), t.metrics(out, y))),
        ),  # fmt: skip
        "initializers": probes,
        "optimizer": _tree_sha((state, updates)),
    }


def _vouched(init: Any) -> bool:
    """Whether an initializer's config names its function: an initlab factory's,
    with plain (JSON) hyper-parameters all the way down."""
    from initlab.initializers import InitFn
    from initlab.registry import REGISTRY, to_config

    if init is None:
        return True
    if not isinstance(init, InitFn):
        return False
    factory = REGISTRY.get(init.name)
    if not getattr(factory, "__module__", "").startswith("initlab."):
        return False
    try:
        json.dumps(to_config(init))  # a function inside a composite is not JSON
    except TypeError:
        return False
    return True


def probe_key() -> jax.Array:
    """The key the probe draws of unvouched initializers use."""
    return jax.random.key(_PROBE_SEED)


def fingerprint(run: Run) -> str:
    """16 hex digits of :func:`identity`: equal fingerprints, equal numbers."""
    return _sha(identity(run))


def _params_path(chunk_path: Path) -> Path:
    return chunk_path.with_name(chunk_path.stem + ".params.npz")


def chunk_path(out_dir: Path, index: int) -> Path:
    """``out_dir/chunks/chunk-NNNNN.parquet``."""
    return out_dir / "chunks" / f"chunk-{index:05d}.parquet"


def chunk_record(fingerprint: str, index: int, rows: np.ndarray) -> dict[str, Any]:
    """What a chunk file says about itself: its run and its rows."""
    return {"fingerprint": fingerprint, "chunk": index,
            "rows": [int(rows[0]), int(rows[-1]) + 1]}  # fmt: skip


def load_chunk(path: Path, fingerprint: str, index: int, expected: Outcomes):
    """A finished chunk, verified: this run's fingerprint, exactly these rows.

    ``expected`` holds the rows the chunk must have (labels, restarts, seeds);
    anything else is refused: a chunk is never merged into another run.

    Raises:
      ValueError: unreadable, another run's, or other rows.
    """
    part = Outcomes.load(path, verify=False)
    meta = part.metadata
    problem = None
    if meta.get("fingerprint") != fingerprint:
        problem = (f"belongs to run {meta.get('fingerprint')}, not this one "
                   f"({fingerprint})")  # fmt: skip
    elif meta.get("chunk") != index:
        problem = f"is chunk {meta.get('chunk')}, not chunk {index}"
    else:
        for name in ("initializer", "restart", "init_seed", "data_seed",
                     "noise_seed", "augment_seed"):  # fmt: skip
            if not np.array_equal(getattr(part, name), getattr(expected, name)):
                problem = f"holds other rows ({name} differs)"
                break
    if problem:
        raise ValueError(
            f"{path} {problem}: it was copied or edited. Delete it (it is "
            "recomputed) or use a fresh out_dir."
        )
    return part


def save_params(chunk_path: Path, part: Outcomes, fingerprint: str) -> None:
    """Initial and final params (and model state) of a chunk beside it."""
    arrays = {"fingerprint": np.asarray(fingerprint)}
    for which in ("initial_params", "final_params", "final_state"):
        for i, leaf in enumerate(jax.tree.leaves(getattr(part, which))):
            arrays[f"{which}_{i}"] = np.asarray(leaf)
    with atomic_path(_params_path(chunk_path)) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_params(chunk_path: Path, model: PureModel, fingerprint: str, rows: int):
    """(initial params, final params, final model state or None) of a chunk."""
    target = _params_path(chunk_path)
    if not target.exists():
        raise ValueError(
            f"keep_params=True, but {chunk_path.name} was written without params; "
            "rerun without keep_params or into a fresh out_dir."
        )
    params_def = jax.tree.structure(jax.eval_shape(model.init, jax.random.key(0)))
    state_def = jax.tree.structure(jax.eval_shape(model.start_state, jax.random.key(0)))
    with np.load(target) as data:
        saved = str(data["fingerprint"]) if "fingerprint" in data else None

        def leaves(which, treedef):
            return [data[f"{which}_{i}"] for i in range(treedef.num_leaves)]

        try:
            trees = [jax.tree.unflatten(params_def, leaves(w, params_def))
                     for w in ("initial_params", "final_params")]  # fmt: skip
            state = (jax.tree.unflatten(state_def, leaves("final_state", state_def))
                     if state_def.num_leaves else None)  # fmt: skip
        except KeyError:
            trees, state = [], None
    if (
        saved != fingerprint
        or len(trees) != 2
        or any(len(x) != rows for x in jax.tree.leaves(trees[1]))
    ):
        raise ValueError(
            f"{target} belongs to another run or chunk; delete it and its chunk "
            "(they are recomputed) or use a fresh out_dir."
        )
    return trees[0], trees[1], state


def prepare_out_dir(path: Path, run: Run, fingerprint: str) -> None:
    """Creates ``path`` or checks that it holds chunks of this very run.

    Raises:
      ValueError: ``path`` is not a folder, holds another run, or holds chunks
        without the run.json that says whose they are.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"out_dir {path} is a file; give a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"out_dir {path}: cannot create it ({err.strerror}); give a folder you "
            "can write to."
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"out_dir {path} is not writable; give another folder.")
    marker = path / "run.json"
    record = {"fingerprint": fingerprint, "config": run.config.to_dict()}
    if marker.exists():
        try:
            old = json.loads(marker.read_text())
        except ValueError:
            old = {}
        if old.get("fingerprint") != record["fingerprint"]:
            raise ValueError(
                f"{path} holds chunks of a different run (fingerprint "
                f"{old.get('fingerprint')} vs {record['fingerprint']}); resume needs "
                "the same config. Use another out_dir or delete that one."
            )
        return
    chunks = (
        sorted((path / "chunks").glob("chunk-*")) if (path / "chunks").is_dir() else []
    )
    if chunks:
        raise ValueError(
            f"{path} holds {len(chunks)} chunk file(s) but no run.json saying "
            "which run they belong to; they are not adopted. Delete "
            f"{path / 'chunks'} or use another out_dir."
        )
    with atomic_path(marker) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """One writer per out_dir: a second run is refused, naming the holder.

    A lock left by a process that no longer runs on this host is taken over.

    Raises:
      ValueError: another live process holds the folder.
    """
    lock = path / ".lock"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                holder = {}
            if _alive(holder):
                since = time.strftime(
                    "%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0))
                )
                raise ValueError(
                    f"{path} is being written by process {holder.get('pid')} on "
                    f"{holder.get('host')} (since {since}); wait for it to finish "
                    f"or use another out_dir (if that process is gone, delete "
                    f"{lock})."
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process has ended
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(holder: dict[str, Any]) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    if holder.get("host") != socket.gethostname():
        return True  # another host's process: cannot tell, assume it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
