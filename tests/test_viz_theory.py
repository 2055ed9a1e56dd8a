"""The theory figures without Streamlit: the stability map (size, regions, dots), the envelope,
the eigenvector arrows and the sharpness figure."""

import numpy as np
import plotly.graph_objects as go
import pytest
from helpers import ONE_MB, assert_finite_json, fig_json

from optim import theory as T
from viz.sharpness import sharpness_figure
from viz.style import Style
from viz.theory import Dots, add_eigen_arrows, beta_y, envelope_figure, map_grid, stability_map_figure


def test_the_map_grid_is_the_rate_function():
    s, y, rho, region = map_grid("momentum")
    i, j = 40, 100
    beta = 1 - 10.0 ** -y[i]
    want = T.rate_at("momentum", s[j], beta)
    assert rho[i, j] == pytest.approx(want if want < 1 else 1.02, rel=1e-6)
    assert np.all(np.isfinite(rho)) and np.all((rho >= 1) == (region == T.DIVERGING))
    assert set(np.unique(region)) == {T.MONOTONE, T.OSCILLATING, T.DIVERGING}
    assert beta_y(0.9) == pytest.approx(1.0) and beta_y(0.0) == 0.0


@pytest.mark.parametrize("maps", [["momentum"], ["momentum", "nesterov"]])
def test_the_stability_map(maps):
    dots = [Dots("gd", "GD", np.array([0.01, 0.2]), 0.0, np.array([1.0, 20.0]), "#0072B2"),
            Dots("nesterov", "NAG", np.array([1e-6, 1e6]), 0.9, np.array([1.0, 20.0]), "#CC79A7")]
    fig = stability_map_figure(maps, dots, Style(), local=True)
    text = fig_json(fig)
    assert len(text) < ONE_MB / 2
    assert_finite_json(text)
    metas = [t.meta for t in fig.data if t.meta]
    assert metas == (["dots:gd"] if maps == ["momentum"] else ["dots:gd", "dots:nesterov"])
    gd = next(t for t in fig.data if t.meta == "dots:gd")
    assert list(gd.x) == pytest.approx([0.01, 0.2]) and list(gd.y) == [0.0, 0.0]
    if "nesterov" in maps:  # off-range values are drawn at the edges
        nag = next(t for t in fig.data if t.meta == "dots:nesterov")
        assert list(nag.x) == pytest.approx([1e-3, 1e4])
    labels = {a.text for a in fig.layout.annotations}
    assert {"monotone", "oscillating", "diverging"} <= labels
    assert "local" in fig.layout.title.text


def test_the_envelope_figure():
    gap = 5 * 0.81 ** np.arange(50)
    fig = envelope_figure([dict(name="gd", label="GD", color="#000", gap=gap, rho=0.9,
                                envelope=T.envelope(0.9, gap, 25, 50, 2)[1]),
                           dict(name="adam", label="Adam", color="#111", gap=gap)], Style())
    assert [t.meta for t in fig.data] == [None, "envelope:gd", None]
    assert np.asarray(fig.data[1].y) == pytest.approx(gap, rel=1e-5)
    assert_finite_json(fig)


def test_the_arrows_follow_the_eigenvectors():
    fig = go.Figure()
    w, v = np.array([1.0, 20.0]), np.eye(2)
    add_eigen_arrows(fig, (-2.8, 1.2), w, v, ((-3, 3), (-2, 2)), Style())
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    labels = [a.text for a in fig.layout.annotations if not a.showarrow]
    assert len(arrows) == 4 and labels == ["λ = 20 (steep)", "λ = 1 (flat)"]
    steep = arrows[0]
    assert steep.x == pytest.approx(-2.8) and steep.y == pytest.approx(1.2 + 0.14 * 4)  # along y, λ = 20


def test_the_sharpness_figure():
    rec = dict(loss=np.linspace(1, 0.1, 101), sharp_steps=np.arange(0, 100, 10), sharpness=np.linspace(5, 13, 10),
               threshold=2 / 0.15, diverged_at=None)
    fig = sharpness_figure([dict(name="gd", label="GD", color="#000", threshold_label="2/α", **rec),
                            dict(name="adam", label="Adam", color="#111", threshold_label="",
                                 **{**rec, "threshold": None})], Style())
    metas = [t.meta for t in fig.data if t.meta]
    assert metas == ["sharpness:gd", "threshold:gd", "sharpness:adam"]
    assert "2/α = 13.33" in fig.data[1].name
    assert_finite_json(fig)
