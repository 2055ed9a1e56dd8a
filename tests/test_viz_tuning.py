"""The tuning figures (viz/tuning.py), built from synthetic sweeps: no runs, no Streamlit."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from optim.search import Axis, SearchComparison, Sweep, compare_searches, grid_trials, random_trials
from viz.style import Style
from viz.tuning import (
    DIVERGED,
    best_so_far_figure,
    heat_values,
    sweep_figure,
    sweep_table,
    symbol,
    ticks,
    trials_figure,
)

AX = Axis("lr", 1e-4, 2.0, "log")
AY = Axis("beta2", 0.5, 0.9999, "log1m")


def fake_sweep(n: int, seed: int = 0) -> Sweep:
    rng = np.random.default_rng(seed)
    final = (10.0 ** rng.uniform(-8, 1, (n, n))).astype(np.float32)
    diverged = np.zeros((n, n), bool)
    diverged[:, -max(1, n // 8):] = True  # the largest learning rates
    steps = np.where(rng.random((n, n)) < 0.3, np.nan, rng.integers(1, 300, (n, n))).astype(np.float32)
    return Sweep("lr", "beta2", AX.values(n), AY.values(n), final, diverged, steps)


def decode(arr) -> np.ndarray:
    """A Plotly 7 typed array from the figure's JSON."""
    if isinstance(arr, dict):
        out = np.frombuffer(base64.b64decode(arr["bdata"]), np.dtype(arr["dtype"]))
        return out.reshape([int(s) for s in arr["shape"].split(",")]) if "shape" in arr else out
    return np.asarray(arr, dtype=float)


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def trace(s: dict, name: str) -> dict:
    return next(t for t in s["data"] if t.get("name") == name)


def test_ticks_are_in_values_on_each_scale():
    vals, text = ticks(AX)
    # decades are written as the app's log axes write them: powers of ten
    assert text == ["10<sup>−4</sup>", "10<sup>−3</sup>", "10<sup>−2</sup>", "10<sup>−1</sup>", "1"]
    np.testing.assert_allclose(vals, [-4, -3, -2, -1, 0])
    assert ticks(AY)[1] == ["0.9", "0.99", "0.999", "0.9999"]
    assert ticks(Axis("beta", 0.9, 0.99, "log1m"))[1] == ["0.9", "0.95", "0.98", "0.99"]
    assert ticks(Axis("lr", 0.01, 0.05, "log"))[1] == ["0.01", "0.02", "0.05"]
    vals, text = ticks(Axis("eps", 1e-12, 0.1, "log"))
    assert len(vals) <= 8 and all("e-" not in t and "<sup>−" in t for t in text)
    assert ticks(Axis("lr", 2e-5, 5e-5, "log"))[1] == ["2×10<sup>−5</sup>", "5×10<sup>−5</sup>"]
    assert ticks(Axis("weight_decay", 0.0, 0.5)) is None


def test_heat_values_gap_steps_and_unknown_minimum():
    sw = fake_sweep(8)
    z, title = heat_values(sw, "final", 0.0)
    assert np.all(np.isnan(z[sw.diverged]))
    np.testing.assert_allclose(z[~sw.diverged], np.log10(sw.final[~sw.diverged]), rtol=1e-5)
    assert "log" in title
    z, _ = heat_values(sw, "steps", 0.0)
    assert np.all(np.isnan(z[sw.diverged | np.isnan(sw.steps_to_tol)]))
    z, title = heat_values(sw, "final", None)
    np.testing.assert_array_equal(z[~sw.diverged], sw.final[~sw.diverged])
    assert title.startswith("final f")
    floored, _ = heat_values(Sweep("lr", "b", sw.xs[:1], sw.ys[:1], np.array([[-1e-8]], np.float32),
                                   np.zeros((1, 1), bool), np.zeros((1, 1), np.float32)), "final", 0.0)
    assert floored[0, 0] == pytest.approx(-12)  # rounding below f*: floored, not NaN


def test_sweep_figure_cells_axes_markers_and_diverged():
    sw = fake_sweep(16)
    s = spec(sweep_figure(sw, AX, AY, Style(), f_star=0.0, best=(3, 4), picked=(5, 6)))
    heat = trace(s, "sweep")
    z = decode(heat["z"])
    assert z.shape == (16, 16) and np.all(np.isnan(z[sw.diverged]))
    np.testing.assert_allclose(decode(heat["x"]), np.log10(sw.xs.astype(np.float64)), rtol=1e-5)
    status = decode(trace(s, "diverged / not reached")["z"])
    np.testing.assert_array_equal(status == 0, sw.diverged)  # the grey layer
    assert np.all(np.isnan(status[~sw.diverged]))
    assert trace(s, "diverged")["marker"]["color"] == DIVERGED  # its legend key
    cells = trace(s, "cells")
    assert cells["type"] == "scattergl" and len(decode(cells["x"])) == 256
    custom = decode(cells["customdata"])
    assert custom.shape == (256, 3)
    k = 5 * 16 + 6  # row-major: cell [j, i] is point j · nx + i
    assert custom[k, 0] == sw.xs[6] and custom[k, 1] == sw.ys[5] and custom[k, 2] == sw.final[5, 6]
    best, picked = trace(s, "best cell"), trace(s, "picked cell")
    assert best["x"][0] == pytest.approx(np.log10(sw.xs[4]), rel=1e-6)
    assert picked["y"][0] == pytest.approx(-np.log10(1 - sw.ys[5].astype(np.float64)), rel=1e-5)
    assert s["layout"]["xaxis"]["ticktext"][0] == "10<sup>−4</sup>"
    assert "log scale" in s["layout"]["xaxis"]["title"]["text"]
    assert s["layout"]["yaxis"]["ticktext"][-1] == "0.9999"


