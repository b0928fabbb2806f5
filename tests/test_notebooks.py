"""Every notebook matches its Jupytext source and runs end to end in small mode.

A notebook's code and text live in its source ``notebooks/NAME.py`` (Jupytext
percent format); ``notebooks/NAME.ipynb`` is that source plus the outputs of a
full-mode run. The first tests check the pairs: one source per notebook and one
notebook per source, with the same cells (type and text) in the same order.

Then each notebook is executed with nbclient from the notebooks/ folder, with
the environment variable ``INITLAB_SMALL=1`` set for its kernel (tiny restarts
and steps; the notebook picks its sizes from it). Nothing is written back: the
committed notebooks keep their full-mode outputs.
"""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
SOURCES = sorted(NB_DIR.glob("*.py"))
CELL_TIMEOUT_S = 300  # one cell; small mode aims at well under a minute in all
SYNC_HINT = (
    "edit notebooks/{name}.py, then update the .ipynb (its outputs are kept) with "
    "`jupytext --to ipynb --update notebooks/{name}.py`; see notebooks/README.md"
)


def test_every_notebook_has_a_source_and_every_source_a_notebook() -> None:
    assert NOTEBOOKS, f"no notebooks in {NB_DIR}"
    notebooks = {p.stem for p in NOTEBOOKS}
    sources = {p.stem for p in SOURCES}
    assert not notebooks - sources, (
        f"notebooks without a source {sorted(notebooks - sources)}: write one with "
        "`jupytext --to py:percent notebooks/NAME.ipynb`"
    )
    assert not sources - notebooks, (
        f"sources without a notebook {sorted(sources - notebooks)}: create one "
        "with `jupytext --to ipynb notebooks/NAME.py`, then run it in full mode "
        "with `python scripts/run_notebooks.py NAME`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_matches_its_source(path: Path) -> None:
    source_path = path.with_suffix(".py")
    if not source_path.exists():
        pytest.fail(f"{path.name} has no source {source_path.name}")
    source = jupytext.read(source_path)
    text_format = source.metadata.get("jupytext", {}).get("text_representation", {})
    assert text_format.get("format_name") == "percent", (
        f"{source_path.name} should be a Jupytext percent file with its header "
        f"(got {text_format or 'no header'}); see notebooks/README.md"
    )
    nb = nbformat.read(path, as_version=4)
    hint = SYNC_HINT.format(name=path.stem)
    got = [(cell.cell_type, cell.source) for cell in nb.cells]
    want = [(cell.cell_type, cell.source) for cell in source.cells]
    assert len(got) == len(want), (
        f"{path.name} has {len(got)} cells, its source {len(want)}; {hint}"
    )
    for i, (cell, wanted) in enumerate(zip(got, want, strict=True)):
        assert cell == wanted, (
            f"{path.name} cell {i} ({cell[0]}) differs from its source "
            f"({wanted[0]}):\n{cell[1]!r}\nvs source\n{wanted[1]!r}\n{hint}"
        )


def load_run_notebooks():
    """scripts/run_notebooks.py as a module (scripts/ is not a package)."""
    path = NB_DIR.parent / "scripts" / "run_notebooks.py"
    spec = importlib.util.spec_from_file_location("run_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_notebooks_resolves_names_paths_and_prefixes() -> None:
    run = load_run_notebooks()
    known = run.sources()
    assert list(known) == [p.stem for p in SOURCES]
    first = SOURCES[0].stem
    assert run.resolve(first, known) == first
    assert run.resolve(f"notebooks/{first}.ipynb", known) == first
    assert run.resolve(first[:2], known) == first  # "01": names start with a number
    with pytest.raises(ValueError, match="matches no notebook.*give one of"):
        run.resolve("no_such_notebook", known)
    with pytest.raises(ValueError, match="matches several notebooks"):
        run.resolve("0", known)
    for argv in (["no_such_notebook"], ["--timeout", "0", first]):
        with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
            run.main(argv)
        assert exit_info.value.code == 2, argv


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_run_notebooks_builds_from_the_source_with_the_saved_outputs(path) -> None:
    # What a full run starts from: the source's cells, the saved notebook's
    # outputs and metadata, no Jupytext header, ids cell-0, cell-1, ...
    nb = load_run_notebooks().build(path)
    source = jupytext.read(path)
    saved = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        (c.cell_type, c.source) for c in source.cells
    ]
    assert [c.get("outputs") for c in nb.cells] == [
        c.get("outputs") for c in saved.cells
    ]
    assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(len(nb.cells))]
    assert nb.metadata == saved.metadata
    assert "jupytext" not in nb.metadata
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
# jupyter_client warns about unencrypted local TCP kernels and zmq's event
# loop; neither says anything about the notebook.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_notebook_runs_in_small_mode(path: Path, monkeypatch) -> None:
    nb = nbformat.read(path, as_version=4)
    # The kernel inherits this process's environment.
    monkeypatch.setenv("INITLAB_SMALL", "1")
    # conftest pins this process to CPU; the kernel should see what a reader's does.
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
