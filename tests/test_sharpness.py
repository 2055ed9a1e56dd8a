"""The sharpness by power iteration against the full Hessian's eigenvalues, full-batch training
with the sharpness measured along the way, the thresholds, and the edge-of-stability check saying
no where the claim fails."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from lessons import network as NL
from surfaces import network as N
from surfaces.sharpness import eos_record, final_sharpness, hvp, sharpness, threshold, train_with_sharpness
from surfaces.training import make_data

DATA = make_data("moons", 60, 0.1, 0, 2, 0.25)
X, Y = jnp.asarray(DATA.X_train), jnp.asarray(DATA.y_train)


def objective(params, loss="least_squares"):
    return N.objective(params, X, Y, "tanh", loss)[0]


def full_spectrum(params, loss="least_squares") -> np.ndarray:
    flat, unravel = ravel_pytree(params)
    h = jax.hessian(lambda w: objective(unravel(w), loss))(flat)
    return np.linalg.eigvalsh(np.asarray(h, np.float64))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("loss", ["least_squares", "cross_entropy"])
def test_power_iteration_matches_the_full_hessian(seed, loss):
    params = N.init_mlp(seed, N.mlp_sizes(1, 4, 2, 1), "xavier")
    w = full_spectrum(params, loss)
    assert w[-1] > abs(w[0])  # the largest magnitude is λ_max: power iteration finds it
    got = sharpness(lambda p: objective(p, loss), params, iters=300, seed=seed)
    assert got == pytest.approx(w[-1], rel=1e-3)


@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_final_sharpness_is_the_full_hessians_largest_eigenvalue(lam):
    """The sharpness a run records at its final weights: of J with its λ‖W‖², on all of (X, y)."""
    params = N.init_mlp(1, N.mlp_sizes(2, 4, 2, 1), "he")
    flat, unravel = ravel_pytree(params)
    h = jax.jit(jax.hessian(lambda w: N.objective(unravel(w), X, Y, "relu", "cross_entropy", lam)[0]))(flat)
    w = np.linalg.eigvalsh(np.asarray(h, np.float64))
    assert w[-1] > abs(w[0])
    assert final_sharpness(params, X, Y, "relu", "cross_entropy", lam, iters=300) == pytest.approx(w[-1], rel=1e-3)


def test_the_hessian_vector_product_is_the_hessian_times_v():
    params = N.init_mlp(3, N.mlp_sizes(2, 3, 2, 1), "xavier")
    flat, unravel = ravel_pytree(params)
    h = np.asarray(jax.hessian(lambda w: objective(unravel(w)))(flat))
    v = jax.random.normal(jax.random.key(0), flat.shape)
    got, _ = ravel_pytree(hvp(objective, params, unravel(v)))
    np.testing.assert_allclose(np.asarray(got), h @ np.asarray(v), rtol=1e-4, atol=1e-5)


def test_training_measures_the_sharpness_where_it_says():
    params = N.init_mlp(0, N.mlp_sizes(1, 4, 2, 1), "xavier")
    r = train_with_sharpness(params, X, Y, "gd", 40, 10, {"lr": 0.1}, "tanh", "least_squares", iters=300)
    assert r.loss.shape == (41,) and list(r.sharp_steps) == [0, 10, 20, 30] and r.diverged_at is None
    assert r.loss[0] == pytest.approx(float(objective(params)), rel=1e-6)
    assert r.sharpness[0] == pytest.approx(full_spectrum(params)[-1], rel=1e-3)
    # after 10 steps of GD by hand, the sharpness is that of the parameters there
    p = params
    for _ in range(10):
        p = jax.tree.map(lambda w, g: w - 0.1 * g, p, jax.grad(objective)(p))
    assert r.sharpness[1] == pytest.approx(full_spectrum(p)[-1], rel=2e-3)


def test_a_diverging_run_stops_and_says_where():
    params = N.init_mlp(0, N.mlp_sizes(1, 4, 2, 1), "xavier")
    r = train_with_sharpness(params, X, Y, "gd", 200, 10, {"lr": 50.0}, "tanh", "least_squares")
    d = r.diverged_at
    assert d is not None and np.all(np.isnan(r.loss[d:])) and np.all(np.isfinite(r.loss[:d]))
    assert np.all(np.isnan(r.sharpness[r.sharp_steps >= d])) and np.isfinite(r.sharpness[0])


def test_thresholds():
    assert threshold("gd", {"lr": 0.15}) == pytest.approx(2 / 0.15)
    assert threshold("momentum", {"lr": 0.1, "beta": 0.9}) == pytest.approx(3.8 / (0.1 * 0.1))
    # PyTorch's momentum with α is the course's with α / (1 − β)
    assert threshold("momentum", {"lr": 0.01, "beta": 0.9}, "pytorch") == pytest.approx(3.8 / 0.01)
    assert threshold("adam", {"lr": 0.01}) is None


def test_the_edge_of_stability_claim_fails_where_the_sharpness_never_gets_there():
    """At α = 0.05 (2/α = 40) the sharpness rises but stays far below 2/α in 2,000 steps."""
    lesson = NL.LESSONS["eos"]
    v = NL.measure(dataclasses.replace(lesson, settings={**lesson.settings, "gd.lr": 0.05}))
    assert v.holds is False and "below θ = 40" in v.detail


def test_the_edge_of_stability_record_is_what_the_check_reads():
    data = make_data("moons", 300, 0.1, 0, 2, 0.25)
    params = N.init_mlp(0, N.mlp_sizes(2, 16, 2, 1), "xavier")
    rec = eos_record(params, data.X_train, data.y_train, "gd", 2000, {"lr": 0.15}, "tanh", "least_squares")
    assert rec["threshold"] == pytest.approx(2 / 0.15)
    verdict = NL.check_eos({NL.EOS + "gd": rec})
    assert verdict.holds is True, verdict.detail
    assert NL.check_eos({}).holds is None
