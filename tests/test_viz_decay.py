"""The decay figure builders, without Streamlit: α_t curves, colours per schedule, the race
figure reused for schedule runs, the loss axes around a divergence, the table, sizes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_finite_json, fig_json

from lessons.decay import LESSONS, run_lesson
from optim import SCHEDULES
from optim.schedules import schedule_curve
from surfaces import SURFACES
from viz.decay import (
    SCHEDULE_COLORS,
    ScheduleRun,
    decay_loss_figure,
    decay_table,
    schedule_color,
    schedule_figure,
    schedule_runs,
    smoothed,
    trailing_mean,
)
from viz.race import race_figure
from viz.style import Style
from viz.surface import make_grid, surface_image

bowl = SURFACES["bowl"]
ONE_MB = 1_000_000


@pytest.fixture(scope="module")
def uri():
    return surface_image(make_grid(bowl.f, bowl.domain, 150), bowl.log_levels)


@pytest.fixture(scope="module")
def too_large():
    return run_lesson(LESSONS["too_large"])


def _curves(steps=500, lr=0.1):
    return {name: schedule_curve(name, lr, None, steps) for name in SCHEDULES}


def test_every_schedule_has_its_own_colour():
    assert set(SCHEDULE_COLORS) >= set(SCHEDULES)
    assert len({schedule_color(n) for n in SCHEDULES}) == len(SCHEDULES)


def test_schedule_figure_draws_each_curve_in_its_colour():
    curves = _curves()
    fig = schedule_figure(curves, Style())
    assert [t.name for t in fig.data] == [SCHEDULES[n].label for n in SCHEDULES]
    for trace, (name, (t, alpha)) in zip(fig.data, curves.items()):
        assert trace.line.color == SCHEDULE_COLORS[name]
        np.testing.assert_array_equal(trace.x, t)
        np.testing.assert_allclose(trace.y, alpha, rtol=1e-6)
    assert fig.layout.yaxis.type == "linear" and not fig.layout.shapes
    text = fig_json(fig)
    assert len(text) < ONE_MB
    assert_finite_json(text)


def test_log_axis_drops_zero_rates_and_the_limit_is_drawn():
    curves = {"cosine": schedule_curve("cosine", 0.1, {"total": 200.0, "final": 0.0}, 400)}
    fig = schedule_figure(curves, Style(), log=True, limit=0.1)
    assert fig.layout.yaxis.type == "log"
    y = np.asarray(fig.data[0].y)
    assert np.all(y > 0) and len(y) < 401  # α_t = 0 from t = T on: not drawable on a log axis
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].y0 == pytest.approx(0.1)
    assert "stability limit" in fig.layout.annotations[0].text


def test_schedule_runs_follow_the_records(too_large):
    runs = schedule_runs(too_large, bowl.f)
    assert [r.name for r in runs] == ["constant", "time", "exponential"]
    const = runs[0]
    assert isinstance(const, ScheduleRun) and const.color == SCHEDULE_COLORS["constant"]
    assert const.end == too_large["constant"]["diverged_at"] - 1 and "diverged at step" in const.note
    assert "lr too large for this curvature" in const.note  # the constant α = 0.15 is above 2/λ = 0.1
    assert runs[1].end == LESSONS["too_large"].settings["steps"] and runs[1].note == ""


def test_race_figure_of_schedule_runs_uses_schedule_colours(uri, too_large):
    runs = schedule_runs(too_large)
    v = LESSONS["too_large"].settings
    fig = race_figure(uri, bowl.domain, bowl.minima, (v["x0"], v["y0"]), runs, Style())
    for r in runs:
        assert [t.line.color for t in fig.data if t.name and t.name.startswith(r.label)] == [r.color]
    heads = fig.data[fig.frames[0].traces[0]]
    assert list(heads.marker.color) == [r.color for r in runs for _ in range(21)]
    text = fig_json(fig)
    assert len(text) < ONE_MB
    assert_finite_json(text)


def test_every_schedule_for_2000_steps_stays_under_a_megabyte(uri):
    rng = np.random.default_rng(0)
    records = {}
    for name in SCHEDULES:
        path = np.cumsum(rng.normal(0, 0.01, (2001, 2)), axis=0).astype(np.float32) + np.float32(bowl.start)
        records[name] = {"params": path, "loss": np.asarray(bowl.f(path)), "lr": np.full(2000, 0.01),
                         "diverged_at": None}
    runs = schedule_runs(records)
    for fig in (race_figure(uri, bowl.domain, bowl.minima, bowl.start, runs, Style()),
                decay_loss_figure(runs, bowl.min_value, bowl.minima, Style()),
                schedule_figure(_curves(2000), Style(), log=True, limit=0.1)):
        assert len(fig_json(fig)) < ONE_MB


def test_loss_axes_stop_above_the_runs_that_did_not_diverge(too_large):
    runs = schedule_runs(too_large)
    fig = decay_loss_figure(runs, bowl.min_value, bowl.minima, Style(), log=True)
    calm_peak = max(float(np.max(too_large[n]["loss"])) for n in ("time", "exponential"))
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.range[1] == pytest.approx(np.log10(calm_peak) + 1, rel=1e-3)
    assert fig.layout.yaxis2.range is not None
    assert_finite_json(fig)
    # no divergence: the axes are left to Plotly
    calm = schedule_runs({n: too_large[n] for n in ("time", "exponential")})
    assert decay_loss_figure(calm, bowl.min_value, bowl.minima, Style()).layout.yaxis.range is None


def test_decay_table(too_large):
    table = decay_table(too_large, 0.0, 1e-3)
    assert list(table["schedule"]) == ["Constant", "Time-based", "Exponential"]
    const, time = table.iloc[0], table.iloc[1]
    assert const["diverged at"] == too_large["constant"]["diverged_at"]
    assert const["final f − f*"] is None or np.isnan(const["final f − f*"])
    assert time["final α"] == pytest.approx(too_large["time"]["lr"][-1])
    assert time["final f − f*"] == pytest.approx(float(too_large["time"]["loss"][-1]))
    hit = int(np.flatnonzero(too_large["time"]["loss"] <= 1e-3)[0])
    assert time["steps to tolerance"] == hit
    assert time["mean f − f*, last 10 %"] == pytest.approx(np.mean(too_large["time"]["loss"][-51:]), rel=1e-5)


def test_trailing_mean_and_smoothed_runs(too_large):
    x = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    np.testing.assert_allclose(trailing_mean(x, 2), [1, 2, 4, 6, 8])
    np.testing.assert_allclose(trailing_mean(x, 1), x)
    np.testing.assert_allclose(trailing_mean(x, 10), np.cumsum(x) / np.arange(1, 6))
    runs = schedule_runs(too_large)
    smooth = smoothed(runs, 20)
    for r, s in zip(runs, smooth):
        assert len(s.loss) == r.end + 1 and s.color == r.color and s.end == r.end
        np.testing.assert_allclose(s.loss[-1], np.mean(np.asarray(r.loss, np.float64)[r.end - 19: r.end + 1]))
    text = fig_json(decay_loss_figure(smooth, bowl.min_value, bowl.minima, Style()))
    assert_finite_json(text)
