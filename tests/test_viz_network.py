"""The network page's figure builders and tables, on synthetic runs (no training here): the
losses against the margin vs the course's formulas, learning curves, the animated decision
boundaries (frames, what they carry, size), the tables."""

import json

import numpy as np
import pytest
from helpers import assert_finite_json

from optim import OPTIMIZERS
from surfaces import network as N
from surfaces import training as T
from viz import network as V
from viz.style import Style, color_of

STYLE = Style()


def smooth_classes(rng, n_snaps, k, g):
    """Regions like a trained network's: the argmax of K random smooth functions on the grid
    (a few runs per grid row), a new draw per snapshot."""
    u = np.linspace(-1, 1, g)
    xx, yy = np.meshgrid(u, u)
    out = []
    for _ in range(n_snaps):
        a, b, c, f = rng.normal(size=(4, k, 1, 1))
        z = a * xx + b * yy + 0.5 * np.sin(3 * f * (xx + c * yy))
        out.append(np.argmax(z, 0).ravel())
    return np.asarray(out, np.int8)


def fake_record(seed=0, epochs=30, k=2, n_grid=T.GRID, diverged=None):
    rng = np.random.default_rng(seed)
    snaps = np.asarray(T.snapshot_epochs(epochs), np.int32)
    train = np.linspace(0.7, 0.05, epochs + 1).astype(np.float32)
    return {
        "train_loss": train, "test_loss": train + 0.1, "train_acc": np.linspace(0.5, 1.0, epochs + 1, dtype=np.float32),
        "test_acc": np.linspace(0.5, 0.9, epochs + 1, dtype=np.float32), "snap_epochs": snaps,
        "classes": smooth_classes(rng, len(snaps), k, n_grid),
        "lr": np.full(epochs, 0.01, np.float32), "diverged_epoch": diverged, "compile_seconds": 1.5,
        "seconds": 0.25,
    }


def fake_runs(n, **kw):
    names = list(OPTIMIZERS)[:n]
    return [V.NetRun(name, OPTIMIZERS[name].label, fake_record(i, **kw), i) for i, name in enumerate(names)]


def spec_of(fig) -> dict:
    return json.loads(fig.to_json())


# --- losses against the margin -------------------------------------------------------------------------


