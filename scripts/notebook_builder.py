"""Shared machinery of the notebook generators ``scripts/make_notebooks*.py``.

A generator defines its notebooks as lists of cells (``md``/``code``, usually
starting with ``code(setup_source())`` and ending with ``code(FOOTER)``) in a
``dict`` keyed by notebook name, and hands that dict to ``main``. ``main``
writes ``notebooks/NAME.ipynb`` from the source; it keeps the outputs of an
existing notebook whose code cells are unchanged up to layout (same syntax
trees), and it can execute the notebooks with nbclient (``--execute`` in full
mode and save, ``--small`` with ``INITLAB_SMALL=1`` and save nothing).

The generators run as scripts (``python scripts/make_notebooks.py``), which
puts ``scripts/`` on ``sys.path``; they import this module as
``notebook_builder``.
"""

from __future__ import annotations

import argparse
import ast
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from textwrap import dedent

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"

Notebooks = Mapping[str, Sequence[nbformat.NotebookNode]]

CPU_DEVICES = (
    "    initlab.use_cpu_devices()  # one XLA CPU device per core (~1.7x on 2 cores)"
)

_SETUP = """
import os
import time

SMALL = os.environ.get("INITLAB_SMALL") == "1"  # the test suite's small mode
import initlab

if not SMALL:
{devices}
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.8)})
pd.set_option("display.precision", 4)
{display_width}T_START = time.perf_counter()
"""

FOOTER = """
print(f"notebook ran in {time.perf_counter() - T_START:.0f} s "
      f"({'small' if SMALL else 'full'} mode, {jax.device_count()} device(s))")
"""

_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven")


def setup_source(devices: str = CPU_DEVICES, display_width: int | None = None) -> str:
    """The source of a notebook's first code cell (imports, small mode, styles).

    Args:
      devices: the indented statement run when not in small mode (by default
        one XLA CPU device per core).
      display_width: if given, also set pandas' ``display.width`` to it.
    """
    width = (
        ""
        if display_width is None
        else f'pd.set_option("display.width", {display_width})\n'
    )
    return _SETUP.replace("{devices}", devices).replace("{display_width}", width)


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell from indented, triple-quoted text."""
    return nbformat.v4.new_markdown_cell(dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    """A code cell from indented, triple-quoted source."""
    return nbformat.v4.new_code_cell(dedent(text).strip())


def _normalized(source: str) -> str:
    """The cell's syntax tree: equal for code that differs only in layout."""
    lines = [
        "pass" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    try:
        return ast.dump(ast.parse("\n".join(lines)))
    except SyntaxError:
        return source


def _code_sources(nb: nbformat.NotebookNode) -> list[str]:
    return [_normalized(c.source) for c in nb.cells if c.cell_type == "code"]


def build(
    cells: Sequence[nbformat.NotebookNode], path: Path
) -> tuple[nbformat.NotebookNode, bool]:
    """The notebook from ``cells``, with the outputs of the saved one if code matches.

    Args:
      cells: the notebook's cells (copied, not modified).
      path: where the notebook is saved; its outputs are reused when its code
        cells have the same syntax trees as ``cells``' and it has any outputs.

    Returns:
      (notebook, True when it carries outputs of a previous execution).
    """
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(dict(c)) for c in cells]
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}  # fmt: skip
    nb.metadata.language_info = {"name": "python"}
    if path.exists():
        old = nbformat.read(path, as_version=4)
        if _code_sources(old) == _code_sources(nb) and any(
            c.get("outputs") for c in old.cells if c.cell_type == "code"
        ):
            old_code = iter(c for c in old.cells if c.cell_type == "code")
            for cell in nb.cells:
                if cell.cell_type == "code":
                    prev = next(old_code)
                    cell.outputs = prev.outputs
                    cell.execution_count = prev.execution_count
            return nb, True
    return nb, False


def execute(
    nb: nbformat.NotebookNode, small: bool, timeout: int, cwd: Path = NB_DIR
) -> float:
    """Runs ``nb`` in place from ``cwd``; returns the wall time in seconds."""
    from nbclient import NotebookClient

    env = dict(os.environ)
    env.pop("INITLAB_SMALL", None)
    if small:
        env["INITLAB_SMALL"] = "1"
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(cwd)}},
        ).execute()
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(old)


def _strip_ids(nb: nbformat.NotebookNode) -> None:
    """Stable cell ids (cell-0, cell-1, ...) so rebuilds give small diffs."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"


def main(notebooks: Notebooks, doc: str, argv: list[str] | None = None) -> int:
    """The generator's command line: write (and optionally run) ``notebooks``.

    Args:
      notebooks: the cells of each notebook, by name (``notebooks/NAME.ipynb``).
      doc: the generator's docstring; its first line describes the command.
      argv: the arguments (default: ``sys.argv[1:]``).
    """
    count = len(notebooks)
    every = _COUNT_WORDS[count] if count < len(_COUNT_WORDS) else str(count)
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"notebooks (default: all {every})")
    parser.add_argument("--execute", action="store_true", help="run full, save")
    parser.add_argument("--small", action="store_true", help="run small, no save")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    names = args.names or list(notebooks)
    unknown = sorted(set(names) - set(notebooks))
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; known: {list(notebooks)}")
    NB_DIR.mkdir(exist_ok=True)
    for name in names:
        path = NB_DIR / f"{name}.ipynb"
        nb, has_outputs = build(notebooks[name], path)
        _strip_ids(nb)
        if args.small:
            seconds = execute(nb, small=True, timeout=args.timeout)
            print(f"{name}: small mode ran in {seconds:.1f} s", flush=True)
            continue
        if args.execute:
            seconds = execute(nb, small=False, timeout=args.timeout)
            print(f"{name}: full mode ran in {seconds:.1f} s", flush=True)
            has_outputs = True
        nbformat.write(nb, path)
        state = "with outputs" if has_outputs else "NO OUTPUTS (run --execute)"
        print(
            f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e3:.0f} kB, "
            f"{state})",
            flush=True,
        )
    return 0
