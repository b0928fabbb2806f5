"""Every notebook in notebooks/ runs end to end in its small mode.

Each notebook is executed with nbclient from the notebooks/ folder, with the
environment variable ``INITLAB_SMALL=1`` set for its kernel (tiny restarts and
steps; the notebook picks its sizes from it). Nothing is written back: the
committed notebooks keep their full-mode outputs.
"""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # one cell; small mode aims at well under a minute in all


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