def test_steps_metric_marks_runs_that_never_reached_the_tolerance():
    sw = fake_sweep(12)
    s = spec(sweep_figure(sw, AX, AY, Style(), metric="steps", f_star=0.0))
    status = decode(trace(s, "diverged / not reached")["z"])
    np.testing.assert_array_equal(status == 1, ~sw.diverged & np.isnan(sw.steps_to_tol))
    np.testing.assert_array_equal(status == 0, sw.diverged)
    assert trace(s, "not reached")["type"] == "scatter"  # the legend key
    assert "steps" in trace(s, "sweep")["colorbar"]["title"]["text"]


def test_a_128_by_128_sweep_stays_under_one_megabyte():
    sw = fake_sweep(128)
    for metric in ("final", "steps"):
        size = len(sweep_figure(sw, AX, AY, Style(), metric=metric, f_star=0.0, best=(0, 0)).to_json())
        assert size < 1_000_000, size


def test_trials_figure_draws_both_searches_and_their_shadows():
    sw = fake_sweep(16)
    g, r = grid_trials(16, 1), random_trials(16, 1)
    gs, rs = np.arange(16.0), np.arange(16.0)[::-1].copy()
    s = spec(trials_figure(sw, AX, AY, g, r, Style(), f_star=0.0, grid_scores=gs, random_scores=rs))
    grid, rand = trace(s, "grid search"), trace(s, "random search")
    np.testing.assert_allclose(decode(grid["x"]), -4 + g[:, 0] * (np.log10(2.0) + 4), rtol=1e-5)
    np.testing.assert_allclose(decode(grid["customdata"])[:, 0], AX.from_unit(g[:, 0]), rtol=1e-5)
    assert len(decode(rand["x"])) == 16
    rugs = [t for t in s["data"] if t.get("name", "").endswith("values")]
    assert len(rugs) == 4  # two edges, two searches
    assert len(np.unique(decode(rugs[0]["x"]))) == 4  # the grid's 4 values of α
    xr, yr = s["layout"]["xaxis"]["range"], s["layout"]["yaxis"]["range"]
    for t in rugs:  # inside the range, or Plotly drops them
        assert np.all(decode(t["x"]) >= xr[0]) and np.all(decode(t["y"]) >= yr[0])
    best_g = trace(s, "best of grid")
    assert best_g["x"][0] == pytest.approx(decode(grid["x"])[0], rel=1e-6)  # score 0 is trial 0
    best_r = trace(s, "best of random")
    assert best_r["x"][0] == pytest.approx(decode(rand["x"])[15], rel=1e-6)


def test_best_so_far_figure_median_and_band():
    cmp = compare_searches(lambda u: (u[:, 0] - 0.3) ** 2 + 1e-3 * u[:, 1], 9, range(20))
    s = spec(best_so_far_figure(cmp, Style()))
    for name, best in (("grid", cmp.grid_best), ("random", cmp.random_best)):
        med = decode(trace(s, f"{name} search (median)")["y"])
        np.testing.assert_allclose(med, np.median(np.maximum(best, 1e-12), axis=0), rtol=1e-6)
        assert np.all(np.diff(med) <= 0)
        band = decode(trace(s, f"{name} band")["y"])
        assert len(band) == 18
    assert s["layout"]["yaxis"]["type"] == "log"


def test_best_so_far_figure_with_diverged_trials_sends_no_infinity():
    inf = np.full((3, 4), np.inf)
    cmp = SearchComparison(np.arange(3), np.zeros((3, 4, 2)), np.zeros((3, 4, 2)), inf,
                           np.array([[np.inf, 1.0, 0.5, 0.5]] * 3))
    text = best_so_far_figure(cmp, Style(presentation=True)).to_json()
    assert "Infinity" not in text
    assert decode(trace(json.loads(text), "random search (median)")["y"])[1] == 1.0


def test_sweep_table_rows_follow_the_cells():
    sw = fake_sweep(4)
    t = sweep_table(sw)
    assert list(t.columns) == ["lr", "beta2", "final loss", "diverged", "steps to tolerance"]
    row = t.iloc[2 * 4 + 3]
    assert row["lr"] == sw.xs[3] and row["beta2"] == sw.ys[2] and row["final loss"] == sw.final[2, 3]


def test_symbols():
    assert symbol("lr") == "α" and symbol("beta2") == "β₂" and symbol("other") == "other"
