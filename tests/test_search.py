"""Sweeps and searches (optim/search.py): axes on their scales, every sweep cell equal to the
single run with its hyperparameters, chunks compiling once, reproducible trials, and random search
beating grid search where one hyperparameter matters much more than the other.

Compilations are the cost here (~1 s each): the tests share a few configurations."""

from __future__ import annotations

import numpy as np
import pytest

from lessons.tuning import LESSONS
from optim import OPTIMIZERS, run
from optim.runner import compile_count
from optim.search import (
    Axis,
    Outcomes,
    Sweep,
    best_so_far,
    chunk_bounds,
    compare_searches,
    evaluate,
    grid_trials,
    nearest_cell,
    random_trials,
    run_score_fn,
    scores,
    sweep,
)
from surfaces import SURFACES
from surfaces.data import make_model

BOWL = SURFACES["bowl"]
SWEEPABLE = [n for n, o in OPTIMIZERS.items() if len(o.hparams) >= 2]


# --- axes ------------------------------------------------------------------------------------------


def test_log_axis_is_log_spaced_with_both_ends():
    v = Axis("lr", 1e-4, 2.0, "log").values(9)
    assert v.dtype == np.float32
    assert v[0] == np.float32(1e-4) and v[-1] == np.float32(2.0)
    ratios = np.diff(np.log10(v.astype(np.float64)))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-5)
    assert np.all(np.diff(v) > 0)


def test_log1m_axis_is_spaced_in_log_of_one_minus_beta():
    v = Axis("beta", 0.9, 0.9999, "log1m").values(4)
    np.testing.assert_allclose(v, [0.9, 0.99, 0.999, 0.9999], rtol=1e-6)
    v = Axis("beta2", 0.5, 0.999, "log1m").values(33).astype(np.float64)
    gaps = np.diff(np.log10(1 - v))
    np.testing.assert_allclose(gaps, gaps[0], rtol=2e-3)  # float32 rounding of 1 − β near 0.999


def test_linear_axis_and_unit_round_trip():
    ax = Axis("weight_decay", 0.0, 0.5, "linear")
    np.testing.assert_allclose(ax.values(6), np.linspace(0, 0.5, 6), rtol=1e-6)
    for a in (Axis("lr", 1e-3, 1.0, "log"), Axis("beta", 0.0, 0.999, "log1m"), ax):
        u = np.linspace(0, 1, 7)
        np.testing.assert_allclose(a.to_unit(a.from_unit(u)), u, atol=1e-12)
        assert a.from_unit(0.0) == pytest.approx(a.low) and a.from_unit(1.0) == pytest.approx(a.high)


@pytest.mark.parametrize("name", sorted({h.name for o in OPTIMIZERS.values() for h in o.hparams}))
def test_every_registry_hyperparameter_makes_an_axis(name):
    hp = next(h for o in OPTIMIZERS.values() for h in o.hparams if h.name == name)
    v = Axis.of(hp).values(5)
    assert np.all(np.isfinite(v)) and np.all(np.diff(v) > 0)
    assert v[0] >= np.float32(hp.low) and v[-1] <= np.float32(hp.high)


@pytest.mark.parametrize("args, words", [
    (("lr", 0.0, 1.0, "log"), "log scale"), (("beta", 0.5, 1.0, "log1m"), "below 1"),
    (("lr", 1.0, 0.1, "log"), "low < high"), (("lr", 0.1, 1.0, "cubic"), "scale"),
    (("lr", float("nan"), 1.0, "log"), "low < high"),
])
def test_bad_axes_are_refused_with_a_reason(args, words):
    with pytest.raises(ValueError, match=words):
        Axis(*args)


# --- a sweep cell is the single run ---------------------------------------------------------------


def _single(opt, surface, steps, hp, target=None):
    tr = run(opt, surface.grad, surface.start, steps, loss_fn=surface.f, record=("loss",), **hp)
    loss = np.asarray(tr.loss)
    hit = np.flatnonzero(loss <= target) if target is not None else np.array([])
    return loss[-1], tr.diverged_at is not None, (float(hit[0]) if hit.size else np.nan)


@pytest.mark.parametrize("opt", SWEEPABLE)
def test_every_cell_equals_the_single_run_on_the_bowl(opt):
    """The same float32 hyperparameters, the same updates, vmapped or not: equal to float32
    rounding.  Not always bit for bit: LLVM contracts ``x·x + 20·y·y`` into a fused multiply-add
    in the single run's scalar code and not always in the vectorized code (one ulp, measured)."""
    h = OPTIMIZERS[opt].hparams
    ax, ay = Axis.of(h[0], 1e-3, 1.5), Axis.of(h[1])
    sw = sweep(opt, BOWL, BOWL.start, 40, ax.name, ay.name, ax.values(4), ay.values(3), tol=1e-2)
    assert sw.final.shape == (3, 4) and sw.diverged.shape == (3, 4)
    for j in range(3):
        for i in range(4):
            final, div, steps = _single(opt, BOWL, 40, {ax.name: float(sw.xs[i]), ay.name: float(sw.ys[j])}, 1e-2)
            np.testing.assert_allclose(sw.final[j, i], final, rtol=1e-6, atol=1e-6)
            assert sw.diverged[j, i] == div
            np.testing.assert_array_equal(sw.steps_to_tol[j, i], steps)
    if opt in ("momentum", "nesterov"):
        assert sw.diverged.any() and not sw.diverged.all()  # lr up to 1.5 on curvature 20: both kinds


