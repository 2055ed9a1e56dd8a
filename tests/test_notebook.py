"""notebooks/tour.ipynb runs from top to bottom in a Jupyter kernel (nbclient) without an error,
and shows what it says: the animated race (a Plotly figure with frames), the loss curves, Adam's
equations with one update's numbers, the learning-rate sweep."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "tour.ipynb"

pytestmark = pytest.mark.slow


def test_the_tour_runs_without_an_error():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # a cell that raises stops the run with CellExecutionError (the traceback in its message)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}},
                   allow_errors=False).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o["data"]["application/vnd.plotly.v1+json"] for o in outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) >= 4  # the race, the loss curves, Adam's step, the sweep
    race = figures[0]
    assert len(race["frames"]) > 10 and race["layout"]["sliders"]
    latex = [o["data"]["text/latex"] for o in outputs if "text/latex" in o.get("data", {})]
    assert any(r"\hat v" in t for t in latex) and any("pmatrix" in t for t in latex)  # equations, then numbers
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "best rate" in text and "final loss" in text and "2/λ_max" in text
    json.dumps(race)  # the figure is plain JSON: it renders in any Jupyter front end
