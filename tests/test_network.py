"""surfaces.network against independent oracles: NumPy formulas, finite differences, sample
statistics, and the presets' claims measured at initialization."""

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from lessons.gradients import LESSONS, config_of
from surfaces import network as N

# One compiled program per configuration: op-by-op dispatch compiles every primitive and is slower.
forward = jax.jit(N.forward, static_argnames=("activation", "train", "return_activations"))


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(N.DATASETS))
def test_dataset_shapes_labels_and_seed(name):
    k = 3 if 3 in N.DATASETS[name].classes else 2
    X, y = N.make_dataset(name, 301, None, seed=4, n_classes=k)
    assert X.shape == (301, 2) and X.dtype == np.float32 and y.dtype == np.int32
    counts = np.bincount(y, minlength=k)
    assert counts.sum() == 301 and counts.max() - counts.min() <= (1 if name != "xor" else 60)
    X2, y2 = N.make_dataset(name, 301, None, seed=4, n_classes=k)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, N.make_dataset(name, 301, None, seed=5, n_classes=k)[0])


def test_noise_free_geometry():
    X, y = N.make_dataset("xor", 500, 0.0, seed=1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int32))
    assert np.min(np.abs(X)) >= 0.1 - 1e-6
    X, y = N.make_dataset("circles", 200, 0.0, seed=1)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 0, 1.0, 0.5), atol=1e-6)
    X, y = N.make_dataset("blobs", 90, 0.0, seed=2, n_classes=3)
    angle = 2 * np.pi * y / 3
    np.testing.assert_allclose(X, np.stack([np.cos(angle), np.sin(angle)], 1), atol=1e-6)


def test_dataset_refusals():
    with pytest.raises(ValueError, match="unknown data set"):
        N.make_dataset("swirl", 100)
    with pytest.raises(ValueError, match="classes"):
        N.make_dataset("moons", 100, n_classes=3)
    with pytest.raises(ValueError, match="noise"):
        N.make_dataset("moons", 100, noise=-1.0)


def test_train_test_split_partitions():
    X, y = N.make_dataset("moons", 101, seed=3)
    s = N.train_test_split(X, y, 0.3, seed=7)
    assert len(s.y_test) == 30 and len(s.y_train) == 71
    rows = {tuple(r) for r in np.concatenate([s.X_train, s.X_test])}
    assert rows == {tuple(r) for r in X}
    again = N.train_test_split(X, y, 0.3, seed=7)
    np.testing.assert_array_equal(s.X_test, again.X_test)


# --- activations and initializations ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(N.ACTIVATIONS))
def test_activation_derivative_matches_autodiff(name):
    rng = np.random.default_rng(1)
    act = N.ACTIVATIONS[name]
    z = jnp.asarray(np.concatenate([rng.uniform(-6, 6, 200), [-1e-3, 1e-3, 30.0, -30.0]]), jnp.float32)
    np.testing.assert_allclose(act.deriv(z), jax.vmap(jax.grad(act.fn))(z), rtol=1e-5, atol=1e-7)
    assert act.latex and act.label


def test_activation_values_against_numpy():
    z = np.linspace(-4, 4, 81).astype(np.float32)
    expected = {
        "sigmoid": np_sigmoid(z), "tanh": np.tanh(z), "relu": np.maximum(z, 0),
        "leaky_relu": np.where(z > 0, z, 0.01 * z), "elu": np.where(z > 0, z, np.exp(z) - 1),
    }
    for name, want in expected.items():
        np.testing.assert_allclose(N.ACTIVATIONS[name].fn(z), want, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name, n_in, n_out, var", [
    ("he", 800, 600, 2 / 800),
    ("xavier", 800, 600, 2 / (800 + 600)),
    ("lecun", 800, 600, 1 / 800),
    ("naive", 800, 600, 0.3**2),
])
def test_init_variance_matches_course(name, n_in, n_out, var):
    W = np.asarray(N.INITS[name].fn(jax.random.key(1), n_in, n_out, 0.3))
    assert W.shape == (n_in, n_out) and W.dtype == np.float32
    # 480 000 samples: the sample variance has a relative standard error of sqrt(2/n) ≈ 0.2 %.
    assert abs(W.var() / var - 1) < 0.01
    assert abs(W.mean()) < 5 * math.sqrt(var / W.size)


