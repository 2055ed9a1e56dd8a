"""The course's lesson on how much data each update sees, checked on the real models of
surfaces/data.py: batch gradients, epochs, batch GD as the case b = m, seeds, the optimum.

Oracles are independent of the runner: gradients by hand in NumPy (float64), the course's
pseudo-code as a NumPy loop, the least-squares optimum by ``np.linalg.lstsq``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim
from surfaces.data import MODELS, make_model
from viz.data import loss_grid, mean_losses, minibatch_rows, n_batches


def _hand_grads(kind, W, X, y):
    """Per-example gradients in float64, by hand: 2 (w x + b − y) · (x, 1) for least squares,
    −y x σ(−y wᵀx) for the logistic loss."""
    W, X, y = (np.asarray(a, np.float64) for a in (W, X, y))
    if kind == "linear":
        r = W[0] * X + W[1] - y
        return np.stack([2 * r * X, 2 * r], axis=1)
    z = y * (X @ W)
    return -(X * (y / (1 + np.exp(z)))[:, None])


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("size", [1, 16, 50])
def test_the_mean_of_per_example_gradients_is_the_gradient_of_the_batch_loss(kind, size):
    model = make_model(kind, m=50, noise=1.0, seed=2)
    rng = np.random.default_rng(size)
    idx = rng.choice(model.m, size, replace=False)
    Xb, yb = model.X[idx], model.y[idx]
    W = jnp.asarray(rng.normal(size=2), jnp.float32)
    per_example = jax.vmap(jax.grad(model.per_example_loss), (None, 0, 0))(W, Xb, yb)
    averaged = np.asarray(per_example).mean(axis=0)
    batch = np.asarray(jax.grad(lambda p: jnp.mean(jax.vmap(model.per_example_loss, (None, 0, 0))(p, Xb, yb)))(W))
    np.testing.assert_allclose(averaged, batch, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch, _hand_grads(kind, W, Xb, yb).mean(axis=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("batch", [1, 16, 32])
def test_each_update_reads_the_gradient_of_its_own_mini_batch(kind, batch):
    """The runner's recorded gradient at step k is the mean gradient over the examples the
    batch plan gives to step k (the plan the page highlights)."""
    model = make_model(kind, m=50, noise=1.0, seed=1)
    epochs, seed = 2, 7
    tr = optim.run_minibatch("gd", model.per_example_loss, model.surface.start, model.X, model.y, epochs=epochs,
                             batch_size=batch, seed=seed, lr=0.05, record=("params", "grads"))
    rows = minibatch_rows(seed, model.m, batch, epochs)
    idx, mask = optim.batch_plan(jax.random.key(seed), model.m, batch, epochs)
    np.testing.assert_array_equal(rows, np.where(np.asarray(mask) > 0, np.asarray(idx), -1))
    params, grads = np.asarray(tr.params), np.asarray(tr.grads)
    assert len(grads) == epochs * n_batches(model.m, batch)
    for k in range(len(grads)):
        ex = rows[k][rows[k] >= 0]
        expected = _hand_grads(kind, params[k], model.X[ex], model.y[ex]).mean(axis=0)
        np.testing.assert_allclose(grads[k], expected, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("m", [50, 200, 203])
@pytest.mark.parametrize("batch", [1, 16, 32, 64, 128, 203, 500])
def test_one_epoch_visits_every_example_once(m, batch):
    epochs = 3
    idx, mask = (np.asarray(a) for a in optim.batch_plan(jax.random.key(0), m, batch, epochs))
    nb = n_batches(m, batch)
    assert idx.shape == (epochs * nb, min(batch, m)) and nb == -(-m // min(batch, m))
    orders = []
    for e in range(epochs):
        seen = idx[e * nb:(e + 1) * nb][mask[e * nb:(e + 1) * nb] > 0]
        np.testing.assert_array_equal(np.sort(seen), np.arange(m))  # every example, once
        orders.append(seen)
    if batch < m:  # shuffled anew each epoch
        assert not np.array_equal(orders[0], orders[1])
    else:  # batch GD: the whole set, in its order
        np.testing.assert_array_equal(orders[0], np.arange(m))


@pytest.mark.parametrize("kind", MODELS)
def test_batch_size_m_is_batch_gd_exactly(kind):
    model = make_model(kind, m=100, noise=1.0, seed=3)
    x0, epochs, lr = model.surface.start, 25, 0.1
    runs = [np.asarray(optim.run_minibatch("gd", model.per_example_loss, x0, model.X, model.y, epochs=epochs,
                                           batch_size=b, seed=s, lr=lr, record=("params",)).params)
            for b, s in ((model.m, 0), (model.m + 37, 5), (10 * model.m, 9))]
    # a batch of m (or more: it is capped at m) reads the whole set in order: any seed, the same path
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    assert runs[0].shape == (epochs + 1, 2)
    # ... and it is gradient descent on the full-batch loss
    full = optim.run("gd", jax.grad(model.loss), jnp.asarray(x0, jnp.float32), epochs, lr=lr, record=("params",))
    np.testing.assert_allclose(runs[0], np.asarray(full.params), rtol=1e-5, atol=1e-6)
    # ... which is the course's update W := W − α dW with dW the mean over all m examples (float64)
    W = np.asarray(x0, np.float64)
    for k in range(epochs):
        W = W - lr * _hand_grads(kind, W, model.X, model.y).mean(axis=0)
        np.testing.assert_allclose(runs[0][k + 1], W, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 16])
def test_sgd_and_mini_batch_follow_the_course_pseudo_code(batch):
    """The course's loop in NumPy (for each epoch: shuffle, split, one update per mini-batch),
    on the runner's own shuffles, gives the runner's path."""
    model = make_model("linear", m=60, noise=1.0, seed=4)
    epochs, lr, seed = 3, 0.02, 11
    tr = optim.run_minibatch("gd", model.per_example_loss, model.surface.start, model.X, model.y, epochs=epochs,
                             batch_size=batch, seed=seed, lr=lr, record=("params",))
    rows = minibatch_rows(seed, model.m, batch, epochs)
    W = np.asarray(model.surface.start, np.float64)
    path = [W]
    for e in range(epochs):
        for t in range(n_batches(model.m, batch)):
            ex = rows[e * n_batches(model.m, batch) + t]
            ex = ex[ex >= 0]
            dW = _hand_grads("linear", W, model.X[ex], model.y[ex]).mean(axis=0)
            W = W - lr * dW
            path.append(W)
    np.testing.assert_allclose(np.asarray(tr.params), np.array(path), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", MODELS)
def test_the_same_seed_gives_the_same_path(kind):
    model = make_model(kind, m=80, noise=1.0, seed=0)

    def path(seed):
        return np.asarray(optim.run_minibatch("adam", model.per_example_loss, model.surface.start, model.X, model.y,
                                              epochs=3, batch_size=16, seed=seed, lr=0.05, record=("params",)).params)

    np.testing.assert_array_equal(path(3), path(3))
    assert not np.allclose(path(3), path(4))
    # and the same seed draws the same data set
    again = make_model.__wrapped__(kind, 80, 1.0, 0)
    np.testing.assert_array_equal(again.X, model.X)


@pytest.mark.parametrize("m,noise,seed", [(50, 1.0, 0), (200, 0.5, 1), (2000, 2.0, 2)])
def test_the_least_squares_optimum_is_the_surface_minimum_and_batch_gd_reaches_it(m, noise, seed):
    model = make_model("linear", m=m, noise=noise, seed=seed)
    A = np.stack([model.X.astype(np.float64), np.ones(m)], axis=1)
    w_star = np.linalg.lstsq(A, model.y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(model.optimum, w_star, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.surface.minima[0], w_star, rtol=1e-6)
    # the lowest value of the drawn surface lies within one grid cell of it, and nothing is lower
    grid = loss_grid(model, n=121)
    j, i = np.unravel_index(np.argmin(grid.z), grid.z.shape)
    cell = (grid.xs[1] - grid.xs[0], grid.ys[1] - grid.ys[0])
    assert abs(grid.xs[i] - w_star[0]) <= cell[0] and abs(grid.ys[j] - w_star[1]) <= cell[1]
    l_star = float(mean_losses(model, [w_star])[0])
    assert l_star <= grid.z.min() + 1e-5
    np.testing.assert_allclose(l_star, np.mean((A @ w_star - model.y) ** 2), rtol=1e-5)
    # the page's loss is the surface's loss
    pts = np.stack([grid.xs[::30], grid.ys[::30]], axis=1)
    np.testing.assert_allclose(mean_losses(model, pts), np.asarray(model.surface.f(pts)), rtol=1e-5)
    # batch GD with a small learning rate gets there
    tr = optim.run_minibatch("gd", model.per_example_loss, model.surface.start, model.X, model.y, epochs=400,
                             batch_size=m, lr=0.1, record=("params",))
    np.testing.assert_allclose(np.asarray(tr.params[-1]), w_star, atol=2e-3)
