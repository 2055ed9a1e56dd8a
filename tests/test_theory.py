"""optim.theory against the rules it describes: the recurrence matrices against one step of each
rule, the predicted rates against measured runs on bowls of κ = 2, 10, 100, the stability limits
at 0.98× and 1.02×, the optimal settings against perturbations and a brute-force search, and the
local quadratic model of the surfaces."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from optim import OPTIMIZERS, run
from optim import theory as T
from surfaces import SURFACES
from surfaces.analytic import ill_conditioned_bowl

KAPPAS = (2.0, 10.0, 100.0)
STEPS = 8000


def distance(tr) -> np.ndarray:
    return np.linalg.norm(np.asarray(tr.params, np.float64), axis=1)


def measured(name, kappa, hp, steps=STEPS):
    s = ill_conditioned_bowl(kappa)
    tr = run(name, s.grad, s.start, steps, loss_fn=s.f, record=("params", "loss"), **hp)
    d = distance(tr)
    return T.measured_rate(d, 1e-30 * d[0]), tr


def rule_matrix(opt, hp, lam) -> np.ndarray:
    """The matrix of one step of ``opt`` on f = ½ λ w², built by stepping from the basis states
    (x, v) = (1, 0) and (0, 1) (GD: x alone)."""
    cols = []
    for x, v in ((1.0, 0.0),) if opt.name == "gd" else ((1.0, 0.0), (0.0, 1.0)):
        state = opt.init(jnp.float32(x))
        if opt.name != "gd":
            state = state._replace(v=jnp.float32(v))
        x1, st1 = opt.step(lambda w: lam * w, jnp.float32(x), state, hp)
        cols.append([float(x1)] + ([] if opt.name == "gd" else [float(st1.v)]))
    return np.array(cols).T


@pytest.mark.parametrize("name", T.THEORY)
@pytest.mark.parametrize("convention", ["course", "pytorch"])
def test_the_recurrence_is_one_step_of_the_rule(name, convention):
    """The course's form: the very matrix of a step.  PyTorch's (``v := βv + dW``): another state
    (its buffer, and for Nesterov the look-ahead point), the same eigenvalues once α is converted."""
    opt = OPTIMIZERS[name] if name == "gd" else OPTIMIZERS[name].with_options(convention=convention)
    rng = np.random.default_rng(0)
    for _ in range(5):
        lam, lr, beta = rng.uniform(0.1, 5), rng.uniform(0.01, 0.5), rng.uniform(0, 0.95)
        hp = {"lr": lr} if name == "gd" else {"lr": lr, "beta": beta}
        got = rule_matrix(opt, hp, lam)
        want = T.recurrence(name, T.course_hp(name, hp, convention), lam)
        if convention == "course" or name == "gd":
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(got)),
                                       np.sort_complex(np.linalg.eigvals(want)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", T.THEORY)
def test_rate_is_the_spectral_radius_of_the_recurrence(name):
    for lam in (0.1, 1.0, 7.0, 30.0):
        for lr, beta in ((0.01, 0.5), (0.2, 0.9), (0.05, 0.0), (0.5, 0.99)):
            hp = {"lr": lr, "beta": beta}
            want = max(abs(np.linalg.eigvals(T.recurrence(name, hp, lam))))
            assert T.rate(name, hp, lam) == pytest.approx(want, rel=1e-9)


def settings(name, kappa):
    """Several (α, β) per rule: fractions of the stability limit, β of 0.5 and 0.9."""
    out = []
    for beta in ((0.0,) if name == "gd" else (0.5, 0.9)):
        lim = T.stability_limit(name, kappa, beta)
        out += [{"lr": f * lim, "beta": beta} for f in (0.2, 0.6, 0.9)]
    return [{"lr": h["lr"]} if name == "gd" else h for h in out]


@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("name", T.THEORY)
def test_measured_rates_match_the_predicted_ones(name, kappa):
    for hp in settings(name, kappa):
        want = T.worst_rate(name, hp, 1.0, kappa)
        got, tr = measured(name, kappa, hp)
        assert tr.diverged_at is None
        assert got == pytest.approx(want, rel=0.05), hp
        # stricter: the exponent (steps per decade) within 5 % too
        assert math.log(got) == pytest.approx(math.log(want), rel=0.05), (hp, got, want)


@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("name", T.THEORY)
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_the_stability_limit_splits_converging_from_diverging(name, kappa, beta):
    if name == "gd" and beta:
        return
    lim = T.stability_limit(name, kappa, beta)
    hp = lambda f: {"lr": f * lim} if name == "gd" else {"lr": f * lim, "beta": beta}  # noqa: E731
    s = ill_conditioned_bowl(kappa)
    H, x0 = np.diag([1.0, kappa]), np.asarray(s.start, np.float64)
    below, above = T.worst_rate(name, hp(0.98), 1, kappa), T.worst_rate(name, hp(1.02), 1, kappa)
    assert below < 1 < above
    steps = T.predicted_overflow(name, hp(1.02), H, x0, 100_000)
    assert steps is not None
    _, tr = measured(name, kappa, hp(1.02), steps + 50)
    assert tr.diverged_at is not None
    # the theory's path names the step of the overflow
    assert abs(tr.diverged_at - steps) <= max(2, 0.02 * steps), (tr.diverged_at, steps)
    _, tr = measured(name, kappa, hp(0.98), steps + 50)
    d = distance(tr)
    assert tr.diverged_at is None and d[-1] < 0.5 * d[0]
    assert T.predicted_overflow(name, hp(0.98), H, x0, steps + 50) is None


@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("name", T.THEORY)
def test_the_optimal_setting_beats_every_perturbation(name, kappa):
    o = T.optimal(name, 1.0, kappa)
    best = {"lr": o.lr} if name == "gd" else {"lr": o.lr, "beta": o.beta}
    got, _ = measured(name, kappa, best, 3000)
    assert got == pytest.approx(o.rate, rel=0.05)
    keys = ("lr",) if name == "gd" else ("lr", "beta")
    for key in keys:
        for f in (0.9, 1.1):
            hp = {**best, key: best[key] * f}
            assert T.worst_rate(name, hp, 1.0, kappa) > o.rate
            worse, _ = measured(name, kappa, hp, 3000)
            assert worse > got, (key, f, worse, got)


@pytest.mark.parametrize("kappa", KAPPAS + (1000.0,))
@pytest.mark.parametrize("name", T.THEORY)
def test_the_optimal_formulas_match_a_brute_force_search(name, kappa):
    o = T.optimal(name, 1.0, kappa)
    assert T.worst_rate(name, {"lr": o.lr, "beta": o.beta}, 1.0, kappa) == pytest.approx(o.rate, rel=1e-6)
    coarse = T.best_on_grid(name, 1.0, kappa, np.geomspace(1e-4, 10, 400), np.linspace(0, 0.999, 400))
    lrs = np.geomspace(coarse.lr / 1.1, coarse.lr * 1.1, 801)
    betas = np.linspace(max(0.0, coarse.beta - 0.01), min(0.9999, coarse.beta + 0.01), 801)
    fine = T.best_on_grid(name, 1.0, kappa, lrs, betas)
    assert fine.rate >= o.rate - 1e-9  # nothing on the grid beats the formula
    assert fine.rate == pytest.approx(o.rate, abs=2e-3)
    assert fine.lr == pytest.approx(o.lr, rel=0.01)
    assert fine.beta == pytest.approx(o.beta, abs=0.01)
    assert o.rate >= T.lower_bound(1.0, kappa) - 1e-12
    if name == "momentum":
        assert o.rate == pytest.approx(T.lower_bound(1.0, kappa))


def test_the_heavy_ball_limit_is_the_courses_momentum_with_step_alpha_one_minus_beta():
    beta, L = 0.9, 10.0
    lim = T.stability_limit("momentum", L, beta)
    assert lim * (1 - beta) * L == pytest.approx(2 + 2 * beta)
    assert T.stability_limit("gd", L) == pytest.approx(T.stability_limit("momentum", L, 0.0))


def test_the_local_model_of_the_bowl_and_of_rosenbrock():
    m = T.local_model(ill_conditioned_bowl(20.0).f, (0.3, -0.2))
    assert m.eigvals == pytest.approx([1.0, 20.0], rel=1e-5) and m.kappa == pytest.approx(20.0, rel=1e-5)
    assert abs(m.eigvecs[1, 1]) == pytest.approx(1.0) and not m.saddle
    r = SURFACES["rosenbrock"]
    m = T.local_model(r.f, r.minima[0])
    # H = [[802, −400], [−400, 200]] at (1, 1)
    assert m.hessian == pytest.approx(np.array([[802.0, -400.0], [-400.0, 200.0]]), rel=1e-4)
    assert m.kappa == pytest.approx(m.L / m.mu) and m.kappa > 2000
    assert T.local_model(SURFACES["saddle"].f, (0.5, 0.5)).saddle
    assert T.is_quadratic(ill_conditioned_bowl(20.0).f, [(0, 0), (1, 2), (-3, 1)])
    assert T.is_quadratic(SURFACES["booth"].f, [(0, 0), (1, 2), (-3, 1)])
    assert not T.is_quadratic(r.f, [(0, 0), (1, 2), (-3, 1)])


def test_the_envelope_lies_on_the_runs_tail():
    rho = 0.9
    d = 3 * rho ** np.arange(100) * (1 + 0.5 * np.cos(np.arange(100)))
    c, env = T.envelope(rho, d, 50, 100)
    assert np.all(env[50:] >= d[50:] * (1 - 1e-12)) and np.any(np.isclose(env[50:], d[50:]))


@pytest.mark.parametrize("name", T.THEORY)
def test_the_regions_of_the_map_are_what_runs_do(name):
    """A 1-D quadratic run at a grid of (αλ, β): in the monotone region the error keeps its sign
    over the second half of its measurable steps, in the oscillating one it changes sign, in the diverging one
    it grows (or the run stops)."""
    lam, steps = 2.0, 3000
    seen = set()
    for s in [*np.geomspace(0.01, 20, 15), 1.5, 1.9]:
        for beta in ((0.0,) if name == "gd" else (0.0, 0.5, 0.9, 0.99)):
            region = int(T.region_at(name, s, beta))
            hp = {"lr": s / lam} if name == "gd" else {"lr": s / lam, "beta": beta}
            tr = run(name, lambda w: lam * w, np.array([1.0], np.float32), steps, record=("params",), **hp)
            x = np.asarray(tr.params, np.float64)[:, 0]
            rho = float(T.rate_at(name, s, beta))
            if region == T.DIVERGING:
                assert tr.diverged_at is not None or abs(x[-1]) > abs(x[0]) or rho < 1 + 1e-6, (s, beta)
                continue
            n = T.usable_steps(np.abs(x), 1e-30)  # float32 underflow ends the signal
            tail = x[n // 2: n]
            if len(tail) < 8:
                continue
            flips = int(np.sum(np.sign(tail[1:]) != np.sign(tail[:-1])))
            assert (flips == 0) if region == T.MONOTONE else (flips > 0), (s, beta, region, flips)
            seen.add(region)
    assert seen == {T.MONOTONE, T.OSCILLATING}