def test_cells_equal_single_runs_on_a_data_model_and_on_rosenbrock():
    """On a data model's mean loss and on Rosenbrock, whose polynomial gradient rounds one ulp
    differently when fused (see above) and whose valley amplifies it, a short run matches to 1e-6."""
    line = make_model("linear").surface
    xs, ys = Axis("lr", 1e-3, 0.3, "log").values(3), Axis("beta", 0.0, 0.99, "log1m").values(3)
    sw = sweep("momentum", line, line.start, 30, "lr", "beta", xs, ys)
    for j, i in np.ndindex(3, 3):
        final, div, _ = _single("momentum", line, 30, {"lr": float(xs[i]), "beta": float(ys[j])})
        np.testing.assert_allclose(sw.final[j, i], final, rtol=1e-6)
        assert sw.diverged[j, i] == div
    rosen = SURFACES["rosenbrock"]
    xs, ys = Axis("lr", 1e-4, 1e-2, "log").values(3), Axis("beta1", 0.5, 0.99, "log1m").values(2)
    sw = sweep("adam", rosen, rosen.start, 15, "lr", "beta1", xs, ys)
    for j, i in np.ndindex(2, 3):
        final, _, _ = _single("adam", rosen, 15, {"lr": float(xs[i]), "beta1": float(ys[j])})
        np.testing.assert_allclose(sw.final[j, i], final, rtol=1e-6)


def test_fixed_hyperparameters_and_convention_reach_every_cell():
    xs, ys = Axis("lr", 1e-3, 0.1, "log").values(2), Axis("beta1", 0.5, 0.99, "log1m").values(2)
    sw = sweep("adam", BOWL, BOWL.start, 40, "lr", "beta1", xs, ys, {"beta2": 0.9, "eps": 1e-4},
               convention="pytorch")
    tr = run("adam", BOWL.grad, BOWL.start, 40, loss_fn=BOWL.f, record=("loss",), convention="pytorch",
             lr=float(xs[1]), beta1=float(ys[0]), beta2=0.9, eps=1e-4)
    np.testing.assert_allclose(sw.final[0, 1], np.asarray(tr.loss)[-1], rtol=1e-6)


def test_chunks_compile_once_and_give_the_one_call_sweep():
    xs, ys = Axis("lr", 1e-3, 1.5, "log").values(8), Axis("beta", 0.0, 0.999, "log1m").values(5)
    whole = sweep("momentum", BOWL, BOWL.start, 40, "lr", "beta", xs, ys, tol=1e-2)
    seen = []
    before = compile_count()
    parts = sweep("momentum", BOWL, BOWL.start, 40, "lr", "beta", xs, ys, tol=1e-2, chunk=16,
                  on_progress=lambda done, total: seen.append((done, total)))
    assert compile_count() - before <= 1  # 40 runs in 3 padded calls of 16: one shape
    assert seen == [(16, 40), (32, 40), (40, 40)]
    for f in ("final", "diverged", "steps_to_tol"):
        np.testing.assert_array_equal(getattr(whole, f), getattr(parts, f))
    before = compile_count()
    sweep("momentum", BOWL, BOWL.start, 40, "lr", "beta", xs * 0.5, ys * 0.9, tol=1e-2, chunk=16)
    assert compile_count() == before  # new values, same shapes: no compilation


def test_chunk_bounds_cover_every_run_once():
    for n, size in ((40, 16), (16, 16), (5, None), (1024, 1024), (3, 1)):
        b = chunk_bounds(n, size)
        assert b[0][0] == 0 and b[-1][1] == n
        assert all(a1 == b0 for (_, a1), (b0, _) in zip(b, b[1:]))


def test_best_cell_and_nearest_cell():
    final = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, 0.1]], np.float32)
    diverged = np.array([[False, False, False], [False, False, True]])
    steps = np.array([[np.nan, 7, 9], [7, np.nan, 1]], np.float32)
    sw = Sweep("lr", "beta", np.array([1e-3, 1e-2, 1e-1], np.float32), np.array([0.9, 0.99], np.float32),
               final, diverged, steps)
    assert sw.best("final") == (1, 0)  # 0.1 diverged
    assert sw.best("steps") == (1, 0)  # 7 steps twice (1 step diverged): the tie goes to the lower final loss
    ax, ay = Axis("lr", 1e-3, 1e-1, "log"), Axis("beta", 0.9, 0.99, "log1m")
    assert nearest_cell(ax, ay, sw.xs, sw.ys, 0.02, 0.985) == (1, 1)
    assert nearest_cell(ax, ay, sw.xs, sw.ys, 1e-9, 0.0) == (0, 0)
    assert Sweep("lr", "beta", sw.xs, sw.ys, final, np.ones_like(diverged), steps).best() is None


