"""The race figure builders, without Streamlit: frames, traces, sizes, finiteness, colours."""

import base64
import io
import pickle

import numpy as np
import pytest
from helpers import ONE_MB, assert_finite_json, fig_json
from PIL import Image

from optim import OPTIMIZERS, run
from optim.metrics import outcome
from surfaces import SURFACES
from viz.race import RunView, frame_steps, loss_figure, race_figure, step_figure
from viz.style import OPTIMIZER_COLORS, Style, color_of
from viz.surface import _hex_to_rgb, band_colorscale, make_grid, picture_shape, surface_3d_figure, surface_image

SIX = ["gd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]


def _runs(surface, names, steps, lr=1e-3):
    out = []
    for i, name in enumerate(names):
        tr = run(name, surface.grad, surface.start, steps, loss_fn=surface.f, lr=lr)
        end = tr.diverged_at - 1 if tr.diverged_at else steps
        out.append(RunView(name, OPTIMIZERS[name].label, np.asarray(tr.params), np.asarray(tr.loss), end,
                           "diverged" if tr.diverged_at else "", i))
    return out


@pytest.fixture(scope="module")
def rosen():
    s = SURFACES["rosenbrock"]
    uri = surface_image(make_grid(s.f, s.domain, 200), s.log_levels)
    return s, uri, _runs(s, SIX, 500)


def test_six_by_five_hundred_is_under_one_megabyte(rosen):
    s, uri, runs = rosen
    text = fig_json(race_figure(uri, s.domain, s.minima, s.start, runs, Style()))
    assert "NaN" not in text and "Infinity" not in text
    assert len(text) < 1_000_000, f"{len(text) / 1e6:.2f} MB"


def test_frames_carry_only_the_moving_trace(rosen):
    s, uri, runs = rosen
    fig = race_figure(uri, s.domain, s.minima, s.start, runs, Style())
    steps = frame_steps(500)
    assert len(fig.frames) == len(steps) <= 120
    assert steps[0] == 0 and steps[-1] == 500
    moving = fig.frames[0].traces
    assert len(moving) == 1 and fig.data[moving[0]].name == "heads"
    for fr in fig.frames:
        assert list(fr.traces) == list(moving)
        assert len(fr.data) == 1
        # every run's comet: trail + 1 points each
        assert len(fr.data[0].x) == len(runs) * 21
    # the surface is a static image, sent once
    assert len(fig.layout.images) == 1 and fig.layout.images[0].source.startswith("data:image/png;base64,")
    assert not any(t.type in ("contour", "heatmap") for t in fig.data)


def test_heads_follow_the_paths(rosen):
    s, uri, runs = rosen
    fig = race_figure(uri, s.domain, s.minima, s.start, runs, Style())
    last = fig.frames[-1].data[0]
    for i, r in enumerate(runs):
        head = 21 * i + 20
        np.testing.assert_allclose([last.x[head], last.y[head]], r.path[r.end], rtol=1e-6)
    first = fig.frames[0].data[0]
    np.testing.assert_allclose(first.x, np.full(len(runs) * 21, s.start[0], np.float32))


def test_all_numbers_finite_even_when_a_run_diverges():
    s = SURFACES["rosenbrock"]
    uri = surface_image(make_grid(s.f, s.domain, 50), s.log_levels)
    runs = _runs(s, ["gd", "adam"], 100, lr=0.5)
    assert any(r.note for r in runs), "lr = 0.5 should make GD diverge on Rosenbrock"
    for fig in (race_figure(uri, s.domain, s.minima, s.start, runs, Style()),
                loss_figure(runs, s.min_value, s.minima, Style())):
        text = fig_json(fig)
        assert "NaN" not in text and "Infinity" not in text
        assert_finite_json(text)


def test_colours_are_the_registry_colours_in_every_figure(rosen):
    s, uri, runs = rosen
    race = race_figure(uri, s.domain, s.minima, s.start, runs, Style())
    loss = loss_figure(runs, s.min_value, s.minima, Style())
    for r in runs:
        assert r.color == OPTIMIZER_COLORS[r.name]
        assert [t.line.color for t in race.data if t.name and t.name.startswith(r.label)] == [r.color]
        assert {t.line.color for t in loss.data if t.name == r.label} == {r.color}
    heads = race.data[race.frames[0].traces[0]]
    assert list(heads.marker.color) == [r.color for r in runs for _ in range(21)]
    assert len(set(OPTIMIZER_COLORS.values())) == len(OPTIMIZER_COLORS)
    assert set(OPTIMIZER_COLORS) >= set(OPTIMIZERS)
    assert color_of("unknown", 0) != color_of("unknown", 1)


def test_loss_figure_uses_the_gap_and_a_log_axis(rosen):
    s, _, runs = rosen
    fig = loss_figure(runs, s.min_value, s.minima, Style(), log=True)
    assert fig.layout.yaxis.type == "log"
    gap = np.asarray(fig.data[0].y, np.float64)
    np.testing.assert_allclose(gap, np.maximum(runs[0].loss[: runs[0].end + 1] - s.min_value, 1e-12), rtol=1e-5)
    saddle = SURFACES["saddle"]
    r = _runs(saddle, ["gd"], 100, lr=0.05)
    assert np.min(r[0].loss) < 0
    fig = loss_figure(r, saddle.min_value, saddle.minima, Style(), log=True)
    assert fig.layout.yaxis.type != "log"  # f < 0 on a saddle: no log axis


def test_step_figure_and_3d(rosen):
    s, uri, runs = rosen
    r = runs[4]
    fig = step_figure(uri, s.domain, s.minima, r.path, 3, np.array([0.01, -0.02]), r.label, r.color, Style())
    assert len(fig.layout.annotations) == 2
    ann = fig.layout.annotations[0]
    np.testing.assert_allclose([ann.ax, ann.ay, ann.x, ann.y], [*r.path[3], *r.path[4]], rtol=1e-6)
    grid = make_grid(s.f, s.domain, 40)
    fig3 = surface_3d_figure(grid, True, {r.name: r.path}, {r.name: r.loss}, {r.name: r.label}, Style())
    assert fig3.data[0].type == "surface" and len(fig3.data) == 2
    assert len(fig_json(fig3)) < 1_000_000


def test_presentation_style_is_larger(rosen):
    s, uri, runs = rosen
    small = race_figure(uri, s.domain, s.minima, s.start, runs, Style())
    big = race_figure(uri, s.domain, s.minima, s.start, runs, Style(presentation=True))
    assert big.layout.font.size > small.layout.font.size
    assert max(big.data[-1].marker.size) > max(small.data[-1].marker.size)


def test_outcome_reports_divergence_and_tolerance():
    s = SURFACES["bowl"]
    tr = run("gd", s.grad, s.start, 200, loss_fn=s.f, lr=0.05)
    o = outcome(np.asarray(tr.params), np.asarray(tr.loss), tr.diverged_at, s.domain, 1e-3)
    hit = int(np.flatnonzero(np.asarray(tr.loss) <= 1e-3)[0])
    assert o.steps_to_tol == hit and o.diverged_at is None and "converged" in o.verdict
    tr = run("gd", s.grad, s.start, 200, loss_fn=s.f, lr=5.0)
    o = outcome(np.asarray(tr.params), np.asarray(tr.loss), tr.diverged_at, s.domain, 1e-3)
    assert o.diverged_at == tr.diverged_at and f"diverged at step {tr.diverged_at}" in o.verdict
    assert o.left_domain_at is not None and o.left_domain_at < tr.diverged_at


# --- the surface picture and its colour bar ----------------------------------------------------------


def _png(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_surface_picture_is_drawn_at_screen_size_with_smooth_level_lines():
    s = SURFACES["rosenbrock"]
    uri = surface_image(make_grid(s.f, s.domain, 120), s.log_levels, pixels=700)
    img = _png(uri)
    assert img.size[::-1] == picture_shape(s.domain, 700) and max(img.size) == 700  # not the 120 × 120 grid
    colors = {c for _, c in img.convert("RGB").getcolors(1 << 16)}
    bands = {tuple(int(x) for x in np.round(_hex_to_rgb(c))) for _, c in band_colorscale(22)}
    assert bands <= colors  # each band's flat colour is in the picture
    assert len(colors - bands) >= 22 * 3, "the level lines should shade into the bands (anti-aliased)"


def test_surface_picture_keeps_its_colour_scale_through_a_cache():
    s = SURFACES["bowl"]
    grid = make_grid(s.f, s.domain, 60)
    uri = surface_image(grid, False)
    back = pickle.loads(pickle.dumps(uri))  # what st.cache_data does with it
    assert back == uri and back.scale == uri.scale
    assert uri.scale.lo == pytest.approx(np.nanmin(grid.z)) and not uri.scale.log


def test_race_has_a_colour_bar_of_the_pictures_bands_and_still_moves_only_the_heads(rosen):
    s, uri, runs = rosen
    fig = race_figure(uri, s.domain, s.minima, s.start, runs, Style())
    bars = [t for t in fig.data if t.marker is not None and t.marker.showscale]
    assert len(bars) == 1
    marker = bars[0].marker
    assert (marker.cmin, marker.cmax) == (uri.scale.lo, uri.scale.hi)
    assert [list(stop) for stop in marker.colorscale] == band_colorscale(uri.scale.n_levels)
    assert uri.scale.log and "10<sup>" in "".join(marker.colorbar.ticktext)  # f − min f in powers of ten
    assert fig.data[fig.frames[0].traces[0]].name == "heads"
    assert race_figure(str(uri), s.domain, s.minima, s.start, runs, Style()).data[0].name != "colour scale"


def test_the_busiest_picture_and_six_runs_stay_under_one_megabyte():
    s = SURFACES["rastrigin"]  # the most level lines of every surface: the largest picture
    uri = surface_image(make_grid(s.f, s.domain, 300), s.log_levels)
    runs = _runs(s, SIX, 500)
    assert len(fig_json(race_figure(uri, s.domain, s.minima, s.start, runs, Style()))) < ONE_MB
