"""ui/figure.py: the JSON it sends is plotly's own (without the deep copy), and a page's figures
reach AppTest through the component's data."""

import base64
import json

import numpy as np
import plotly.graph_objects as go
from helpers import run_page, shown

from ui import figure
from viz.race import RunView, race_figure
from viz.style import Style


def _race():
    t = np.linspace(0, 1, 40)
    runs = [RunView("gd", "GD", np.stack([np.cos(t), np.sin(t)], 1), np.exp(-t), 39),
            RunView("adam", "Adam", np.stack([t, t * t], 1), np.exp(-2 * t), 20, note="diverged at step 21")]
    return race_figure("data:image/png;base64,", ((-1, 1), (-1, 1)), [(0.0, 0.0)], (1.0, 0.0), runs, Style())


def _plain(obj):
    """JSON with every typed array (``{"dtype", "bdata"}``) decoded, and every number a float."""
    if isinstance(obj, dict):
        if set(obj) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), np.dtype(obj["dtype"]))
            return _plain(a.reshape([int(n) for n in obj["shape"].split(",")]).tolist() if "shape" in obj
                          else a.tolist())
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return float(obj) if isinstance(obj, (int, float)) and not isinstance(obj, bool) else obj


def test_the_json_is_plotlys():
    """The same figure as fig.to_json() writes, its arrays as typed arrays (not number lists)."""
    grid = go.Figure(go.Heatmap(z=np.arange(12, dtype=np.int64).reshape(3, 4)))
    for fig in (_race(), go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), go.Figure(), grid):
        text = figure.to_json(fig)
        ours, theirs = _plain(json.loads(text)), _plain(json.loads(fig.to_json()))
        assert ours.pop("frames", []) == theirs.pop("frames", [])
        assert ours == theirs
    assert '"bdata"' in figure.to_json(_race()) and '"bdata"' in figure.to_json(grid)


def test_a_dict_passes_through():
    d = {"data": [{"type": "scatter", "x": [1], "y": [2]}], "layout": {"height": 300}}
    assert json.loads(figure.to_json(d)) == d


def test_the_page_sends_its_figures_through_the_component():
    at = run_page("race", 300)
    charts = shown(at)
    assert [c.key for c in charts][:2] == ["race", "loss"]
    spec = charts[0].fig
    assert spec["frames"] and spec["layout"]["sliders"]
    # the same element id on every rerun: a key-only identity, what lets the browser update in place
    ids = [c.id for c in charts]
    at.select_slider(key="race:gd.lr").set_value(0.05).run()
    again = shown(at)
    assert [c.id for c in again] == ids and again[0].spec != charts[0].spec
