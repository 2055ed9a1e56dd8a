"""The data page's logic and figures, without Streamlit: the epoch clock, the pseudo-code, the
fits, the figure's frames, size and finiteness, the loss curves and the tables."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_finite_json, fig_json

from optim import OPTIMIZERS
from surfaces.data import make_model
from viz.data import (
    BATCH_CHOICES,
    BATCH_COLORS,
    MAX_PATH_POINTS,
    UPDATES,
    BatchRun,
    batch_size_of,
    code_text,
    data_race_figure,
    epoch_frames,
    fit_line,
    head_steps,
    loss_curves_figure,
    loss_sample_steps,
    mean_losses,
    minibatch_rows,
    n_batches,
    pseudo_code,
    resolve_batches,
    runs_table,
    summary_table,
    update_lines,
)
from viz.style import Style
from viz.surface import make_grid, surface_image


def _run(key, m, epochs, seed=0, diverge_at=None, with_rows=False, model=None):
    """A synthetic run of the right shape: a random walk from the start towards the optimum."""
    b = batch_size_of(key, m)
    steps = epochs * n_batches(m, b)
    rng = np.random.default_rng(seed)
    start, end = (np.asarray(model.surface.start), model.optimum) if model else (np.zeros(2), np.ones(2))
    t = np.linspace(0, 1, steps + 1)[:, None]
    path = (start + (1 - np.exp(-5 * t)) * (end - start) + 0.05 * rng.normal(size=(steps + 1, 2))).astype(np.float32)
    end_step = steps
    if diverge_at is not None:
        path[diverge_at:] = np.nan
        end_step = diverge_at - 1
    ls = loss_sample_steps(steps, n_batches(m, b))
    loss = (1.0 + np.exp(-ls / max(steps, 1) * 5)).astype(np.float32)
    if diverge_at is not None:
        loss[ls >= diverge_at] = np.inf
    rows = minibatch_rows(seed, m, b, epochs) if with_rows else None
    return BatchRun(key, b, m, path, np.full(steps, 0.05, np.float32), ls, loss, 1e-3 * (1 + steps / 1e4),
                    end_step, "diverged" if diverge_at else "", rows)


@pytest.fixture(scope="module")
def small():
    model = make_model("linear", m=100, noise=1.0, seed=0)
    uri = surface_image(make_grid(model.surface.f, model.surface.domain, 60), False)
    runs = [_run(k, 100, 5, i, model=model, with_rows=k == "16") for i, k in enumerate(("1", "16", "m"))]
    return model, uri, runs


# --- runs and the epoch clock ----------------------------------------------------------------------


def test_batch_sizes_labels_and_colours():
    assert [batch_size_of(c, 50) for c in BATCH_CHOICES] == [1, 16, 32, 50, 50, 50]
    assert [n_batches(200, b) for b in (1, 16, 32, 200, 500)] == [200, 13, 7, 1, 1]
    assert set(BATCH_COLORS) == set(BATCH_CHOICES) and len(set(BATCH_COLORS.values())) == len(BATCH_COLORS)
    keys, note = resolve_batches(["1", "32", "m"], 200)
    assert keys == ["1", "32", "m"] and note is None


def test_a_batch_larger_than_m_is_batch_gd_and_shown_once():
    keys, note = resolve_batches(["1", "64", "128", "m"], 50)
    assert keys == ["1", "64"]  # 64, 128 and m are all the whole set: one run
    assert "64 and 128" in note and "batch GD" in note and "m = 50" in note
    keys, note = resolve_batches(["128"], 100)
    assert keys == ["128"] and "batch GD" in note


@pytest.mark.parametrize("epochs,max_nb", [(1, 200), (3, 7), (10, 200), (10, 1), (50, 5000), (200, 3)])
def test_frames_step_through_epochs_and_include_every_epoch_end(epochs, max_nb):
    f = epoch_frames(epochs, max_nb, max_frames=120)
    assert f[0] == 0 and f[-1] == epochs and np.all(np.diff(f) > 0)
    assert len(f) <= 121
    if epochs <= 120:
        assert set(range(epochs + 1)) <= set(np.round(f, 9))  # every epoch's end is a frame
        per = len(f) // epochs
        assert per <= max(1, max_nb)  # never more frames per epoch than updates of the busiest run


def test_each_head_stands_at_the_update_reached_at_that_point_of_the_epochs():
    m, epochs = 100, 4
    runs = [_run(k, m, epochs) for k in ("1", "16", "m")]
    f = epoch_frames(epochs, 100)
    for r in runs:
        h = head_steps(r, f)
        assert h[0] == 0 and h[-1] == r.steps and np.all(np.diff(h) >= 0)
        for e in range(epochs + 1):  # at a whole epoch e, a run has made e · ⌈m / b⌉ updates
            assert h[np.argmin(np.abs(f - e))] == e * r.n_batches
    sgd, gd = runs[0], runs[2]
    assert head_steps(sgd, np.array([0.5]))[0] == 50 and head_steps(gd, np.array([0.5]))[0] == 0
    diverged = _run("1", m, epochs, diverge_at=150)
    assert head_steps(diverged, f).max() == 149


def test_loss_is_sampled_at_every_update_of_small_runs_and_at_every_epoch_end_of_big_ones():
    np.testing.assert_array_equal(loss_sample_steps(70, 7), np.arange(71))
    s = loss_sample_steps(100_000, 5000)
    assert s[0] == 0 and s[-1] == 100_000 and len(s) <= 1500 + 21
    assert set(range(0, 100_001, 5000)) <= set(s)
    assert {1, 2, 3} <= set(s)  # the start is dense, for the log axis


# --- pseudo-code --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_registered_optimizer_has_its_update_in_the_pseudo_code(name):
    assert name in UPDATES, "add the rule's plain-text update to viz.data.UPDATES"
    for conv in OPTIMIZERS[name].conventions:
        lines = update_lines(name, conv)
        assert lines and lines[-1].startswith("W := ")
    if "pytorch" in OPTIMIZERS[name].conventions:
        assert update_lines(name, "pytorch") != update_lines(name, "course")
    assert update_lines("no-such-rule", label="Mystery")[0].startswith("W := Mystery")


@pytest.mark.parametrize("batch,words", [(1, ["SGD", "shuffle", "for i in range(100)", "x[i]"]),
                                         (16, ["mini-batch", "shuffle", "for t in range(7)", "next 16 (last 4)"]),
                                         (100, ["batch GD", "∇L(W; X, y)"])])
def test_the_pseudo_code_of_each_variant(batch, words):
    code = pseudo_code(batch, 100, 5, update_lines("adam"))
    text = "\n".join(code.lines)
    for w in words:
        assert w in text
    assert code.lines[code.epoch_line].startswith("for epoch in range(5)")
    assert ("shuffle" in text) == (batch < 100)
    assert (code.inner_line is None) == (batch == 100)
    assert code.lines[-1].strip() == "W := W − α·v̂ / √(ŝ + ε)"


def test_the_code_shows_the_current_epoch_and_mini_batch():
    run = _run("16", 100, 5, with_rows=True)
    code = pseudo_code(16, 100, 5, update_lines("gd"))
    assert "not started" in code_text(code, run, 0)[code.epoch_line]
    text = code_text(code, run, 7 + 3)  # update 10: epoch 2, mini-batch t = 2
    assert "epoch 2 of 5" in text[code.epoch_line] and "t = 2" in text[code.inner_line]
    assert "update 10 of 35" in text[-1]
    sgd = _run("1", 100, 5, with_rows=True)
    code = pseudo_code(1, 100, 5, update_lines("gd"))
    text = code_text(code, sgd, 101)
    assert "epoch 2 of 5" in text[code.epoch_line]
    assert f"i = 0: example #{sgd.rows[100, 0]}" in text[code.inner_line]


# --- the data panel --------------------------------------------------------------------------------------


def test_the_fit_is_the_line_or_the_decision_boundary():
    box = ((-2.0, 2.0), (-5.0, 5.0))
    xs, ys = fit_line("linear", [2.0, -1.0], box)
    assert xs == [-2.0, 2.0] and ys == [-5.0, 3.0]
    xs, ys = fit_line("logistic", [1.0, 2.0], box)
    d = np.array([xs[1] - xs[0], ys[1] - ys[0]])
    assert abs(d @ np.array([1.0, 2.0])) < 1e-9  # orthogonal to w
    assert abs(xs[0] + xs[1]) < 1e-9 and abs(ys[0] + ys[1]) < 1e-9  # through the origin
    assert np.hypot(*d) > 2 * np.hypot(4, 10)  # longer than the box: it crosses the whole panel
    assert fit_line("logistic", [0.0, 0.0], box) == ([0.0, 0.0], [0.0, 0.0])
    assert all(np.isfinite(fit_line("linear", [np.nan, np.inf], box)[1]))


# --- the animated figure ----------------------------------------------------------------------------------


def test_frames_carry_only_what_moves(small):
    model, uri, runs = small
    code = pseudo_code(16, 100, 5, update_lines("gd"))
    fig = data_race_figure(model, uri, runs, runs[1], code, Style())
    f = epoch_frames(5, 100)
    assert len(fig.frames) == len(f) <= 121
    moving = list(fig.frames[0].traces)
    names = [fig.data[i].name for i in moving]
    assert names == ["heads", "fit 1", "fit 16", "fit m", "current mini-batch", "code"]
    for fr in fig.frames:
        assert list(fr.traces) == moving and len(fr.data) == len(moving)
    assert len(fig.layout.images) == 1 and not any(t.type in ("contour", "heatmap") for t in fig.data)
    slider = fig.layout.sliders[0]
    assert slider.currentvalue.prefix == "epoch " and slider.steps[-1].label == "5.00"
    assert [fr.name for fr in fig.frames] == [s.args[0][0] for s in slider.steps]


def test_the_loss_has_a_colour_bar_under_its_panel(small):
    model, uri, runs = small
    fig = data_race_figure(model, uri, runs, runs[1], pseudo_code(16, 100, 5, update_lines("gd")), Style())
    (bar,) = [t for t in fig.data if t.marker is not None and t.marker.showscale]
    cb = bar.marker.colorbar
    lo, hi = fig.layout.xaxis.domain
    assert cb.orientation == "h" and lo < cb.x < hi and cb.title.text == "L"  # under the loss, not the data
    assert cb.y < 0 and (bar.marker.cmin, bar.marker.cmax) == (uri.scale.lo, uri.scale.hi)
    assert fig.layout.sliders[0].pad.t > fig.layout.updatemenus[0].pad.t


def test_heads_fits_and_mini_batch_follow_the_runs(small):
    model, uri, runs = small
    code = pseudo_code(16, 100, 5, update_lines("gd"))
    fig = data_race_figure(model, uri, runs, runs[1], code, Style())
    f = epoch_frames(5, 100)
    i = int(np.argmin(np.abs(f - 2.5)))
    fr = fig.frames[i].data
    for j, r in enumerate(runs):  # comet heads: the last of each run's 21 points
        k = head_steps(r, f)[i]
        np.testing.assert_allclose([fr[0].x[21 * j + 20], fr[0].y[21 * j + 20]], r.path[k], rtol=1e-6)
        w = r.path[k]
        np.testing.assert_allclose(fr[1 + j].y, [w[0] * fr[1 + j].x[0] + w[1], w[0] * fr[1 + j].x[1] + w[1]],
                                   rtol=1e-5)
    k = head_steps(runs[1], f)[i]
    ex = runs[1].rows[k - 1]
    np.testing.assert_allclose(sorted(fr[4].x), sorted(model.X[ex[ex >= 0]]))
    assert f"update {k} of 35" in fr[5].text[-1]
    assert len(fig.frames[0].data[4].x) == 0  # nothing is highlighted before the first update


def test_colours_are_one_per_batch_size_in_every_figure(small):
    model, uri, runs = small
    fig = data_race_figure(model, uri, runs, runs[0], pseudo_code(1, 100, 5, ("W := W − α·dW",)), Style())
    loss = loss_curves_figure(runs, 0.5, Style())
    for r in runs:
        assert r.color == BATCH_COLORS[r.key]
        assert {t.line.color for t in fig.data if t.legendgroup == r.key} == {r.color}
        assert {t.line.color for t in loss.data if t.legendgroup == r.key} == {r.color}
    heads = fig.data[fig.frames[0].traces[0]]
    assert list(heads.marker.color) == [r.color for r in runs for _ in range(21)]


def test_the_worst_case_figure_is_under_one_megabyte():
    """Logistic, 5,000 examples, every batch size, 20 epochs: SGD alone is 100,000 updates."""
    model = make_model("logistic", m=5000, noise=1.0, seed=0)
    uri = surface_image(make_grid(model.surface.f, model.surface.domain, 60), False)
    runs = [_run(k, 5000, 20, i, model=model, with_rows=k == "128") for i, k in enumerate(BATCH_CHOICES)]
    code = pseudo_code(128, 5000, 20, update_lines("adam"))
    fig = data_race_figure(model, uri, runs, runs[4], code, Style())
    text = fig_json(fig)
    assert len(text) < 1_000_000, f"{len(text) / 1e6:.2f} MB"
    assert "NaN" not in text and "Infinity" not in text
    paths = [t for t in fig.data if t.mode == "lines" and t.xaxis in (None, "x") and t.legendgroup]
    assert len(paths) == 6 and max(len(t.x) for t in paths) <= MAX_PATH_POINTS + 1
    assert len(fig.frames) <= 121
    assert len(fig_json(loss_curves_figure(runs, 0.3, Style()))) < 1_000_000


def test_all_numbers_are_finite_when_a_run_diverges(small):
    model, uri, _ = small
    runs = [_run("1", 100, 5, diverge_at=120, model=model), _run("m", 100, 5, model=model)]
    for fig in (data_race_figure(model, uri, runs, runs[0], pseudo_code(1, 100, 5, ("W := W − α·dW",)), Style()),
                loss_curves_figure(runs, 0.5, Style())):
        text = fig_json(fig)
        assert "NaN" not in text and "Infinity" not in text
        assert_finite_json(text)
    assert any("diverged" in (t.name or "") for t in data_race_figure(model, uri, runs, None, None, Style()).data)


# --- loss curves and tables ------------------------------------------------------------------------------


def test_loss_curves_per_update_and_per_epoch_with_the_time(small):
    _, _, runs = small
    fig = loss_curves_figure(runs, 0.5, Style())
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    left = [t for t in fig.data if t.showlegend is not False]
    assert len(left) == 3 and all(" updates, " in t.name and t.name.endswith("ms") for t in left)
    right = [t for t in fig.data if t.xaxis == "x2"]
    for t, r in zip(right, runs, strict=True):  # per epoch: update k is at epoch k / ⌈m / b⌉
        np.testing.assert_allclose(t.x, r.loss_steps / r.n_batches, rtol=1e-6)
    assert min(t.x[0] for t in left) >= 1  # nothing at update 0 on the log axis
    assert loss_curves_figure(runs, 0.5, Style(), log=False).layout.yaxis.type in (None, "linear", "-")


def test_summary_table_measures_time_and_speed(small):
    _, _, runs = small
    df = summary_table(runs, 0.9, 0.5)
    assert list(df["run"]) == [r.label for r in runs]
    assert list(df["updates"]) == [500, 35, 5] and list(df["updates per epoch"]) == [100, 7, 1]
    np.testing.assert_allclose(df["time (ms)"], [r.seconds * 1e3 for r in runs], rtol=1e-2)
    np.testing.assert_allclose(df["updates per second"], [r.steps / r.seconds for r in runs], rtol=1e-2)
    assert (df["epochs to target"].dropna() <= 5).all()


def test_runs_table_has_every_update_its_epoch_and_the_sampled_loss(small):
    _, _, runs = small
    df = runs_table(runs)
    assert len(df) == sum(r.steps + 1 for r in runs)
    assert {"run", "step", "epoch", "x", "y", "loss", "lr"} <= set(df.columns)
    sgd = df[df["run"] == runs[0].label]
    np.testing.assert_allclose(sgd["epoch"], np.arange(501) / 100)
    assert sgd["loss"].notna().sum() == len(runs[0].loss_steps)


def test_mean_losses_is_the_full_batch_loss():
    model = make_model("logistic", m=300, noise=1.0, seed=5)
    P = np.random.default_rng(0).normal(size=(2500, 2)).astype(np.float32)  # more than one chunk
    np.testing.assert_allclose(mean_losses(model, P), np.asarray(model.surface.f(P)), rtol=1e-5)
    assert mean_losses(model, np.zeros((0, 2))).shape == (0,)
