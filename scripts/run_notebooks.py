"""Runs the notebooks from their Jupytext sources; full mode saves the outputs.

Usage (from the repository root)::

    python scripts/run_notebooks.py 02_restart_distribution  # full mode, saved
    python scripts/run_notebooks.py --small                  # all, small, not saved
    python scripts/run_notebooks.py --small 05 07            # by number works too

Each notebook is built from its source ``notebooks/NAME.py`` (the cell ids and
metadata of the saved ``notebooks/NAME.ipynb`` are kept where the cells match)
and executed with nbclient from the ``notebooks/`` folder, with this checkout
first on the kernel's ``PYTHONPATH`` (so it imports this ``initlab``). In full
mode (``INITLAB_SMALL`` unset) the executed notebook is saved as ``NAME.ipynb``
with its new outputs; a notebook that fails is not saved. ``--small`` runs it
with ``INITLAB_SMALL=1``, the test suite's small mode, and saves nothing.

To put an edited source into its notebook without running it (the outputs are
kept): ``jupytext --to ipynb --update notebooks/NAME.py``; see
``notebooks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"


def sources() -> dict[str, Path]:
    """The notebook sources ``notebooks/NAME.py``, by NAME, in order."""
    return {p.stem: p for p in sorted(NB_DIR.glob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str:
    """The notebook NAME for a name, a path to its .py/.ipynb, or a unique prefix.

    Raises:
      ValueError: if ``name`` matches no notebook or several.
    """
    stem = Path(name).stem
    if stem in known:
        return stem
    matches = [k for k in known if k.startswith(stem)]
    if len(matches) == 1:
        return matches[0]
    what = (
        f"matches several notebooks ({matches})" if matches else "matches no notebook"
    )
    raise ValueError(
        f"{name!r} {what} in notebooks/; give one of {list(known)} "
        "(or a unique prefix such as '02')"
    )


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook of ``source`` (a .py), with the saved .ipynb's ids and metadata.

    Cells are numbered ``cell-0``, ``cell-1``, ... so a re-run changes few lines.
    """
    nb = jupytext.read(source)
    saved = source.with_suffix(".ipynb")
    if saved.exists():
        nb = combine_inputs_with_outputs(nb, nbformat.read(saved, as_version=4))
    # The text format's own header belongs to the .py, not to the .ipynb.
    header = nb.metadata.get("jupytext", {})
    header.pop("text_representation", None)
    if not header:
        nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def execute(nb: nbformat.NotebookNode, small: bool, timeout: int) -> float:
    """Runs ``nb`` in place from ``notebooks/``; returns the wall time in seconds.

    Raises:
      nbclient.exceptions.CellExecutionError: a cell raised (with its traceback).
    """
    saved_env = dict(os.environ)
    # The kernel inherits this environment: this checkout's initlab comes first.
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([path] if path else []))
    os.environ.pop("INITLAB_SMALL", None)
    if small:
        os.environ["INITLAB_SMALL"] = "1"
    try:
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(NB_DIR)}},
        ).execute()
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns 0 when every notebook ran, 1 otherwise."""
    known = sources()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        help=f"names, paths or unique prefixes such as 02 (default: all {len(known)})",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="small mode (INITLAB_SMALL=1), save nothing",
    )
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(
            f"--timeout must be a positive number of seconds, not {args.timeout}"
        )
    try:
        names = [resolve(n, known) for n in args.names] or list(known)
    except ValueError as err:
        parser.error(str(err))
    mode = "small" if args.small else "full"
    failed = []
    for name in names:
        nb = build(known[name])
        try:
            seconds = execute(nb, small=args.small, timeout=args.timeout)
        except CellExecutionError as err:
            print(f"{name}: FAILED in {mode} mode, not saved\n{err}", flush=True)
            failed.append(name)
            continue
        print(f"{name}: {mode} mode ran in {seconds:.0f} s", flush=True)
        if not args.small:
            path = known[name].with_suffix(".ipynb")
            nbformat.write(nb, path)
            size = path.stat().st_size / 1e3
            print(f"  wrote {path.relative_to(ROOT)} ({size:.0f} kB)", flush=True)
    if failed:
        print(f"failed: {failed}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
