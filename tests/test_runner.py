"""The trajectory runner: shapes, losses, divergence, compilation, vmapped runs, noise, mini-batches.

Each distinct static configuration of ``optim.run`` costs about a second of compilation, so the
tests share a few configurations (same optimizer, grad_fn, loss_fn, steps and record)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim
from optim import batch_plan, run, run_many, run_minibatch
from optim.runner import compile_count
from surfaces import SURFACES
from surfaces.data import linear_loss, make_line

rosen = SURFACES["rosenbrock"]


def np_rosen_grad(w, dtype=np.float64):
    """∇ of (1 − x)² + 100 (y − x²)², by hand."""
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], dtype)


def np_rosen(w):
    x, y = w
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


# Configuration "gd50": GD, Rosenbrock with its loss, 50 steps, every field recorded.
def run_gd50(x0, **kw):
    return run("gd", rosen.grad, x0, 50, loss_fn=rosen.f, **kw)


# Configuration "mom100": momentum on Rosenbrock with its loss, 100 steps.
def run_mom100(x0, **kw):
    return run("momentum", rosen.grad, x0, 100, loss_fn=rosen.f, **kw)


# --- shapes, start, loss --------------------------------------------------------------------------


def test_shapes_start_and_loss():
    x0 = np.array([-1.0, 1.5], np.float32)
    traj = run_gd50(x0, lr=1e-3)
    assert traj.params.shape == (51, 2)
    assert traj.loss.shape == (51,)
    assert traj.grads.shape == (50, 2)
    assert traj.lr.shape == (50,)
    assert traj.state.t.shape == (51,)
    np.testing.assert_array_equal(np.asarray(traj.state.t), np.arange(51))
    assert traj.epoch is None
    np.testing.assert_array_equal(np.asarray(traj.params[0]), x0)
    params = np.asarray(traj.params, np.float64)
    np.testing.assert_allclose(np.asarray(traj.loss), [np_rosen(p) for p in params], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(traj.grads), [np_rosen_grad(p) for p in params[:-1]], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(traj.lr), 1e-3)
    assert traj.diverged_at is None
    assert float(traj.loss[-1]) < float(traj.loss[0])  # GD went down


def test_gd_run_matches_numpy_loop():
    x0 = np.array([-1.0, 1.5])
    traj = run_gd50(x0, lr=1e-3)
    w, expected = x0.copy(), [x0]
    for _ in range(50):
        w = w - 1e-3 * np_rosen_grad(w)
        expected.append(w)
    np.testing.assert_allclose(np.asarray(traj.params), np.array(expected), rtol=1e-5, atol=1e-6)


def test_start_point_as_a_tuple_like_surface_start():
    traj = run_gd50(tuple(map(float, rosen.start)), lr=1e-4)
    assert np.asarray(traj.params).shape == (51, 2)
    np.testing.assert_array_equal(np.asarray(traj.params[0]), np.asarray(rosen.start, np.float32))


# --- divergence -----------------------------------------------------------------------------------


def _np_gd_divergence(x0, lr, with_loss):
    """GD on Rosenbrock in NumPy float32: the path and the first step whose parameters (or, when
    the loss is recorded, the loss there) are not finite."""
    w, path = np.array(x0, np.float32), [np.array(x0, np.float32)]
    with np.errstate(all="ignore"):
        for k in range(1, 51):
            w = (w - np.float32(lr) * np_rosen_grad(w, np.float32)).astype(np.float32)
            x, y = w
            loss = (np.float32(1) - x) ** 2 + np.float32(100) * (y - x * x) ** 2
            if not np.all(np.isfinite(w)) or (with_loss and not np.isfinite(loss)):
                return path, k
            path.append(w)
    return path, None


@pytest.mark.parametrize("with_loss", [True, False])
def test_divergence_is_reported_and_frozen_without_exception(with_loss):
    x0 = (-1.5, 2.0)
    path, expected = _np_gd_divergence(x0, 10.0, with_loss)
    assert expected is not None and expected > 1

    if with_loss:
        traj = run_gd50(np.array(x0), lr=10.0)
    else:
        traj = run("gd", rosen.grad, np.array(x0), 50, lr=10.0)
        assert traj.loss is None
    assert traj.diverged_at == expected
    params = np.asarray(traj.params)
    assert np.all(np.isfinite(params))
    np.testing.assert_allclose(params[:expected], np.array(path), rtol=1e-5)
    # Frozen from the diverging step on: parameters and optimizer state.
    np.testing.assert_array_equal(params[expected:], np.broadcast_to(params[expected - 1], params[expected:].shape))
    t = np.asarray(traj.state.t)
    np.testing.assert_array_equal(t[expected:], expected - 1)
    np.testing.assert_array_equal(t[:expected], np.arange(expected))
    if with_loss:  # loss[i] is still f(params[i]), finite
        loss = np.asarray(traj.loss)
        assert np.all(np.isfinite(loss))
        np.testing.assert_allclose(loss, np.asarray(jax.vmap(rosen.f)(traj.params)), rtol=1e-6)


def _steep_grad(x):  # ∇ of 6·10³⁸ x²: not finite in float32 at |x| = 1, so neither is update 1
    return x * 3e38 * 4.0


def _doubling_grad(x):  # ∇ of x²: GD at α = 2 multiplies x by −3 each step
    return 2.0 * x


@pytest.mark.parametrize("grad_fn, steps, expected", [(_steep_grad, 6, 1), (_doubling_grad, 81, 81),
                                                      (_doubling_grad, 85, 81)])
def test_a_run_stopped_at_its_first_or_last_step_freezes_every_field_as_run_many_does(grad_fn, steps, expected):
    """The two freezes (a single run's loop over the frozen rows, run_many's where over every row)
    give the same rows, at both ends: stopped at update 1, and at the last update (3⁸¹ > 3.4·10³⁸,
    float32's largest; 3⁸⁰ is below it)."""
    x0 = np.array([1.0, -1.0], np.float32)
    lr = 2.0 if grad_fn is _doubling_grad else 1.0
    one = run("momentum", grad_fn, x0, steps, lr=lr, beta=0.0)
    many = run_many("momentum", grad_fn, np.stack([x0, x0 / 2]), steps, lr=lr, beta=0.0,
                    record=("params", "grads", "state", "lr"))
    assert one.diverged_at == expected == int(many.diverged_step[0])
    p, g = np.asarray(one.params, np.float64), np.asarray(one.grads, np.float64)
    assert np.all(np.isfinite(p))  # the gradient read may not be: it is what stopped the run
    w = x0.astype(np.float64) * (-3.0) ** np.arange(expected)[:, None] if grad_fn is _doubling_grad else x0[None]
    np.testing.assert_allclose(p[:expected], w, rtol=1e-5)  # the course's GD until it stopped
    np.testing.assert_array_equal(p[expected:], np.broadcast_to(p[expected - 1], p[expected:].shape))
    np.testing.assert_array_equal(g[expected - 1:], np.broadcast_to(g[expected - 1], g[expected - 1:].shape))
    t = np.asarray(one.state.t)
    np.testing.assert_array_equal(t, np.minimum(np.arange(steps + 1), expected - 1))
    for name in ("params", "grads", "lr"):
        np.testing.assert_array_equal(np.asarray(getattr(many, name))[0], np.asarray(getattr(one, name)), err_msg=name)
    for a, b in zip(jax.tree.leaves(many.state), jax.tree.leaves(one.state)):
        np.testing.assert_array_equal(np.asarray(a)[0], np.asarray(b))


def test_a_single_runs_program_does_not_grow_with_its_steps():
    """XLA's CPU client runs a program inline, on the calling thread, when its cost analysis
    counts under 1,000 flops (a loop's body counted once); above, each call pays a thread hop
    (~30 µs, as much as 1,000 steps of Adam on a 2-D surface).  A single run's program, the
    freeze of a stopped run's rows included, stays there whatever its length."""
    from optim.runner import FIELDS, Plain, _plain_data, _prepare, _run_one, _seed

    x0 = np.asarray(rosen.start, np.float32)
    opt, sched, record, hp, sp = _prepare("adam", "constant", None, None, None, FIELDS, {})
    problem = Plain(rosen.grad, rosen.f)

    def flops(steps):
        c = _run_one.lower(opt, sched, problem, steps, record, False, x0, hp, sp, _seed(0), _plain_data(0.0, None))
        return c.compile().cost_analysis()["flops"]

    assert flops(100) == flops(5000) < 1000


def test_run_without_divergence_reports_none():
    traj = run_gd50(np.array([-1.5, 2.0]), lr=1e-4)
    assert traj.diverged_at is None
    assert int(traj.diverged_step) == -1
    assert np.all(np.isfinite(np.asarray(traj.params)))


# --- compilation ---------------------------------------------------------------------------------


def test_moving_a_slider_does_not_recompile():
    x0, x1 = np.array([-1.0, 1.5]), np.array([0.5, -0.5])
    run_gd50(x0, lr=1e-3)
    n = compile_count()
    for kw in ({"lr": 2e-3}, {"lr": 1}, {"seed": 3}):
        run_gd50(x0, **kw)
        assert compile_count() == n, kw
    run_gd50(x1, lr=1e-3)
    run_gd50((0.25, 0.75), lr=1e-3)
    assert compile_count() == n
    # Noise on or off may be two programs (a noiseless run carries no random generator); σ and
    # the seed are traced.
    run_gd50(x0, noise=0.5)
    n = compile_count()
    for kw in ({"noise": 0.7}, {"noise": 2.0, "seed": 4}, {"noise": 0.1, "seed": 5, "lr": 3e-4}):
        run_gd50(x1, **kw)
        assert compile_count() == n, kw

    run("adam", rosen.grad, x0, 50, loss_fn=rosen.f, lr=1e-2)
    n = compile_count()
    for kw in ({"beta1": 0.8}, {"beta2": 0.99}, {"eps": 1e-3}, {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6}):
        run("adam", rosen.grad, x0, 50, loss_fn=rosen.f, **kw)
        assert compile_count() == n, kw

    run_mom100(x0, lr=1e-4, beta=0.9)
    n = compile_count()
    run_mom100(x0, lr=1e-4, beta=0.5)
    assert compile_count() == n

    # The configuration of test_schedules.test_run_records_the_step_schedule.
    for p in ({"gamma": 0.5, "step_size": 50}, {"gamma": 0.9, "step_size": 50}, {"gamma": 0.9, "step_size": 7}):
        run("gd", rosen.grad, np.array([-1.0, 1.0]), 300, schedule="step", schedule_params=p, lr=1e-3)
        if p["gamma"] == 0.5:
            n = compile_count()
    assert compile_count() == n
    run("gd", rosen.grad, x0, 300, schedule="time", schedule_params={"k": 0.1}, lr=1e-3)
    n = compile_count()
    run("gd", rosen.grad, x0, 300, schedule="time", schedule_params={"k": 0.01}, lr=1e-3)
    assert compile_count() == n

    # The counter does count: another number of steps is another program.
    zero = run("gd", rosen.grad, x0, 0, loss_fn=rosen.f, lr=1e-3)
    assert compile_count() == n + 1
    run("gd", rosen.grad, x1, 0, loss_fn=rosen.f, lr=0.5)
    assert compile_count() == n + 1
    # Steps = 0: the start point alone.
    assert zero.params.shape == (1, 2) and zero.loss.shape == (1,) and zero.grads.shape == (0, 2)
    np.testing.assert_array_equal(np.asarray(zero.params[0]), np.asarray(x0, np.float32))
    np.testing.assert_allclose(float(zero.loss[0]), np_rosen(x0), rtol=1e-6)
    assert zero.diverged_at is None


# --- run_many ------------------------------------------------------------------------------------

N = 4
X0S = np.array([[-1.0, 1.5], [0.5, -0.5], [-1.5, 2.0], [1.2, 1.2]], np.float32)
LRS = np.array([1e-4, 3e-4, 10.0, 5e-4])  # the third run diverges
NOISES = np.array([0.0, 0.3, 0.0, 1.0])
SEEDS = np.array([0, 1, 2, 3])


def run_many_mom(x0s=X0S, lr=LRS, noise=NOISES, seed=SEEDS, beta=0.9):
    return run_many("momentum", rosen.grad, x0s, 100, loss_fn=rosen.f, lr=lr, noise=noise, seed=seed, beta=beta)


def test_run_many_rows_equal_single_runs():
    many = run_many_mom()
    assert many.params.shape == (N, 101, 2) and many.loss.shape == (N, 101)
    assert many.grads is None  # not recorded by default
    for i in range(N):
        one = run_mom100(X0S[i], lr=float(LRS[i]), noise=float(NOISES[i]), seed=int(SEEDS[i]), beta=0.9)
        np.testing.assert_array_equal(np.asarray(many.params[i, 0]), X0S[i])
        np.testing.assert_allclose(np.asarray(many.params[i]), np.asarray(one.params), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(np.asarray(many.loss[i]), np.asarray(one.loss), rtol=1e-6, atol=1e-6)
        assert int(many.diverged_step[i]) == (-1 if one.diverged_at is None else one.diverged_at)
    assert int(many.diverged_step[2]) > 0
    assert [int(k) for k in np.asarray(many.diverged_step)[[0, 1, 3]]] == [-1, -1, -1]


def test_run_many_does_not_recompile_for_new_values():
    # Three runs: a shape no other test uses, so the counter must see this first compilation.
    n = compile_count()
    run_many_mom(x0s=X0S[:3], lr=LRS[:3], noise=NOISES[:3], seed=SEEDS[:3])
    assert compile_count() == n + 1
    run_many_mom(x0s=X0S[1:], lr=LRS[:3] * 0.5, noise=NOISES[:3], seed=SEEDS[:3])
    run_many_mom(x0s=X0S[:3], lr=LRS[1:], noise=NOISES[1:] + 0.1, seed=SEEDS[:3] + 10)
    run_many_mom(x0s=X0S[:3], lr=LRS[:3], noise=NOISES[:3], seed=SEEDS[:3], beta=0.5)
    assert compile_count() == n + 1


def test_run_many_refuses_misshaped_hyperparameters():
    with pytest.raises(ValueError, match="lr"):
        run_many_mom(lr=np.ones(N + 1))


# --- noise ----------------------------------------------------------------------------------------


def _np_momentum(x0, steps, lr, beta):
    w, v, out = np.asarray(x0, np.float64), 0.0, [np.asarray(x0, np.float64)]
    for _ in range(steps):
        v = beta * v + (1 - beta) * np_rosen_grad(w)
        w = w - lr * v
        out.append(w)
    return np.array(out)


def test_noise_seeds_and_zero_noise():
    x0 = np.array([-1.0, 1.5])
    a = run_mom100(x0, lr=3e-4, noise=2.0, seed=5)
    b = run_mom100(x0, lr=3e-4, noise=2.0, seed=5)
    c = run_mom100(x0, lr=3e-4, noise=2.0, seed=6)
    np.testing.assert_array_equal(np.asarray(a.params), np.asarray(b.params))
    assert not np.allclose(np.asarray(a.params), np.asarray(c.params))
    # σ = 0 is the deterministic course momentum, whatever the seed.
    for seed in (0, 9):
        zero = run_mom100(x0, lr=3e-4, noise=0.0, seed=seed)
        np.testing.assert_allclose(np.asarray(zero.params), _np_momentum(x0, 100, 3e-4, 0.9), rtol=1e-5, atol=1e-6)
    # The gradient read is the true gradient plus σ·N(0, 1).
    true = np.array([np_rosen_grad(p) for p in np.asarray(a.params[:-1], np.float64)])
    noise = np.asarray(a.grads, np.float64) - true
    assert abs(noise.std() / 2.0 - 1) < 0.2  # 200 samples: a 4-standard-error band
    assert abs(noise.mean()) < 4 * 2.0 / np.sqrt(noise.size)


# --- mini-batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [10, 37, 64])
@pytest.mark.parametrize("bs", [1, 5, 16, None])
def test_batch_plan_visits_every_example_once_per_epoch(m, bs):
    bs = m if bs is None else bs
    epochs = 3
    idx, mask = (np.asarray(a) for a in batch_plan(jax.random.key(11), m, bs, epochs))
    nb = -(-m // bs)
    assert idx.shape == mask.shape == (epochs * nb, min(bs, m))
    orders = []
    for e in range(epochs):
        i, k = idx[e * nb:(e + 1) * nb], mask[e * nb:(e + 1) * nb].astype(bool)
        seen = i[k]
        np.testing.assert_array_equal(np.sort(seen), np.arange(m))  # every example exactly once
        sizes = k.sum(axis=1)
        assert np.all(sizes[:-1] == bs)
        assert sizes[-1] == (m % bs or bs)  # the last batch is smaller when bs does not divide m
        orders.append(seen)
    if bs < m:  # shuffled, with a new permutation each epoch
        assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[0], np.arange(m))
    else:  # batch GD: the examples in their order
        np.testing.assert_array_equal(orders[0], np.arange(m))


M = 37
X_LINE, Y_LINE = make_line(M, noise=0.5, seed=3)


def full_mean_loss(p):
    return jnp.mean(jax.vmap(linear_loss, (None, 0, 0))(p, X_LINE, Y_LINE))


full_mean_grad = jax.grad(full_mean_loss)


def test_full_batch_reproduces_batch_gd():
    x0 = np.array([0.5, 1.0])
    mb = run_minibatch("gd", linear_loss, x0, X_LINE, Y_LINE, epochs=40, batch_size=M, lr=0.1)
    gd = run("gd", full_mean_grad, x0, 40, loss_fn=full_mean_loss, lr=0.1)
    assert mb.params.shape == (41, 2)
    np.testing.assert_allclose(np.asarray(mb.params), np.asarray(gd.params), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(mb.loss), np.asarray(gd.loss), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(mb.epoch), np.arange(40))
    assert float(mb.loss[-1]) < 0.5 * float(mb.loss[0])


BS, EPOCHS, K = 5, 4, 0.3  # 8 batches per epoch, the last of 2 examples


def run_mb(seed):
    return run_minibatch("gd", linear_loss, np.array([0.5, 1.0]), X_LINE, Y_LINE, epochs=EPOCHS, batch_size=BS,
                         seed=seed, schedule="time", schedule_params={"k": K}, decay_per="epoch", lr=0.05)


def test_minibatch_gradients_are_batch_means_of_per_example_gradients():
    """Each step's gradient is the mean, over that step's mini-batch of ``batch_plan`` (the plan of
    ``run_minibatch``, from the key of its seed), of the per-example gradients computed by hand."""
    seed = 7
    traj = run_mb(seed)
    nb = -(-M // BS)
    assert traj.params.shape == (EPOCHS * nb + 1, 2)
    idx, mask = (np.asarray(a) for a in batch_plan(jax.random.key(seed), M, BS, EPOCHS))
    params = np.asarray(traj.params, np.float64)
    x, y = X_LINE.astype(np.float64), Y_LINE.astype(np.float64)
    for i in range(EPOCHS * nb):
        rows = idx[i][mask[i].astype(bool)]
        w, b = params[i]
        r = w * x[rows] + b - y[rows]
        per_example = np.stack([2 * r * x[rows], 2 * r], axis=1)  # ∇ (w x + b − y)²
        np.testing.assert_allclose(np.asarray(traj.grads[i]), per_example.mean(axis=0), rtol=1e-4, atol=1e-5)
    # and that is the gradient of the batch's mean loss (jax.grad of the mean), e.g. the last batch
    rows = idx[-1][mask[-1].astype(bool)]
    assert len(rows) == M % BS
    batch_grad = jax.grad(lambda p: jnp.mean(jax.vmap(linear_loss, (None, 0, 0))(p, X_LINE[rows], Y_LINE[rows])))
    np.testing.assert_allclose(np.asarray(traj.grads[-1]), np.asarray(batch_grad(traj.params[-2])),
                               rtol=1e-5, atol=1e-6)


def test_minibatch_seed_epoch_and_decay_per_epoch():
    a, b, c = run_mb(1), run_mb(1), run_mb(2)
    np.testing.assert_array_equal(np.asarray(a.params), np.asarray(b.params))
    assert not np.allclose(np.asarray(a.params), np.asarray(c.params))  # another shuffle
    nb = -(-M // BS)
    epoch = np.arange(EPOCHS * nb) // nb
    np.testing.assert_array_equal(np.asarray(a.epoch), epoch)
    np.testing.assert_allclose(np.asarray(a.lr), 0.05 / (1 + K * epoch), rtol=1e-6)
    lr = np.asarray(a.lr).reshape(EPOCHS, nb)
    assert np.all(lr == lr[:, :1]) and np.all(np.diff(lr[:, 0]) < 0)
    # the loss is the full-data mean loss at each params
    np.testing.assert_allclose(np.asarray(a.loss), np.asarray(jax.vmap(full_mean_loss)(a.params)), rtol=1e-5)


def test_run_minibatch_refuses_bad_arguments():
    x0 = np.zeros(2)
    with pytest.raises(ValueError, match="batch size"):
        run_minibatch("gd", linear_loss, x0, X_LINE, Y_LINE, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="week"):
        run_minibatch("gd", linear_loss, x0, X_LINE, Y_LINE, epochs=1, batch_size=4, decay_per="week")
    with pytest.raises(ValueError, match="examples"):
        run_minibatch("gd", linear_loss, x0, X_LINE[:0], Y_LINE[:0], epochs=1, batch_size=4)


def test_run_refuses_unknown_record_field():
    with pytest.raises(ValueError, match="gradients"):
        run("gd", rosen.grad, np.zeros(2), 5, record=("params", "gradients"))


def test_optimizer_entry_and_convention_pass_through_run():
    """An Optimizer object is accepted in place of its name; ``convention`` reaches the rule."""
    x0 = np.array([-1.0, 1.5])
    traj = run(optim.OPTIMIZERS["momentum"], rosen.grad, x0, 100, loss_fn=rosen.f, lr=3e-4)
    np.testing.assert_allclose(np.asarray(traj.params), _np_momentum(x0, 100, 3e-4, 0.9), rtol=1e-5, atol=1e-6)
    # pytorch: v := β v + dW, W := W − α v, by hand
    w, v, expected = x0.copy(), 0.0, [x0]
    for _ in range(100):
        v = 0.9 * v + np_rosen_grad(w)
        w = w - 3e-5 * v
        expected.append(w)
    traj = run_mom100(x0, convention="pytorch", lr=3e-5)
    np.testing.assert_allclose(np.asarray(traj.params), np.array(expected), rtol=1e-5, atol=1e-6)


def test_numpys_blas_runs_on_one_thread_once_the_engine_is_loaded():
    """Beside JAX's threads, a multi-threaded OpenBLAS measured 2.4–2.8 s for one 404 × 404 eigh on
    a loaded machine (37 ms on one thread): ``optim`` limits it (``optim/__init__.py``)."""
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)


def test_a_blas_loaded_after_the_engine_runs_on_one_thread_too():
    """SciPy's own OpenBLAS (viz.surface uses scipy.ndimage), loaded in a new process after the
    engine, reads the engine's OPENBLAS_NUM_THREADS."""
    import os
    import subprocess
    import sys

    code = ("import optim, scipy.linalg; from threadpoolctl import threadpool_info; "
            "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"})
    assert out.stdout.strip() == "[1]"
