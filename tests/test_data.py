"""Synthetic data sets and their 2-parameter models."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import optim
from surfaces.data import MAX_EXAMPLES, MODELS, make_model


def test_linear_optimum_is_least_squares_and_the_surface_minimum():
    model = make_model("linear", m=200, noise=0.5, seed=0)
    A = np.stack([model.X.astype(np.float64), np.ones(model.m)], axis=1)
    expected = np.linalg.lstsq(A, model.y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(model.optimum, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.surface.minima[0], expected, rtol=1e-6)
    # the normal equations: ∇ of the mean loss is 0 there (float64, by hand) ...
    r = A @ expected - model.y
    np.testing.assert_allclose(2 * A.T @ r / model.m, 0.0, atol=1e-10)
    # ... and the surface's float32 gradient is ~0 there
    assert np.linalg.norm(np.asarray(model.surface.grad(jnp.asarray(expected, jnp.float32)))) < 1e-4
    # it is the lowest point: any step away raises the loss
    f0 = float(model.loss(expected))
    for d in ([0.05, 0.0], [0.0, 0.05], [-0.05, 0.05]):
        assert float(model.loss(expected + np.array(d))) > f0
    np.testing.assert_allclose(f0, np.mean(r**2), rtol=1e-5)


def test_batch_gd_reaches_the_least_squares_optimum():
    model = make_model("linear", m=200, noise=0.5, seed=0)
    traj = optim.run_minibatch("gd", model.per_example_loss, np.zeros(2), model.X, model.y,
                               epochs=300, batch_size=model.m, lr=0.1)
    np.testing.assert_allclose(np.asarray(traj.params[-1]), model.optimum, atol=1e-3)
    assert float(traj.loss[-1]) == pytest.approx(float(model.loss(model.optimum)), rel=1e-4)


@pytest.mark.parametrize("noise", [0.8, 0.3])
def test_logistic_gradient_vanishes_at_its_optimum(noise):
    model = make_model("logistic", m=200, noise=noise, seed=1)
    X, y, w = model.X.astype(np.float64), model.y.astype(np.float64), model.optimum
    assert set(np.unique(y)) == {-1.0, 1.0} and X.shape == (200, 2)
    # ∇ mean log(1 + exp(−y wᵀx)) = −mean(y x σ(−y wᵀx)), by hand in float64
    z = y * (X @ w)
    grad = -(X * (y / (1 + np.exp(z)))[:, None]).mean(axis=0)
    np.testing.assert_allclose(grad, 0.0, atol=1e-8)
    assert np.linalg.norm(np.asarray(model.surface.grad(jnp.asarray(w, jnp.float32)))) < 1e-4
    np.testing.assert_allclose(float(model.loss(w)), np.mean(np.logaddexp(0, -z)), rtol=1e-5)


@pytest.mark.parametrize("kind", MODELS)
def test_same_seed_same_data_other_seed_other_data(kind):
    a, b = make_model(kind, m=50, seed=4), make_model(kind, m=50, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = make_model(kind, m=50, seed=5)
    assert not np.array_equal(a.X, c.X)
    assert a.m == 50 and len(a.X) == 50
    assert a.surface.latex.strip() and a.param_names and len(a.param_names) == 2
    (x0, x1), (y0, y1) = a.surface.domain
    assert x0 < a.optimum[0] < x1 and y0 < a.optimum[1] < y1
    assert x0 <= a.surface.start[0] <= x1 and y0 <= a.surface.start[1] <= y1


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("m", [0, -5, MAX_EXAMPLES + 1])
def test_invalid_number_of_examples_is_refused(kind, m):
    with pytest.raises(ValueError) as info:
        make_model(kind, m=m)
    assert str(info.value).strip() and str(m) in str(info.value)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_invalid_noise_is_refused(kind, noise):
    with pytest.raises(ValueError) as info:
        make_model(kind, m=20, noise=noise)
    assert "noise" in str(info.value)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="quadratic"):
        make_model("quadratic")
