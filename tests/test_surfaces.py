"""Analytic surfaces: minima, domains, metadata; the saddle; the ill-conditioned bowl."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim
from surfaces import SURFACES, ill_conditioned_bowl

NAMES = list(SURFACES)
GRID = 400


def _grid(s):
    (x0, x1), (y0, y1) = s.domain
    X, Y = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    return X, Y, np.asarray(s.fxy(jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32)))


def test_there_are_at_least_ten_surfaces():
    assert len(SURFACES) >= 10
    assert len({s.label for s in SURFACES.values()}) == len(SURFACES)


@pytest.mark.parametrize("name", NAMES)
def test_metadata_domain_and_start(name):
    s = SURFACES[name]
    assert s.name == name
    assert s.label.strip() and s.latex.strip()
    (x0, x1), (y0, y1) = s.domain
    assert all(math.isfinite(v) for v in (x0, x1, y0, y1))
    assert x0 < x1 and y0 < y1
    sx, sy = s.start
    assert x0 <= sx <= x1 and y0 <= sy <= y1
    for mx, my in s.minima:
        assert x0 <= mx <= x1 and y0 <= my <= y1
    # f on (2,) and fxy on grids agree, and are finite over the domain
    p = jnp.asarray(s.start, jnp.float32)
    assert np.isclose(float(s.f(p)), float(s.fxy(p[0], p[1])))
    assert np.all(np.isfinite(_grid(s)[2]))


@pytest.mark.parametrize("name", [n for n in NAMES if SURFACES[n].minima])
def test_gradient_vanishes_at_each_minimum(name):
    s = SURFACES[name]
    values = []
    for m in s.minima:
        p = jnp.asarray(m, jnp.float32)
        g = np.asarray(s.grad(p))
        # float32: the listed point is itself rounded, so allow the curvature times that rounding
        assert np.linalg.norm(g) < 1e-3 * max(1.0, abs(float(s.f(p)))), (m, g)
        values.append(float(s.f(p)))
    # they are all global minima: the same value
    np.testing.assert_allclose(values, values[0], rtol=1e-5, atol=1e-5)
    assert s.min_value == pytest.approx(values[0])


@pytest.mark.parametrize("name", [n for n in NAMES if SURFACES[n].minima])
def test_no_grid_point_is_below_the_minimum(name):
    s = SURFACES[name]
    _, _, Z = _grid(s)
    low = s.min_value
    assert Z.min() >= low - 1e-4 * max(1.0, abs(low)), (Z.min(), low)


@pytest.mark.parametrize("name", [n for n in NAMES if not SURFACES[n].minima])
def test_surfaces_without_minimum_are_lowest_on_the_border(name):
    """No listed minimum: the lowest grid point is on the domain's edge, not inside."""
    X, Y, Z = _grid(SURFACES[name])
    i, j = np.unravel_index(np.argmin(Z), Z.shape)
    assert i in (0, GRID - 1) or j in (0, GRID - 1)


def test_saddle_has_no_minimum_and_gd_leaves_it():
    s = SURFACES["saddle"]
    assert s.minima == () and s.min_value is None
    np.testing.assert_allclose(np.asarray(s.grad(jnp.zeros(2))), 0.0)
    traj = optim.run("gd", s.grad, s.start, 100, loss_fn=s.f, lr=0.1)
    params = np.asarray(traj.params)
    assert traj.diverged_at is None or traj.diverged_at > 0
    finite = params[np.all(np.isfinite(params), axis=1)]
    assert np.max(np.abs(finite[:, 1])) > 2.0  # left along y, out of the domain
    assert abs(finite[-1, 0]) < abs(params[0, 0])  # while x went to the saddle's x = 0
    assert float(traj.loss[-1]) < float(traj.loss[0])


@pytest.mark.parametrize("kappa", [1.0, 20.0, 137.5])
def test_ill_conditioned_bowl_curvatures(kappa):
    s = ill_conditioned_bowl(kappa)
    hessian = jax.jit(jax.hessian(s.f))  # jitted: one small compilation instead of many eager ops
    for p in ([0.0, 0.0], [1.3, -0.7]):
        H = np.asarray(hessian(jnp.asarray(p, jnp.float32)))
        np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(H)), [1.0, kappa], rtol=1e-6)
    assert s.minima == ((0.0, 0.0),) and s.min_value == 0.0
    assert f"{kappa:g}" in s.latex


@pytest.mark.parametrize("name", [n for n in NAMES if SURFACES[n].local_minima])
def test_local_minima_are_minima_above_the_global_one(name):
    s = SURFACES[name]
    hessian = jax.jit(jax.hessian(s.f))
    for m in s.local_minima:
        p = jnp.asarray(m, jnp.float32)
        (x0, x1), (y0, y1) = s.domain
        assert x0 <= m[0] <= x1 and y0 <= m[1] <= y1
        assert np.linalg.norm(np.asarray(s.grad(p))) < 1e-4, m
        assert np.all(np.linalg.eigvalsh(np.asarray(hessian(p), np.float64)) > 0), m
        assert float(s.f(p)) > s.min_value + 1e-3


def test_sharp_and_flat_minima():
    """The narrow pit at the origin is the global minimum, its largest curvature 120 + 20 (the
    Gaussian's 0.3 · 400, the valley's 20 across), 7× the wide minimum's (0.4 along, 20 across)."""
    s = SURFACES["sharp_flat"]
    hessian = jax.jit(jax.hessian(s.f))
    sharp, flat = s.minima[0], s.local_minima[0]
    lam_sharp = np.linalg.eigvalsh(np.asarray(hessian(jnp.asarray(sharp, jnp.float32)), np.float64))
    lam_flat = np.linalg.eigvalsh(np.asarray(hessian(jnp.asarray(flat, jnp.float32)), np.float64))
    np.testing.assert_allclose(lam_flat, [0.4, 20.0], rtol=1e-4)
    e = math.exp(-200 * sharp[0] ** 2)
    np.testing.assert_allclose(lam_sharp, [0.4 + 120 * e * (1 - 400 * sharp[0] ** 2), 20 + 120 * e], rtol=1e-4)
    assert lam_sharp[-1] / lam_flat[-1] > 6.9
    assert s.min_value == pytest.approx(0.2 * (sharp[0] - 0.8) ** 2 - 0.3 * e, abs=1e-6)
    assert float(s.f(jnp.asarray(flat))) == pytest.approx(0.0, abs=1e-6)
    # the pit is narrow: 0.15 from its centre it deepens the valley by less than 0.004
    for p in ([0.15, 0.0], [0.0, 0.15], [-0.15, 0.0]):
        valley = 0.2 * (p[0] - 0.8) ** 2 + 10 * p[1] ** 2
        assert 0 < valley - float(s.f(jnp.asarray(p))) < 0.004