@pytest.mark.parametrize("shape", [(100, 30), (30, 100)])
def test_orthogonal_init(shape):
    W = np.asarray(N.INITS["orthogonal"].fn(jax.random.key(2), *shape), np.float64)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)


def test_init_mlp_structure_and_limits():
    params = N.init_mlp(0, (2, 8, 8, 3), "he", batchnorm=True)
    assert [set(p) for p in params] == [{"W", "b", "gamma", "beta"}] * 2 + [{"W", "b"}]
    assert [p["W"].shape for p in params] == [(2, 8), (8, 8), (8, 3)]
    assert all(np.all(p["b"] == 0) for p in params) and np.all(params[0]["gamma"] == 1)
    with pytest.raises(ValueError, match="hidden layers"):
        N.init_mlp(0, (2,) + (8,) * 51 + (1,))
    with pytest.raises(ValueError, match="units"):
        N.init_mlp(0, (2, 300, 1))
    with pytest.raises(ValueError, match="initialization"):
        N.init_mlp(0, (2, 8, 1), "glorot-ish")


# --- batch norm ---------------------------------------------------------------------------------------


def _bn_net(seed=0):
    rng = np.random.default_rng(seed)
    params = N.init_mlp(seed, (2, 5, 4, 1), "naive", sigma=2.0, batchnorm=True)
    params[0]["b"] = jnp.asarray(rng.normal(size=5), jnp.float32)
    return params


def test_batchnorm_train_mode_normalizes_each_feature():
    rng = np.random.default_rng(3)
    params = _bn_net()
    X = jnp.asarray(rng.normal(3.0, 2.0, (64, 2)), jnp.float32)
    f = forward(params, X, "tanh", train=True, return_activations=True)
    for z in f.z:
        z = np.asarray(z, np.float64)
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(z.var(0), 1, atol=1e-3)
    params[0]["gamma"] = jnp.full(5, 3.0)
    params[0]["beta"] = jnp.full(5, -1.0)
    z0 = np.asarray(forward(params, X, "tanh", return_activations=True).z[0], np.float64)
    np.testing.assert_allclose(z0.mean(0), -1, atol=1e-5)
    np.testing.assert_allclose(z0.std(0), 3, atol=1e-3)


def test_batchnorm_running_averages_and_test_mode():
    rng = np.random.default_rng(4)
    params = _bn_net(1)
    X = np.asarray(rng.normal(1.0, 2.0, (50, 2)), np.float32)
    state = N.BNState(tuple(jnp.asarray(rng.normal(size=n), jnp.float32) for n in (5, 4)),
                      tuple(jnp.asarray(rng.uniform(0.5, 2, n), jnp.float32) for n in (5, 4)))
    new = forward(params, X, "relu", state, train=True, momentum=0.9).bn_state
    # NumPy: the first layer's batch statistics and their EWMA with β = 0.9.
    z1 = X.astype(np.float64) @ np.asarray(params[0]["W"], np.float64) + np.asarray(params[0]["b"])
    np.testing.assert_allclose(new.mean[0], 0.9 * np.asarray(state.mean[0]) + 0.1 * z1.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.var[0], 0.9 * np.asarray(state.var[0]) + 0.1 * z1.var(0), rtol=1e-5, atol=1e-6)
    # Test mode: z_N = (z − μ_run) / sqrt(σ²_run + ε), z_BN = γ z_N + β with the running averages.
    a = X.astype(np.float64)
    for i, layer in enumerate(params[:-1]):
        z = a @ np.asarray(layer["W"], np.float64) + np.asarray(layer["b"])
        z = (z - np.asarray(new.mean[i])) / np.sqrt(np.asarray(new.var[i]) + N.BN_EPS)
        a = np.maximum(np.asarray(layer["gamma"]) * z + np.asarray(layer["beta"]), 0)
    out = a @ np.asarray(params[-1]["W"], np.float64) + np.asarray(params[-1]["b"])
    got = forward(params, X, "relu", new, train=False)
    np.testing.assert_allclose(got.out, out, rtol=1e-4, atol=1e-5)
    for a, b in zip(jax.tree.leaves(got.bn_state), jax.tree.leaves(new), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="running statistics"):
        forward(params, X, "relu", None, train=False)