def test_margin_curves_are_the_course_formulas():
    m = V.MARGIN.astype(np.float64)
    course = {
        "least_squares": (m - 1) ** 2,  # (ŷ − y)² with y = 1: ŷy = ŷ
        "logistic": np.log1p(np.exp(-m)),
        "hinge": np.maximum(0, 1 - m),
        "cross_entropy": -np.log(1 / (1 + np.exp(-m))),  # y = 1, ŷ = σ(z)
        "softmax_cross_entropy": -np.log(np.exp(m) / (1 + np.exp(m))),  # logits (0, z), class 1
    }
    curves = V.margin_curves()
    assert set(curves) == set(N.LOSSES)
    for name, want in course.items():
        np.testing.assert_allclose(curves[name], want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_margin_figure_highlights_the_chosen_loss():
    spec = spec_of(V.margin_figure("hinge", STYLE))
    traces = spec["data"]
    assert len(traces) == len(N.LOSSES) + 1 and traces[0]["name"].startswith("0–1")
    widths = {t["name"]: t["line"]["width"] for t in traces}
    assert widths["Hinge"] == max(widths.values()) and widths["Logistic"] < widths["Hinge"]


# --- learning curves --------------------------------------------------------------------------------------


def test_curves_figure_one_colour_per_optimizer_train_solid_test_dashed():
    runs = fake_runs(3)
    traces = spec_of(V.curves_figure(runs, STYLE))["data"]
    for r in runs:
        mine = [t for t in traces if t.get("legendgroup") == r.label]
        assert len(mine) == 4  # train and test, loss and accuracy
        assert {t["line"]["color"] for t in mine} == {color_of(r.name)}
        assert sorted(t["line"]["dash"] for t in mine) == ["dash", "dash", "solid", "solid"]
    spec = spec_of(V.curves_figure(runs, STYLE, log=True))
    assert spec["layout"]["yaxis"]["type"] == "log"
    zero = fake_runs(1)
    zero[0].rec["train_loss"][-1] = 0.0  # the hinge loss reaches 0: no log axis then
    assert spec_of(V.curves_figure(zero, STYLE, log=True))["layout"]["yaxis"].get("type") != "log"


# --- decision boundaries ------------------------------------------------------------------------------------


DATA = T.make_data("moons", 300, 0.1, seed=0)


def test_make_data_grid_covers_every_point():
    assert DATA.grid.shape == (T.GRID**2, 2) and len(DATA.y_train) == 225 and len(DATA.y_test) == 75
    X = np.concatenate([DATA.X_train, DATA.X_test])
    assert DATA.gx[0] < X[:, 0].min() and DATA.gx[-1] > X[:, 0].max()
    assert DATA.gy[0] < X[:, 1].min() and DATA.gy[-1] > X[:, 1].max()
    np.testing.assert_array_equal(DATA.grid[1], [DATA.gx[1], DATA.gy[0]])  # row by row, x inner


def regions_of(rows_by_class, g):
    """The grid's classes back from ``class_rows`` (−1 where no run covers a cell)."""
    out = np.full((g, g), -1)
    for j, (x, y) in enumerate(rows_by_class):
        for a, b, r in zip(x[0::3], x[1::3], y[0::3], strict=True):
            assert np.all(out[r, int(a + 0.5): int(b + 0.5)] == -1)  # runs never overlap
            out[r, int(a + 0.5): int(b + 0.5)] = j
    return out


@pytest.mark.parametrize("k", [2, 5])
def test_class_rows_cover_the_grid_exactly(k):
    rng = np.random.default_rng(k)
    g = 12
    c = rng.integers(0, k, g * g).astype(np.int8)
    rows = V.class_rows(c, g, k)
    assert len(rows) == k and all(np.isnan(x[2::3]).all() for x, _ in rows)
    np.testing.assert_array_equal(regions_of(rows, g), c.reshape(g, g))
    one = V.class_rows(np.zeros(g * g, np.int8), g, 2)  # one class everywhere: one run per row
    np.testing.assert_array_equal(one[0][0][0::3], -0.5) and len(one[1][0]) == 0


def test_boundary_frames_move_only_the_regions_of_every_panel():
    runs = fake_runs(4)
    spec = spec_of(V.boundary_figure(runs, DATA, STYLE))
    frames = spec["frames"]
    assert [f["name"] for f in frames] == [str(e) for e in T.snapshot_epochs(30)]
    moving = [i for i, t in enumerate(spec["data"]) if t["name"].startswith("class ")]
    assert len(moving) == 4  # a trace per class and panel, class 0 is the background
    assert len(spec["layout"]["shapes"]) == 4
    assert {t["xaxis"] for t in spec["data"]} == {"x", "x2", "x3", "x4"}  # one panel per run
    for f in frames:
        assert f["traces"] == moving
        assert all(set(d) == {"type", "x", "y"} for d in f["data"])
    assert spec["layout"]["sliders"][0]["active"] == len(frames) - 1  # opens on the last epoch
    fig = V.boundary_figure(runs, DATA, STYLE)
    g = T.GRID
    empty = (np.zeros(0), np.zeros(0))
    shown = [empty, (np.asarray(fig.data[moving[2]].x), np.asarray(fig.data[moving[2]].y))]  # run 2, last epoch
    np.testing.assert_array_equal(regions_of(shown, g) == 1, runs[2].rec["classes"][-1].reshape(g, g) == 1)
    d = fig.frames[3].data[1]  # run 1, epoch 3
    np.testing.assert_array_equal(regions_of([empty, (np.asarray(d["x"]), np.asarray(d["y"]))], g) == 1,
                                  runs[1].rec["classes"][3].reshape(g, g) == 1)


def test_boundary_panels_titles_and_points():
    runs = fake_runs(2)
    runs[1] = V.NetRun("adam", "Adam", fake_record(1, diverged=3))
    spec = spec_of(V.boundary_figure(runs, DATA, STYLE))
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert titles[0].endswith("test 90%") and "diverged" in titles[1]
    pts = [t for t in spec["data"] if t["name"] in ("train points", "test points")]
    assert len(pts) == 6 and sum(t.get("showlegend", True) for t in pts) == 2  # + two grey legend entries


@pytest.mark.parametrize("n", [1, 4, 9])
def test_boundary_figure_stays_under_1_mb(n):
    """Every optimizer at once on the largest data set and the longest run: < 1 MB of JSON."""
    big = T.make_data("spirals", 2000, 0.05, seed=0, n_classes=8)
    runs = fake_runs(n, epochs=500, k=8)
    fig = V.boundary_figure(runs, big, STYLE)
    assert len(fig.to_json()) < 1_000_000
    assert len(fig.frames) >= 10


def test_frame_indices_and_panel_columns():
    assert list(V.frame_indices(21, 1e4, 4.5e5)) == list(range(21))
    few = V.frame_indices(21, 3e4, 4.5e5)
    assert few[0] == 0 and few[-1] == 20 and len(few) == 15
    assert list(V.frame_indices(21, 1e9, 4.5e5)) == [0, 20]
    assert [V.panel_columns(n) for n in range(1, 10)] == [1, 2, 3, 4, 3, 3, 4, 4, 3]


def test_class_colorscale_is_stepwise():
    scale = V.class_colorscale(3)
    assert [s[0] for s in scale] == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert scale[0][1] == scale[1][1] != scale[2][1]


# --- tables and the verdict -----------------------------------------------------------------------------------


def test_results_and_history_tables():
    runs = fake_runs(2)
    t = V.results_table(runs)
    assert list(t["run"]) == [r.label for r in runs]
    assert t["test loss"][0] == pytest.approx(0.15) and t["gap (test − train loss)"][0] == pytest.approx(0.1)
    assert t["epochs/s"][0] == pytest.approx(30 / 0.25) and list(t["outcome"]) == ["trained"] * 2
    h = V.history_table(runs)
    assert len(h) == 2 * 31 and list(h.columns[:2]) == ["run", "epoch"]


def test_update_spectrum_figure_divides_each_run_by_its_largest_singular_value():
    flat = {"update_sv": [np.array([3.0, 2.0]), np.array([2.0, 1.9, 1.8, 1.7]), np.array([1.0])]}
    steep = {"update_sv": [np.array([3.0, 2.0]), np.array([4.0, 1.0, 0.1, 0.0]), np.array([1.0])]}
    still = {"update_sv": [np.zeros(2), np.zeros(4), np.zeros(1)]}  # a run whose last step did not move
    runs = [V.NetRun("muon", "Muon", flat, 0), V.NetRun("adamw", "AdamW", steep, 1), V.NetRun("gd", "GD", still, 2)]
    fig = V.update_spectrum_figure(runs, 1, STYLE)
    spec = json.loads(fig.to_json())
    assert [t["name"] for t in spec["data"]] == ["Muon", "AdamW", "GD"]
    ys = [np.asarray(t.y, np.float64) for t in fig.data]
    np.testing.assert_allclose(ys[0], [1.0, 0.95, 0.9, 0.85], rtol=1e-6)
    np.testing.assert_allclose(ys[1], [1.0, 0.25, 0.025, 0.0], rtol=1e-6)
    np.testing.assert_allclose(ys[2], 0.0)
    assert [t["line"]["color"] for t in spec["data"]] == [r.color for r in runs]
    np.testing.assert_array_equal(np.asarray(fig.data[0].x), [1, 2, 3, 4])
    assert fig.layout.yaxis.range == (0, 1.05)


def test_final_sharpness_figure_has_one_bar_per_measured_run_and_the_table_a_column():
    runs = fake_runs(3)
    runs = [V.NetRun(r.name, r.label, {**r.rec, "lambda_max": lam}, r.index) if lam is not None else r
            for r, lam in zip(runs, (5.0, 1.25, None))]
    fig = V.final_sharpness_figure(runs, STYLE)
    spec = json.loads(fig.to_json())
    bar = spec["data"][0]
    assert len(spec["data"]) == 1 and bar["type"] == "bar"
    assert bar["x"] == [runs[0].label, runs[1].label]  # the run without a measurement is left out
    np.testing.assert_allclose(np.asarray(fig.data[0].y, np.float64), [5.0, 1.25])
    assert bar["text"] == ["5", "1.25"] and bar["marker"]["color"] == [runs[0].color, runs[1].color]
    assert fig.layout.yaxis.range == (0, 6.0)
    t = V.results_table(runs)
    assert list(t["λ_max at the end"][:2]) == [5.0, 1.25] and np.isnan(t["λ_max at the end"][2])  # shown as "—"
    assert "λ_max at the end" not in V.results_table(fake_runs(2)).columns  # nothing measured: no column
    diverged = [V.NetRun("gd", "GD", {**runs[0].rec, "lambda_max": float("nan")}, 0), runs[1]]
    fig = V.final_sharpness_figure(diverged, STYLE)
    assert_finite_json(fig)
    assert json.loads(fig.to_json())["data"][0]["text"] == ["not finite", "1.25"]
    np.testing.assert_allclose(np.asarray(fig.data[0].y, np.float64), [0.0, 1.25])
