"""The per-restart record of a run: curves, finals, coordinates; Parquet."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TIDY_COLUMNS = ("initializer", "restart", "init_seed", "data_seed", "step", "metric",
                "value")  # fmt: skip


def _names(kind: str) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(Outcomes) if f.metadata["kind"] == kind
    )


def jax_leaves(tree: Any) -> list[Any]:
    """The leaves of a params pytree (none for None)."""
    if tree is None:
        return []
    import jax

    return jax.tree.leaves(tree)


def higher_is_better(metric: str) -> bool:
    """Losses are better low; every other recorded metric (accuracy, r2) high."""
    return "loss" not in metric


# How each field of Outcomes is laid out: written once, read by the row checks,
# select, concatenate, save and load.
_ROWS = "rows"  # (R,) one value per restart
_ROW_DICT = "row_dict"  # name -> array with the restart axis first
_SHARED = "shared"  # the same for every restart (steps, metadata)
_PARAMS = "params"  # in-memory pytree with the restart axis first, never saved


def _field(kind: str, dtype: Any = None, **kwargs: Any) -> Any:
    return dataclasses.field(metadata={"kind": kind, "dtype": dtype}, **kwargs)


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """Every restart's learning curves and final metrics, with its coordinates.

    Row ``r`` of every per-restart array is one restart. ``R`` = number of
    restarts over all initializers, ``E`` = number of evaluations. Immutable:
    derive a changed copy with :func:`dataclasses.replace` or :meth:`select`.

    Attributes:
      initializer: (R,) str, the label of the restart's initializer.
      restart: (R,) int, the restart's index within its initializer.
      init_seed: (R,) int, index folded into the init key stream.
      data_seed: (R,) int, index folded into the data-order key stream.
      steps: (E,) int, training steps at which curves were evaluated (0 = init).
      curves: metric -> (R, E) float, e.g. "train_loss", "test_accuracy".
      final: metric -> (R,) float, the metric after the last step.
      diverged: (R,) bool, the loss became non-finite (restart frozen then).
      diverged_step: (R,) int, first step with a non-finite loss, -1 if none.
      steps_to_target: (R,) int, first evaluated step reaching the target, -1
        if never (all -1 when no target was given).
      metadata: run description: the resolved TrainConfig's fields (task,
        model, initializers, steps, seed, ...), the fingerprint, versions,
        devices, wall time, which metrics are better high.
      per_example: optional name -> (R, M) arrays, e.g. "test_correct".
      initial_params, final_params: optional pytrees with a leading (R,) axis
        (kept in memory only, not saved).
      final_state: the model's non-parameter state at the end (batch
        statistics), restart axis first, when params are kept and the model
        has state.
      noise_seed, augment_seed: (R,) int, indices folded into the dropout-noise
        and augmentation streams (-1 in runs that did not record them).
      coords: hyper-parameter coordinates of each restart, name -> (R,) float
        (e.g. "learning_rate", "init_scale") when the run had axes; empty
        otherwise. :meth:`by` folds them into the labels.

    Example:
      >>> out = initlab.train("xor", num_restarts=4, steps=100, progress=False)
      >>> out.finals()[["initializer", "restart", "train_loss"]].shape
      (4, 3)
    """

    initializer: np.ndarray = _field(_ROWS, str)
    restart: np.ndarray = _field(_ROWS, np.int64)
    init_seed: np.ndarray = _field(_ROWS, np.int64)
    data_seed: np.ndarray = _field(_ROWS, np.int64)
    steps: np.ndarray = _field(_SHARED)
    curves: dict[str, np.ndarray] = _field(_ROW_DICT)
    final: dict[str, np.ndarray] = _field(_ROW_DICT)
    diverged: np.ndarray = _field(_ROWS, bool)
    diverged_step: np.ndarray = _field(_ROWS, np.int64)
    steps_to_target: np.ndarray = _field(_ROWS, np.int64)
    metadata: dict[str, Any] = _field(_SHARED, default_factory=dict)
    per_example: dict[str, np.ndarray] = _field(_ROW_DICT, default_factory=dict)
    initial_params: Any = _field(_PARAMS, default=None)
    final_params: Any = _field(_PARAMS, default=None)
    final_state: Any = _field(_PARAMS, default=None)
    noise_seed: np.ndarray | None = _field(_ROWS, np.int64, default=None)
    augment_seed: np.ndarray | None = _field(_ROWS, np.int64, default=None)
    coords: dict[str, np.ndarray] = _field(_ROW_DICT, default_factory=dict)

    def __post_init__(self):
        r = len(self.initializer)
        for name in ("noise_seed", "augment_seed"):  # -1: not recorded (v0.1)
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(r, -1, np.int64))
        e = len(self.steps)
        for name in _names(_ROWS):
            if len(getattr(self, name)) != r:
                raise ValueError(
                    f"Outcomes: {name} has {len(getattr(self, name))} rows, "
                    f"initializer has {r}."
                )
        for name in _names(_ROW_DICT):
            for key, value in getattr(self, name).items():
                expected = (r, e) if name == "curves" else (r,)
                shape = np.shape(value)
                if name == "per_example":
                    ok = len(shape) >= 1 and shape[0] == r
                else:
                    ok = shape == expected
                if not ok:
                    raise ValueError(
                        f"Outcomes: {name} {key!r} has shape {shape}, expected "
                        f"{expected if name != 'per_example' else (r, '...')} "
                        "(restarts first)."
                    )
        for name in _names(_PARAMS):
            tree = getattr(self, name)
            for leaf in jax_leaves(tree):
                if np.shape(leaf)[:1] != (r,):
                    raise ValueError(
                        f"Outcomes: {name} leaves need the restart axis first "
                        f"({r} rows); got a leaf of shape {np.shape(leaf)}."
                    )

    def __len__(self) -> int:
        return len(self.initializer)

    @property
    def labels(self) -> list[str]:
        """Initializer labels in the order they first appear."""
        return list(dict.fromkeys(self.initializer.tolist()))

    @property
    def metrics(self) -> list[str]:
        """Names of the final metrics."""
        return list(self.final)

    def higher_is_better(self, metric: str) -> bool:
        """Whether larger values of ``metric`` are better (accuracy) or not (loss)."""
        table = self.metadata.get("higher_is_better", {})
        return bool(table.get(metric, higher_is_better(metric)))

    def values(
        self, metric: str, initializer: str | None = None, *, include_diverged=False
    ) -> np.ndarray:
        """Final ``metric`` per restart (restart axis first), diverged left out.

        Args:
          metric: a name in ``self.metrics``.
          initializer: a label, or None for all restarts.
          include_diverged: keep diverged restarts (their values may be non-finite).

        Raises:
          KeyError: unknown metric or initializer label.
        """
        if metric not in self.final:
            raise KeyError(f"unknown metric {metric!r}; available: {self.metrics}.")
        mask = np.ones(len(self), bool)
        if initializer is not None:
            if initializer not in self.labels:
                raise KeyError(
                    f"unknown initializer {initializer!r}; available: {self.labels}."
                )
            mask &= self.initializer == initializer
        if not include_diverged:
            mask &= ~self.diverged
        return np.asarray(self.final[metric])[mask]

    def by(self, *coords: str) -> Outcomes:
        """The same restarts with coordinates folded into the labels.

        ``out.by("learning_rate")`` labels a restart "he_normal lr=0.1", so every
        statistic, plot and report that groups by label groups by initializer
        and learning rate. Without arguments, every coordinate.

        Raises:
          KeyError: an unknown coordinate.

        Example:
          >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
          ...                     num_restarts=4, steps=50, progress=False)
          >>> out.by().labels
          ['he_normal lr=0.1', 'he_normal lr=1']
        """
        names = coords or tuple(self.coords)
        for name in names:
            if name not in self.coords:
                raise KeyError(
                    f"unknown coordinate {name!r}; this run has {list(self.coords)}."
                )
        if not names:
            return self
        short = {"learning_rate": "lr", "init_scale": "scale"}
        parts = [self.initializer.astype(str)]
        for name in names:
            values = [f"{short.get(name, name)}={v:g}" for v in self.coords[name]]
            parts.append(np.asarray(values))
        labels = np.asarray([" ".join(p) for p in zip(*parts, strict=True)])
        meta = {**self.metadata, "labels_by": list(names)}
        return dataclasses.replace(self, initializer=labels, metadata=meta)

    def select(self, rows: np.ndarray) -> Outcomes:
        """The outcomes of a subset of restarts (boolean mask or indices).

        Params are dropped (select from ``initial_params`` yourself); the
        metadata says it is a selection (``"selection"``: rows kept), so a saved
        selection is not mistaken for the whole run.
        """
        rows = np.asarray(rows)
        take = lambda a: np.asarray(a)[rows]  # noqa: E731
        changes: dict[str, Any] = {n: take(getattr(self, n)) for n in _names(_ROWS)}
        for name in _names(_ROW_DICT):
            changes[name] = {k: take(v) for k, v in getattr(self, name).items()}
        changes.update(dict.fromkeys(_names(_PARAMS)))
        changes["metadata"] = {
            **self.metadata,
            "selection": int(len(changes["restart"])),
        }
        return dataclasses.replace(self, **changes)

    @staticmethod
    def concatenate(parts: list[Outcomes]) -> Outcomes:
        """Joins outcomes with the same steps and metrics along the restart axis.

        Metadata is the first part's; params are joined when every part has them.
        """
        if not parts:
            raise ValueError("Outcomes.concatenate: nothing to join.")
        first = parts[0]
        for p in parts[1:]:
            if not np.array_equal(p.steps, first.steps) or any(
                set(getattr(p, n)) != set(getattr(first, n)) for n in _names(_ROW_DICT)
            ):
                raise ValueError(
                    "Outcomes.concatenate: parts differ in steps or metrics."
                )
        fields: dict[str, Any] = {n: getattr(first, n) for n in _names(_SHARED)}
        for name in _names(_ROWS):
            fields[name] = np.concatenate([getattr(p, name) for p in parts])
        for name in _names(_ROW_DICT):
            fields[name] = {
                k: np.concatenate([getattr(p, name)[k] for p in parts])
                for k in getattr(first, name)
            }
        for name in _names(_PARAMS):
            trees = [getattr(p, name) for p in parts]
            if all(t is not None for t in trees):
                import jax

                fields[name] = jax.tree.map(lambda *xs: np.concatenate(xs), *trees)
        return Outcomes(**fields)

    def finals(self) -> pd.DataFrame:
        """One row per restart: coordinates, divergence, and every final metric."""
        frame = pd.DataFrame({n: getattr(self, n) for n in _names(_ROWS)})
        for metric, value in self.final.items():
            frame[metric] = np.asarray(value)
        return frame

    def to_dataframe(self) -> pd.DataFrame:
        """The tidy table: initializer, restart, seeds, step, metric, value.

        One row per restart x evaluation step x metric, from the learning curves.
        Readable by pandas, polars or DuckDB once saved.
        """
        r, e = len(self), len(self.steps)
        frames = []
        for metric, curve in self.curves.items():
            frames.append(
                pd.DataFrame(
                    {
                        "initializer": np.repeat(self.initializer, e),
                        "restart": np.repeat(self.restart, e),
                        "init_seed": np.repeat(self.init_seed, e),
                        "data_seed": np.repeat(self.data_seed, e),
                        "step": np.tile(self.steps, r),
                        "metric": metric,
                        "value": np.asarray(curve, np.float64).reshape(-1),
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=list(TIDY_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes a Parquet file (curves + per-restart columns + metadata), atomically.

        Args:
          path: file path, conventionally ``results.parquet``.

        Returns:
          The path written.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.finals()
        for metric, curve in self.curves.items():
            frame[f"curve:{metric}"] = list(np.asarray(curve, np.float64))
        for name, arr in self.per_example.items():
            frame[f"example:{name}"] = list(np.asarray(arr))
        for name, arr in self.coords.items():
            frame[f"coord:{name}"] = np.asarray(arr, np.float64)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = {
            "steps": np.asarray(self.steps).tolist(),
            "curves": list(self.curves),
            "final": list(self.final),
            "per_example": {
                k: str(np.asarray(v).dtype) for k, v in self.per_example.items()
            },
            "coords": list(self.coords),
            "metadata": self.metadata,
        }
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"initlab": json.dumps(meta, default=str)}
        )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, verify: bool = True) -> Outcomes:
        """Reads what :meth:`save` wrote (a file, or a folder with results.parquet).

        With ``verify`` (the default) the rows are checked against what the run
        recorded: every (initializer, restart) of the run exactly once, and,
        when the file sits in a run folder, the fingerprint of its
        ``run.json``. A file that fails is refused, never half-read.

        Raises:
          FileNotFoundError: no such file.
          ValueError: not an initlab file, unreadable, or rows that do not
            belong to the run it says it is.
        """
        import pyarrow.parquet as pq

        path = Path(path)
        if path.is_dir():
            path = path / "results.parquet"
        if not path.exists():
            raise FileNotFoundError(f"Outcomes.load: no file {path}.")
        try:
            table = pq.read_table(path)
        except Exception as err:  # noqa: BLE001 - pyarrow raises several kinds
            raise ValueError(
                f"Outcomes.load: {path} is not a readable Parquet file "
                f"({type(err).__name__}: {str(err).splitlines()[0][:200]}); it may "
                "be truncated. Delete it and rerun to recompute it."
            ) from None
        raw = (table.schema.metadata or {}).get(b"initlab")
        if raw is None:
            raise ValueError(f"Outcomes.load: {path} was not written by initlab.")
        meta = json.loads(raw)
        frame = table.to_pandas()
        r = len(frame)
        e = len(meta["steps"])

        def stack(col, dtype, width=e):
            if r == 0:
                return np.zeros((0, width), dtype)
            return np.stack([np.asarray(v, dtype) for v in frame[col]])

        rows = {
            f.name: frame[f.name].to_numpy(dtype=object).astype(str)
            if f.metadata["dtype"] is str
            else frame[f.name].to_numpy(f.metadata["dtype"])
            for f in dataclasses.fields(cls)
            if f.metadata["kind"] == _ROWS and f.name in frame
        }
        out = cls(
            **rows,
            steps=np.asarray(meta["steps"], np.int64),
            curves={m: stack(f"curve:{m}", np.float64) for m in meta["curves"]},
            final={m: frame[m].to_numpy(np.float64) for m in meta["final"]},
            metadata=meta["metadata"],
            per_example={
                k: stack(f"example:{k}", dt) for k, dt in meta["per_example"].items()
            },
            coords={
                k: frame[f"coord:{k}"].to_numpy(np.float64)
                for k in meta.get("coords", [])
            },
        )
        if verify:
            _verify(out, path)
        return out


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A unique temporary path beside ``path``, moved onto it when the block ends.

    Readers see the old file or the new one, never half of one; two writers
    never share a temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _verify(out: Outcomes, path: Path) -> None:
    """Rows against the run's own record (see :meth:`Outcomes.load`)."""
    meta = out.metadata
    labels = meta.get("initializers")
    n = meta.get("num_restarts")
    whole_run = not {"selection", "labels_by"} & set(meta) and "first_restart" in meta
    if isinstance(labels, dict) and isinstance(n, int) and whole_run:
        first = meta["first_restart"]
        combos = {tuple(c) for c in zip(*out.coords.values(), strict=True)} or {()}
        expected = {
            (str(lab), r, *c)
            for lab in labels
            for r in range(first, first + n)
            for c in combos
        }
        columns = (out.initializer, out.restart, *out.coords.values())
        got = list(zip(*(c.tolist() for c in columns), strict=True))
        if len(got) != len(set(got)) or set(got) != expected:
            missing = len(expected - set(got))
            raise ValueError(
                f"Outcomes.load: {path} does not hold its run's rows: "
                f"{len(got)} rows for {len(expected)} (initializer, restart) "
                f"pairs, {len(got) - len(set(got))} repeated, {missing} missing. "
                "It was edited or assembled from other runs' chunks; recompute it."
            )
    marker = path.parent / "run.json"
    fingerprint = meta.get("fingerprint")
    if fingerprint is not None and marker.exists():
        try:
            recorded = json.loads(marker.read_text()).get("fingerprint")
        except (OSError, ValueError):
            recorded = None
        if recorded is not None and recorded != fingerprint:
            raise ValueError(
                f"Outcomes.load: {path} has fingerprint {fingerprint} but its "
                f"folder's run.json says {recorded}: the file belongs to another "
                "run."
            )