def test_batchnorm_ignores_padded_examples():
    rng = np.random.default_rng(5)
    params = _bn_net(2)
    X = jnp.asarray(rng.normal(size=(10, 2)), jnp.float32)
    padded = jnp.concatenate([X, jnp.full((6, 2), 50.0)])
    mask = jnp.concatenate([jnp.ones(10), jnp.zeros(6)])
    full = forward(params, X, "tanh").out
    np.testing.assert_allclose(forward(params, padded, "tanh", mask=mask).out[:10], full, rtol=1e-5, atol=1e-6)


# --- losses -----------------------------------------------------------------------------------------


def _np_loss(name, out, y):
    o = out.astype(np.float64)
    s = 2.0 * y - 1
    if name == "least_squares":
        return (o[:, 0] - s) ** 2
    if name == "logistic":
        return np.log(1 + np.exp(-o[:, 0] * s))
    if name == "hinge":
        return np.maximum(0, 1 - o[:, 0] * s)
    if name == "cross_entropy":
        p = np_sigmoid(o[:, 0])
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    p = np.exp(o) / np.exp(o).sum(1, keepdims=True)
    return -np.sum(np.eye(o.shape[1])[y] * np.log(p), 1)


@pytest.mark.parametrize("name", sorted(N.LOSSES))
def test_loss_matches_course_formula(name):
    rng = np.random.default_rng(6)
    spec = N.LOSSES[name]
    k = 4 if name == "softmax_cross_entropy" else 2
    n_out = spec.n_outputs(k)
    out = rng.normal(0, 2, (40, n_out)).astype(np.float32)
    y = rng.integers(0, k, 40).astype(np.int32)
    got = spec.fn(jnp.asarray(out), spec.target(jnp.asarray(y), n_out))
    np.testing.assert_allclose(got, _np_loss(name, out, y), rtol=1e-5, atol=1e-6)
    predicted = np.argmax(out, 1) if n_out > 1 else (out[:, 0] > 0).astype(int)
    np.testing.assert_array_equal(spec.predict(jnp.asarray(out)), predicted)


def test_cross_entropy_is_logistic_under_label_map():
    rng = np.random.default_rng(7)
    z = jnp.asarray(np.concatenate([rng.normal(0, 5, 100), [-80.0, 80.0]]), jnp.float32)[:, None]
    y01 = jnp.asarray(rng.integers(0, 2, 102))
    ce = N.cross_entropy(z, 1.0 * y01)
    logistic = N.logistic(z, 2.0 * y01 - 1)
    np.testing.assert_allclose(ce, logistic, rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(ce))


def test_binary_losses_refuse_more_classes():
    with pytest.raises(ValueError, match="two classes"):
        N.LOSSES["hinge"].n_outputs(3)


def test_l2_adds_lambda_norm_and_two_lambda_w():
    params = N.init_mlp(3, (2, 6, 5, 1), "xavier")
    params[1]["b"] = jnp.ones(5)
    X, y = N.make_dataset("moons", 30, seed=1)
    lam = 0.037
    penalty = lam * sum(np.sum(np.asarray(p["W"], np.float64) ** 2) for p in params)
    np.testing.assert_allclose(N.l2_penalty(params, lam), penalty, rtol=1e-5)
    J = jax.jit(lambda p, lam: N.objective(p, X, y, "tanh", "cross_entropy", lam)[0])
    np.testing.assert_allclose(J(params, lam) - J(params, 0.0), penalty, rtol=1e-4)
    g0 = N.gradients(params, X, y, "tanh", "cross_entropy", 0.0)
    g1 = N.gradients(params, X, y, "tanh", "cross_entropy", lam)
    for a, b, p in zip(g0, g1, params, strict=True):
        np.testing.assert_allclose(b["W"] - a["W"], 2 * lam * np.asarray(p["W"]), rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(b["b"], a["b"], atol=1e-7)


# --- gradients ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation, loss, bn", [
    ("sigmoid", "least_squares", True),
    ("elu", "softmax_cross_entropy", False),
])
def test_gradient_matches_central_differences_float64(activation, loss, bn):
    k = 3 if loss == "softmax_cross_entropy" else 2
    X, y = N.make_dataset("blobs", 12, 0.5, seed=5, n_classes=k)
    with jax.enable_x64(True):
        params = N.init_mlp(7, (2, 4, 3, N.LOSSES[loss].n_outputs(k)), "xavier", batchnorm=bn)
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) + 0.1, params)
        X64 = jnp.asarray(X, jnp.float64)
        grads = N.gradients(params, X64, y, activation, loss, 0.01)
        flat, unravel = ravel_pytree(params)
        h = 1e-6
        steps = h * np.eye(flat.size)
        J = jax.jit(jax.vmap(lambda v: N.objective(unravel(v), X64, y, activation, loss, 0.01)[0]))
        fd = unravel(jnp.asarray((np.asarray(J(flat + steps)) - np.asarray(J(flat - steps))) / (2 * h)))
        assert jax.tree.leaves(grads)[0].dtype == jnp.float64
        for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(fd), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
        norms = N.layer_grad_norms(params, X64, y, activation, loss, 0.01)
        np.testing.assert_allclose(norms, [np.linalg.norm(g["W"]) for g in fd], rtol=1e-6)


