"""viz.gradients: the figures of the vanishing/exploding page, from synthetic arrays (values,
orientation, gaps, sizes) and from one real diverging run of the engine."""

import json

import numpy as np
import plotly.io as pio
import pytest

from surfaces import network as N
from viz import gradients as V
from viz.style import Style

ONE_MB = 1_000_000


def _json(fig) -> str:
    return pio.to_json(fig.to_dict(), validate=False)


def _arr(v):
    """A trace array from the figure dict (NumPy, list or Plotly's base64 form)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(s) for s in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float) if not isinstance(v, np.ndarray) else v


def _runs(n_runs=4, steps=300, layers=21, seed=0, diverge=True):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_runs):
        g = 10 ** rng.normal(0, 3, (steps, layers))
        loss = rng.random(steps) + 0.1
        div = None
        if diverge and i == 0:
            div = (40, 7)  # update 40 (index 39), 0-based layer 7
            g[39, 7:] = np.inf
            loss[39] = np.nan
        out.append(V.RunTrace(f"run {i}", np.arange(1, steps + 1), loss, g, rng.random((steps, layers)) + 1, div,
                              i == 0))
    return out


# --- the scalar lesson ------------------------------------------------------------------------------


def test_scalar_figure_draws_w_to_the_l_on_a_log_axis():
    s = N.scalar_chain((0.9, 1.0, 1.1), 50)
    fig = V.scalar_figure(s.w, s.powers, Style())
    d = fig.to_dict()
    assert d["layout"]["yaxis"]["type"] == "log"
    assert len(d["data"]) == 3
    ends = [float(_arr(t["y"])[-1]) for t in d["data"]]
    np.testing.assert_allclose(ends, [0.9**50, 1.0, 1.1**50], rtol=1e-6)
    assert [t["line"]["color"] for t in d["data"]] == [V.BELOW, V.ONE, V.ABOVE]
    assert "117" in d["data"][2]["name"] and "0.00515" in d["data"][0]["name"]
    assert len(_json(fig)) < 100_000


# --- at initialization ------------------------------------------------------------------------------


def test_histograms_sum_to_one_per_layer_and_ignore_non_finite():
    layers = [np.array([[0.1, 0.2], [0.3, 0.9]]), np.array([[np.inf, 0.5], [np.nan, 0.5]]), np.full((2, 2), np.nan)]
    edges, h = V.activation_histograms(layers, (0.0, 1.0), bins=10)
    assert edges.shape == (11,) and h.shape == (3, 10)
    np.testing.assert_allclose(h.sum(1), [1.0, 1.0, 0.0])
    assert h[1, 5] == 1.0  # both finite values of layer 2 are 0.5
    _, h = V.activation_histograms([np.array([-5.0, 5.0])], (0.0, 1.0), bins=4)
    np.testing.assert_allclose(h[0], [0.5, 0, 0, 0.5])  # outside values fall in the end bins


def test_value_bounds():
    assert V.value_bounds([np.ones(3)], "sigmoid") == (0.0, 1.0)
    assert V.value_bounds([np.ones(3)], "tanh") == (-1.0, 1.0)
    lo, hi = V.value_bounds([np.linspace(0, 1, 1001), np.linspace(0, 100, 1001)], "relu")
    assert lo == pytest.approx(0.005, abs=0.01) and 98 < hi <= 100
    lo, hi = V.value_bounds([np.zeros(10)], "relu")  # every unit dead: a visible range anyway
    assert hi - lo == pytest.approx(1.0)
    assert V.value_bounds([np.full(4, np.inf)], "relu") == (-1.0, 1.0)


def test_activation_figure_puts_layers_across_and_values_up():
    edges, h = V.activation_histograms([np.zeros(50), np.ones(50)], (0.0, 1.0), bins=5)
    d = V.activation_figure(edges, h, Style()).to_dict()
    hm = d["data"][0]
    z = _arr(hm["z"])
    assert z.shape == (5, 2)  # (bins, layers)
    assert z[0, 0] == 1.0 and z[-1, 1] == 1.0
    np.testing.assert_array_equal(_arr(hm["x"]), [1, 2])


def test_layer_norms_figure_leaves_gaps_for_zero_and_overflow():
    g = np.array([1e-7, 0.0, np.inf, 1.0])
    d = V.layer_norms_figure(g, np.array([0.5, 0.4, 0.3]), Style()).to_dict()
    y = _arr(d["data"][0]["y"])
    assert y[1] == 0 and y[2] == 0  # not drawn on the log axis
    assert d["layout"]["yaxis"]["type"] == "log"
    lo, hi = d["layout"]["yaxis"]["range"]
    assert lo < -7 and hi > 0
    assert "1e-07" in d["layout"]["annotations"][0]["text"]


def test_comparison_figure_colours_log_ratios_and_marks_the_current_cell():
    first = np.array([[1e-6, 1.0], [1e9, np.inf]])
    last = np.array([[1.0, 1.0], [1e9, 1.0]])
    fig = V.comparison_figure(first, last, ["a", "b"], ["i", "j"], Style(), current=(1, 0))
    d = fig.to_dict()
    hm = d["data"][0]
    assert hm["z"][0] == [pytest.approx(-6.0), pytest.approx(0.0)]
    assert hm["z"][1][0] == pytest.approx(0.0) and hm["z"][1][1] is None
    assert hm["zmid"] == 0 and hm["zmin"] == -hm["zmax"]
    assert "overflow" in hm["text"][1][1] and "1e+09" in hm["text"][1][0]  # ratio 1, but ‖g₁‖ huge
    rect = d["layout"]["shapes"][0]
    assert (rect["x0"], rect["x1"], rect["y0"], rect["y1"]) == (-0.5, 0.5, 0.5, 1.5)
    assert "NaN" not in _json(fig) and "Infinity" not in _json(fig)


# --- during training ---------------------------------------------------------------------------------


def test_training_figure_moves_only_three_traces_per_run():
    runs = _runs()
    fig = V.training_figure(runs, Style(), max_frames=60)
    d = fig.to_dict()
    frames = d["frames"]
    assert 10 < len(frames) <= 60
    moving = frames[0]["traces"]
    assert len(moving) == 3 * len(runs) and all(len(f["data"]) == len(moving) for f in frames)
    assert frames[0]["name"] == "1" and frames[-1]["name"] == "300"
    # the frame of update 300 holds that update's norms, in 4 significant digits, None for gaps
    g = frames[-1]["data"][0]["y"]
    np.testing.assert_allclose([v for v in g if v is not None],
                               [float(f"{v:.4g}") for v in runs[0].grad_norms[-1] if np.isfinite(v)], rtol=1e-3)
    assert d["data"][moving[2]]["mode"] == "markers"  # the loss marker
    # 3 rows × 4 columns of axes, fixed ranges shared along each row
    assert {k for k in d["layout"] if k.startswith("yaxis")} == {"yaxis"} | {f"yaxis{i}" for i in range(2, 13)}
    assert d["layout"]["yaxis"]["range"] == d["layout"]["yaxis4"]["range"]
    assert d["layout"]["yaxis5"]["type"] == "log"
    assert len(d["layout"]["sliders"][0]["steps"]) == len(frames)


def test_training_figure_marks_where_a_run_diverged():
    runs = _runs()
    d = V.training_figure(runs, Style()).to_dict()
    lines = [t for t in d["data"] if t.get("legendgroup") == "div"]
    assert len(lines) == 2  # the layer (row 1) and the update (row 3) of run 0
    assert list(lines[0]["x"]) == [8, 8] and lines[0]["xaxis"] == "x"
    assert list(lines[1]["x"]) == [40, 40] and lines[1]["xaxis"] == "x9"
    assert "diverged: update 40, layer 8" in d["layout"]["annotations"][0]["text"]
    assert "★" in d["layout"]["annotations"][0]["text"] and "★" not in d["layout"]["annotations"][1]["text"]


def test_training_figure_json_is_small_and_finite_for_the_largest_page_run():
    # depth 50 (51 layers), SGD on 600 examples for 50 epochs: 30,000 recorded updates, 4 runs
    runs = _runs(steps=30_000, layers=51)
    text = _json(V.training_figure(runs, Style()))
    assert len(text) < ONE_MB
    json.loads(text)
    assert "NaN" not in text and "Infinity" not in text


def test_history_figure_keeps_the_divergence_column_and_marks_it():
    runs = _runs(steps=1000)
    fig = V.history_figure(runs, Style(), max_columns=200)
    d = fig.to_dict()
    heat = [t for t in d["data"] if t["type"] == "heatmap"]
    assert len(heat) == 4 and all(t["coloraxis"] == "coloraxis" for t in heat)
    x0 = _arr(heat[0]["x"])
    assert 40 in x0 and len(x0) <= 201
    z0 = _arr(heat[0]["z"])
    assert z0.shape == (21, len(x0))
    col = list(x0).index(40)
    assert np.isnan(z0[7, col]) and np.isfinite(z0[6, col])  # overflow: a gap, not a colour
    mark = next(t for t in d["data"] if t.get("name") == "diverged")
    assert (list(mark["x"]), list(mark["y"])) == ([40], [8]) and mark["xaxis"] == "x"
    assert len(_json(V.history_figure(_runs(steps=30_000, layers=51), Style()))) < ONE_MB


def test_norms_table():
    runs = _runs(n_runs=2, steps=1000, layers=5)
    t = V.norms_table(runs, max_steps=100)
    assert len(t) == 2 * 100 * 5
    assert list(t.columns) == ["run", "update", "layer", "grad_norm", "weight_norm", "loss"]
    row = t[(t["run"] == "run 1") & (t["update"] == 1000) & (t["layer"] == 5)].iloc[0]
    assert row.grad_norm == runs[1].grad_norms[-1, 4]


def test_a_real_exploding_run_end_to_end():
    """A ReLU network with W = 10·randn (gradients ~1e12) and α = 1 overflows: the engine's
    (update, layer) reaches both figures, which stay finite JSON."""
    X, y = N.make_dataset("moons", 64, seed=0)
    params = N.init_mlp(0, N.mlp_sizes(10, 8), "naive", sigma=10.0)
    r = N.train(params, X, y, "gd", 5, 64, {"lr": 1.0}, 0, "relu")
    assert r.diverged_at is not None
    t, layer = r.diverged_at
    run = V.RunTrace("exploding", np.asarray(r.step), np.asarray(r.loss), np.asarray(r.grad_norms),
                     np.asarray(r.weight_norms), r.diverged_at, True)
    d = V.training_figure([run], Style()).to_dict()
    lines = [tr for tr in d["data"] if tr.get("legendgroup") == "div"]
    assert list(lines[0]["x"]) == [layer + 1] * 2 and list(lines[1]["x"]) == [t, t]
    for fig in (V.training_figure([run], Style()), V.history_figure([run], Style())):
        text = _json(fig)
        assert "NaN" not in text and "Infinity" not in text


def test_training_figure_keeps_a_log_loss_axis_when_a_loss_reaches_zero():
    runs = _runs(n_runs=2, steps=50, diverge=False)
    zero = runs[0].loss.copy()
    zero[10:] = 0.0  # an overflowed logit on the right side: J = 0 exactly in float32
    runs[0] = V.RunTrace("zero", runs[0].step, zero, runs[0].grad_norms, runs[0].weight_norms)
    d = V.training_figure(runs, Style()).to_dict()
    assert d["layout"]["yaxis5"]["type"] == d["layout"]["yaxis6"]["type"] == "log"
    assert d["layout"]["yaxis5"]["range"] == d["layout"]["yaxis6"]["range"]
    curve = next(t for t in d["data"] if t["yaxis"] == "y5" and t["mode"] == "lines")
    y = _arr(curve["y"])
    assert np.all(y > 0) and y[-1] == pytest.approx(min(zero[zero > 0].min(), runs[1].loss.min()))
    assert V.sci(float("nan")) == "overflow" and V.sci(3.2e-7) == "3e-07" and V.sci(0.5) == "0.5"