def test_evaluate_reports_divergence_and_steps_to_tolerance():
    out = evaluate("gd", BOWL, BOWL.start, 50, {"lr": [0.01, 0.09, 0.2]}, target=1e-3)
    assert isinstance(out, Outcomes)
    assert out.diverged.tolist() == [False, False, True]  # stable below 2 / κ = 0.1
    assert np.isnan(out.steps_to_tol[0]) and out.steps_to_tol[1] > 0


# --- grid search against random search -------------------------------------------------------------


@pytest.mark.parametrize("budget", [4, 9, 16, 25])
def test_trials_lie_in_the_box_and_are_reproducible_per_seed(budget):
    for shift in (True, False):
        g = grid_trials(budget, 3, shift)
        assert g.shape == (budget, 2) and np.all((g >= 0) & (g <= 1))
        np.testing.assert_array_equal(g, grid_trials(budget, 3, shift))
        k = int(np.sqrt(budget))
        assert len(np.unique(g[:, 0])) == k and len(np.unique(g[:, 1])) == k  # k values per axis
    r = random_trials(budget, 3)
    assert r.shape == (budget, 2) and np.all((r >= 0) & (r < 1))
    np.testing.assert_array_equal(r, random_trials(budget, 3))
    assert not np.array_equal(r, random_trials(budget, 4))
    assert len(np.unique(r[:, 0])) == budget  # k² values of each hyperparameter
    assert not np.array_equal(grid_trials(budget, 3), grid_trials(budget, 4))


def test_unshifted_grid_is_the_cell_centres_in_any_order():
    g = grid_trials(9, 0, shift=False)
    centres = (1 / 6, 0.5, 5 / 6)
    assert sorted(map(tuple, np.round(g, 12))) == sorted((round(a, 12), round(b, 12)) for a in centres for b in centres)


def test_grid_needs_a_square_budget():
    with pytest.raises(ValueError, match="square"):
        grid_trials(10, 0)


def test_scores_and_best_so_far():
    out = Outcomes(np.array([3.0, 1.0, 2.0, 0.5], np.float32), np.array([False, False, False, True]),
                   np.full(4, np.nan))
    s = scores(out, f_star=0.5)
    np.testing.assert_array_equal(s, [2.5, 0.5, 1.5, np.inf])
    np.testing.assert_array_equal(best_so_far(s), [2.5, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(best_so_far(np.array([[np.inf, 2, 3]])), [[np.inf, 2, 2]])


def test_compare_searches_on_a_separable_function():
    """f(a, b) = (a − 0.37)² + 0.001 (b − 0.5)²: random search's best a is closer (k² distinct values)."""
    cmp = compare_searches(lambda u: (u[:, 0] - 0.37) ** 2 + 1e-3 * (u[:, 1] - 0.5) ** 2, 16, range(50))
    assert cmp.grid_u.shape == cmp.random_u.shape == (50, 16, 2)
    assert np.all(np.diff(cmp.random_best, axis=1) <= 0)
    g, r = cmp.medians()
    assert r < g and cmp.random_wins() > 0.5


@pytest.fixture(scope="module")
def classic():
    """The tuning lesson's case (lessons/tuning.py): RMSprop on the bowl, α × ε."""
    v = LESSONS["classic"].settings
    hps = {h.name: h for h in OPTIMIZERS[v["opt"]].hparams}
    c = {"optimizer": v["opt"], "steps": v["steps"], "x": Axis.of(hps[v["hx"]], v["xlo"], v["xhi"]),
         "y": Axis.of(hps[v["hy"]], v["ylo"], v["yhi"])}
    s = SURFACES[v["surface"]]
    return c, s, run_score_fn(c["optimizer"], s, s.start, c["steps"], c["x"], c["y"])


def test_in_the_classic_case_one_hyperparameter_matters_much_more(classic):
    c, s, _ = classic
    ax, ay = c["x"], c["y"]
    sw = sweep(c["optimizer"], s, s.start, c["steps"], ax.name, ay.name, ax.values(32), ay.values(32))
    lg = np.log10(np.maximum(sw.final.astype(np.float64) - s.min_value, 1e-12))
    along_x = np.median(lg.max(axis=1) - lg.min(axis=1))
    along_y = np.median(lg.max(axis=0) - lg.min(axis=0))
    assert along_x > 3 and along_y < 0.1 * along_x


@pytest.mark.parametrize("budget", [9, 16, 25])
@pytest.mark.parametrize("shift", [True, False])
def test_random_search_median_beats_grid_search_over_50_seeds(classic, budget, shift):
    c, s, score = classic
    cmp = compare_searches(score, budget, range(50), shift)
    g, r = cmp.medians()
    assert r < g, (budget, shift, g, r)
    assert r < 0.8 * g  # by a margin, not by a hair
