"""The online page's figures, built from arrays without Streamlit."""

import json

import numpy as np
from helpers import ONE_MB, assert_finite_json, fig_json

from viz.online import OnlineRun, online_figure, steps_figure
from viz.style import Style


def _runs(T=3000):
    t = np.arange(T + 1)
    up = np.minimum(t * 0.002, 1.0)
    return [OnlineRun("adam", "Adam", up, np.linspace(1.0, 0.6, T)),
            OnlineRun("adam_large_beta2", "Adam, large β₂", -up, np.linspace(1.0, 0.05, T), 1),
            OnlineRun("gd", "GD", np.r_[up[:200], np.nan], np.linspace(1.0, 0.1, 200), 2)]


def test_the_curves_are_drawn_once_and_only_the_heads_move():
    fig = online_figure(_runs(), -1.0, (-1.0, 1.0), Style())
    spec = json.loads(fig_json(fig))
    assert len(spec["frames"]) == 120 and spec["frames"][0]["name"] == "1" and spec["frames"][-1]["name"] == "3001"
    moving = spec["frames"][0]["traces"]
    assert moving == [len(spec["data"]) - 2, len(spec["data"]) - 1]
    # a shorter run holds its last point; each frame carries one point per run in each panel
    last = spec["frames"][-1]["data"]
    assert all(len(d["x"]["bdata"]) > 0 for d in last)
    heads = fig.frames[-1].data[0]
    np.testing.assert_array_equal(heads.x, [3001, 3001, 201])
    assert_finite_json(fig)  # the NaN of the short run is not sent
    assert len(fig_json(fig)) < ONE_MB
    colours = {t.name: t.line.color for t in fig.data if t.mode == "lines" and t.showlegend is not False}
    assert len(set(colours.values())) == 3  # the large-β₂ variant has its own colour, not Adam's


def test_presentation_keeps_the_legend_off_the_axis_titles():
    fig = online_figure(_runs(), -1.0, (-1.0, 1.0), Style(presentation=True))
    assert fig.layout.legend.orientation == "h" and fig.layout.height <= 480


def test_the_steps_figure_shows_the_first_rounds_moves():
    runs = _runs()
    fig = steps_figure(runs, 3.0, Style(), rounds=30)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == [r.label for r in runs]
    np.testing.assert_allclose(lines[0].y, np.diff(runs[0].x[:31]), atol=1e-7)
    assert len(fig.layout.shapes) >= 10  # the shaded rounds of the large gradient (and the zero line)
    assert_finite_json(fig)