def test_weight_norms_and_activation_stats():
    params = N.init_mlp(0, (2, 16, 16, 1), "he")
    np.testing.assert_allclose(N.weight_norms(params), [np.linalg.norm(np.asarray(p["W"])) for p in params],
                               rtol=1e-6)
    X, _ = N.make_dataset("circles", 64, seed=0)
    s = N.layer_activation_stats(params, X, "relu")
    assert len(s.a) == 2 and s.a[0].shape == (64, 16)
    a = X.astype(np.float64)
    for i, layer in enumerate(params[:-1]):
        a = np.maximum(a @ np.asarray(layer["W"], np.float64), 0)
        np.testing.assert_allclose(s.a[i], a, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(s.mean[i], a.mean(), rtol=1e-4)
        np.testing.assert_allclose(s.std[i], a.std(), rtol=1e-4)
        np.testing.assert_allclose(s.saturated[i], np.mean(a == 0), atol=1e-6)  # ReLU' < 0.05 ⇔ dead


def test_scalar_chain():
    s = N.scalar_chain((0.9, 1.0, 1.1), 50)
    np.testing.assert_allclose(s.wL, [0.9**50, 1.0, 1.1**50])
    assert s.wL[0] < 0.01 and s.wL[2] > 100
    assert s.powers.shape == (3, 51) and s.powers[2, 10] == pytest.approx(1.1**10)


# --- the lessons' networks at initialization (their claims: tests/test_lessons.py) ---------------------


@pytest.fixture(scope="module")
def norms():
    return {name: N.layer_norms_at_init(config_of(lesson.settings)) for name, lesson in LESSONS.items()}


def test_one_norm_per_layer(norms):
    for name, n in norms.items():
        assert len(n) == LESSONS[name].settings["depth"] + 1 and np.all(n > 0), name


def test_batchnorm_rescues_the_vanishing_network(norms):
    bn, plain = (LESSONS[k].settings for k in ("deep_batchnorm", "vanishing"))
    assert bn["act"] == plain["act"] and bn["bn"] and not plain["bn"]
    ratio = {k: norms[k][0] / norms[k][-1] for k in ("deep_batchnorm", "vanishing")}
    assert ratio["deep_batchnorm"] > 1e4 * ratio["vanishing"]


def test_exploding_against_its_he_twin(norms):
    he = N.layer_norms_at_init(replace(config_of(LESSONS["exploding"].settings), init="he"))
    assert norms["exploding"].min() > 1e6 > 1e5 * he.max()


# --- training -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xor_run():
    X, y = N.make_dataset("xor", 400, 0.05, seed=0)
    d = N.train_test_split(X, y, 0.25, seed=0)
    params = N.init_mlp(0, (2, 16, 16, 1), "xavier")
    kw = dict(optimizer="adam", epochs=40, batch_size=32, activation="tanh", loss="cross_entropy",
              X_test=d.X_test, y_test=d.y_test, record_every=5)
    return params, d, kw, N.train(params, d.X_train, d.y_train, hp={"lr": 0.01}, key=1, **kw)


def test_adam_learns_xor(xor_run):
    _, d, _, r = xor_run
    assert r.diverged_at is None
    assert float(r.test_acc[0]) < 0.7 and float(r.test_acc[-1]) >= 0.95
    assert float(r.train_loss[-1]) < 0.5 * float(r.train_loss[0])
    n_steps = 40 * math.ceil(len(d.y_train) / 32)
    assert r.loss.shape == (n_steps // 5,) and r.grad_norms.shape == (n_steps // 5, 3)
    np.testing.assert_array_equal(r.step[:3], [1, 6, 11])
    assert r.train_acc.shape == (41,) and r.test_loss.shape == (41,)
    np.testing.assert_allclose(r.clipped_norm, r.grad_norm)


def test_training_is_reproducible_and_does_not_recompile(xor_run):
    params, d, kw, r = xor_run
    size = N._train._cache_size()
    again = N.train(params, d.X_train, d.y_train, hp={"lr": 0.01}, key=1, **kw)
    for a, b in zip(jax.tree.leaves(r), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    other = N.train(params, d.X_train, d.y_train, hp={"lr": 0.02}, key=2, **kw)
    assert not np.array_equal(other.loss, r.loss)
    assert N._train._cache_size() == size


# Batch GD (no shuffle) on both exploding presets: every step sees the whole training set, so a
# frozen state can be replayed, and the two runs share one compiled program (clipping is traced).
EXPLODING_RUN = dict(epochs=8, batch_size=300)


def test_exploding_gradient_descent_diverges_and_reports_where():
    p = config_of(LESSONS["exploding"].settings)
    d = p.data()
    assert len(d.y_train) == EXPLODING_RUN["batch_size"]
    r = p.train(**EXPLODING_RUN)
    assert r.diverged_at is not None
    t, layer = r.diverged_at
    assert 1 <= t <= 5 and 0 <= layer <= p.depth
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(r.params))
    wn = np.asarray(r.weight_norms)
    np.testing.assert_allclose(wn[t - 1], np.asarray(N.weight_norms(r.params)), rtol=1e-6)
    assert np.all(wn[t - 1:] == wn[t - 1])  # frozen from update t on
    if t > 1:
        assert not np.array_equal(wn[t - 2], wn[t - 1])  # update t − 1 was applied
    # Replay update t from the frozen parameters: W − α dW, layer is the first with a non-finite value.
    g = N.gradients(r.params, d.X_train, d.y_train, p.activation, p.loss)
    bad = [not all(np.all(np.isfinite(gx)) and np.all(np.isfinite(np.asarray(px) - p.lr * np.asarray(gx)))
                   for gx, px in zip(jax.tree.leaves(gl), jax.tree.leaves(pl), strict=True))
           for gl, pl in zip(g, r.params, strict=True)]
    assert bad.index(True) == layer


def test_clipping_by_global_norm_bounds_every_step():
    p = config_of(LESSONS["exploding_clipped"].settings)
    kind, c = p.clip
    assert kind == "norm" and (p.activation, p.init, p.sigma) == ("relu", "naive", 1.0)
    r = p.train(**EXPLODING_RUN)
    size = N._train._cache_size()
    assert r.diverged_at is None
    assert np.all(np.asarray(r.clipped_norm) <= c * (1 + 1e-5))
    assert np.asarray(r.grad_norm)[0] > 1e6 * c  # the raw gradient explodes, the step does not
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(r.params))
    assert np.all(np.isfinite(r.loss))
    value = p.train(clip=("value", 1e-3), **EXPLODING_RUN)
    n_params = sum(x.size for x in jax.tree.leaves(r.params))
    assert np.all(np.asarray(value.clipped_norm) <= 1e-3 * math.sqrt(n_params) * (1 + 1e-5))
    assert N._train._cache_size() == size  # clipping is traced: another kind, no recompilation


def test_train_refusals():
    params = N.init_mlp(0, (2, 4, 1))
    X, y = N.make_dataset("moons", 20)
    with pytest.raises(ValueError, match="batchnorm"):
        N.train(params, X, y, batchnorm=True)
    with pytest.raises(ValueError, match="clipping"):
        N.train(params, X, y, clip=("max", 1.0))
    with pytest.raises(ValueError, match="threshold"):
        N.train(params, X, y, clip=("norm", 0.0))
    with pytest.raises(ValueError, match="X_test"):
        N.train(params, X, y, X_test=X)
