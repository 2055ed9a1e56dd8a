"""The loss landscape (surfaces/landscape.py) and the path ``fit`` keeps for it: PCA recovers a
known plane, filter normalization, the grid's centre, projections, the vmapped grid against a
loop, sharpness; the lessons' side claims."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from lessons import landscape as LL
from surfaces import landscape as L
from surfaces import network as N
from surfaces import training as T

DATA = T.make_data("moons", 120, 0.15, seed=3, n_classes=2, test_fraction=0.25)
SIZES = (2, 8, 8, 1)
ACT, LOSS = "tanh", "cross_entropy"


def _params(seed=0):
    return N.init_mlp(seed, SIZES, "xavier")


def _leaves_close(a, b, **tol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **tol)


@pytest.fixture(scope="module")
def run():
    return T.fit(_params(), DATA, "adam", 12, 16, {"lr": 0.05}, 7, ACT, LOSS, path_points=30)


# --- the path fit keeps ----------------------------------------------------------------------------


def test_the_path_starts_at_the_weights_ends_at_the_last_and_meets_the_snapshots(run):
    updates = 12 * 6  # 90 training examples in mini-batches of 16: 6 a epoch
    k = T.path_every(updates, 30)
    np.testing.assert_array_equal(run.path_steps, T.path_steps(updates, k))
    assert run.path_steps[-1] == updates and len(run.path_steps) <= 32
    _leaves_close(L.final(run.path), run.params, rtol=0, atol=0)
    _leaves_close(jax.tree.map(lambda p: p[0], run.path), _params(), rtol=0, atol=0)
    for j, t in enumerate(np.asarray(run.path_steps)):
        if t % 6 == 0:  # an epoch's end: the epoch snapshot, when it has one
            e = t // 6
            where = np.flatnonzero(np.asarray(run.snap_epochs) == e)
            if len(where):
                _leaves_close(jax.tree.map(lambda p: p[j], run.path),
                              jax.tree.map(lambda s: s[where[0]], run.snapshots), rtol=0, atol=0)


def test_the_path_changes_nothing_else_and_a_new_epoch_count_does_not_recompile(run):
    plain = T.fit(_params(), DATA, "adam", 12, 16, {"lr": 0.05}, 7, ACT, LOSS)
    assert plain.path is None and plain.path_steps is None
    for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(run, name))
    size = T.fit_cache_size()
    again = T.fit(_params(), DATA, "adam", 9, 16, {"lr": 0.01}, 3, ACT, LOSS, path_points=30)
    T.fit(_params(), DATA, "adam", 5, 16, {"lr": 0.01}, 3, ACT, LOSS)
    assert T.fit_cache_size() == size
    assert again.path_steps[-1] == 9 * 6


# --- planes ------------------------------------------------------------------------------------------


def test_pca_recovers_a_path_in_a_known_plane():
    rng = np.random.default_rng(0)
    D = 300
    basis, _ = np.linalg.qr(rng.standard_normal((D, 2)))
    centre = rng.standard_normal(D)
    t = np.linspace(0, 1, 40)
    path = centre + np.outer(3 * (1 - t) * np.cos(5 * t), basis[:, 0]) + np.outer((1 - t) * np.sin(3 * t), basis[:, 1])
    other = centre + np.outer(np.linspace(2, 0, 25), basis[:, 0] - basis[:, 1])
    plane = L.pca_plane([path, other], centre)
    assert plane.explained.sum() == pytest.approx(1.0, abs=1e-9)
    assert plane.explained[0] >= plane.explained[1] > 0
    D2 = np.stack([plane.d1, plane.d2], 1)
    np.testing.assert_allclose(D2.T @ D2, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(basis.T @ D2 @ D2.T @ basis, np.eye(2), atol=1e-9)  # the same plane
    coords, off = L.project(plane, path)
    np.testing.assert_allclose(off, 0, atol=1e-9)
    np.testing.assert_allclose(coords @ D2.T + centre, path, atol=1e-9)
    assert L.kept_share(plane, path) == pytest.approx(1.0)


def test_a_path_off_the_plane_is_measured_off_it():
    rng = np.random.default_rng(1)
    centre = np.zeros(50)
    rows = rng.standard_normal((30, 50))
    plane = L.pca_plane([rows], centre)
    assert 0 < plane.explained.sum() < 1
    assert L.kept_share(plane, rows) == pytest.approx(plane.explained.sum())
    _, off = L.project(plane, rows)
    assert np.all(off > 0)


def test_filter_normalization_gives_each_filter_its_weights_norm():
    params = N.init_mlp(0, (2, 5, 7, 3), "he")
    params[0]["b"] = jnp.ones(5)
    d = L.filter_normalized(jax.random.key(4), params)
    for layer, dl in zip(params, d, strict=True):
        np.testing.assert_allclose(np.linalg.norm(dl["W"], axis=0), np.linalg.norm(layer["W"], axis=0), rtol=1e-5)
        np.testing.assert_array_equal(dl["b"], 0)
    bn = N.init_mlp(0, (2, 5, 1), "he", batchnorm=True)
    dbn = L.filter_normalized(jax.random.key(4), bn)
    assert all(np.all(np.asarray(dbn[0][k]) == 0) for k in ("b", "gamma", "beta"))
    other = L.filter_normalized(jax.random.key(5), params)
    assert not np.allclose(other[0]["W"], d[0]["W"])


def test_the_grid_centre_is_the_loss_at_the_centre_and_the_centre_projects_to_zero(run):
    for plane in L.PLANES:
        ls = L.landscape([run.path], run.params, DATA.X_train, DATA.y_train, DATA.X_test, DATA.y_test, ACT, LOSS,
                         plane, n=9, span=1.0)
        assert ls.xs[4] == 0 and ls.ys[4] == 0
        centre = float(L.loss_at(run.params, DATA.X_train, DATA.y_train, ACT, LOSS))
        assert ls.train[4, 4] == pytest.approx(centre, rel=1e-5)
        assert ls.test[4, 4] == pytest.approx(float(L.loss_at(run.params, DATA.X_test, DATA.y_test, ACT, LOSS)),
                                              rel=1e-5)
        np.testing.assert_allclose(ls.coords[0][-1], 0, atol=1e-6)  # the path ends at the centre
        assert ls.off[0][-1] == 0
        assert ls.on_plane[0][-1] == pytest.approx(ls.real[0][-1], rel=1e-5)  # no gap at the centre
        np.testing.assert_allclose(ls.real[0], L.path_losses(run.path, DATA.X_train, DATA.y_train, ACT, LOSS))
    P = L.random_plane(run.params, 0)
    coords, off = L.project(P, L.flat(run.params)[None])
    np.testing.assert_allclose(coords, 0, atol=1e-12)


def test_the_vmapped_grid_equals_a_loop_over_the_grid_points(run):
    P = L.random_plane(run.params, 2)
    unravel = ravel_pytree(run.params)[1]
    d1, d2 = unravel(jnp.asarray(P.d1, jnp.float32)), unravel(jnp.asarray(P.d2, jnp.float32))
    a, b = np.meshgrid(np.linspace(-1, 1, 6), np.linspace(-0.5, 0.5, 5))
    ab = np.stack([a.ravel(), b.ravel()], 1)
    train, test = L.plane_losses(run.params, d1, d2, ab, DATA.X_train, DATA.y_train, DATA.X_test, DATA.y_test,
                                 ACT, LOSS, chunk=7)  # 30 points: 5 chunks, the last one padded
    loop = [float(L.loss_at(jax.tree.map(lambda c, u, v: c + x * u + y * v, run.params, d1, d2),
                            DATA.X_train, DATA.y_train, ACT, LOSS)) for x, y in ab]
    np.testing.assert_allclose(train, loop, rtol=1e-5, atol=1e-6)
    whole, _ = L.plane_losses(run.params, d1, d2, ab, DATA.X_train, DATA.y_train, DATA.X_test, DATA.y_test, ACT, LOSS)
    np.testing.assert_allclose(whole, train, rtol=1e-5, atol=1e-6)
    assert test.shape == train.shape and not np.allclose(test, train)


def test_chunks_bound_the_memory_and_split_evenly():
    assert L.chunk_size(961, 300, 16) == 481  # 833 fit: two equal chunks, not 833 + 128 padded to 1666
    assert L.chunk_size(10, 10, 10) == 10
    assert L.chunk_size(5000, 20_000, 256) == 1


def test_sharpness_is_a_loss_rise_that_grows_with_the_step(run):
    s = [L.sharpness(run.params, DATA.X_train, DATA.y_train, ACT, LOSS, a) for a in (0.0, 0.1, 0.5)]
    assert s[0] == 0 and 0 < s[1] < s[2]


# --- the lessons' numbers beyond their checks ---------------------------------------------------------


def test_the_deep_lessons_comparison_adams_minimum_on_the_moons_is_flat():
    """The deep lesson's claim ends: on the four optimizers' landscape of the moons, Adam's minimum
    rises by less than 0.05 (where the deep, narrow one rises by more than 0.5)."""
    runs, explained = LL.run_lesson(LL.LESSONS["four"])
    assert runs["adam"]["sharpness"] < 0.05
    assert explained is not None and LL.LESSONS["four"].verdict(runs, explained).holds


def test_the_checks_refuse_what_contradicts_them():
    base = dict(train_loss=np.array([1.0, 0.001]), test_acc=np.array([0.5, 0.9]), sharpness=0.01, travel=1.0,
                kept=0.99, gap_mean=0.0, gap_max=0.0, gap_start=0.0)
    runs = {"gd": {**base, "travel": 1.0}, "momentum": base, "rmsprop": {**base, "travel": 4.0}, "adam": base}
    assert LL.check_four(runs, np.array([0.5, 0.3])).holds is False
    assert LL.check_four(runs, None).holds is None
    assert LL.check_four({"adam": base}, np.array([0.9, 0.1])).holds is None
    assert LL.check_sharp_flat({"adam": base, "adam@m": {**base, "sharpness": 0.012}}, None).holds is False
    assert LL.check_deep({"adam": {**base, "sharpness": 0.1}}, None).holds is False
    assert LL.jobs(["adam", "gd"], "32", "32") == [("adam", "adam", "32"), ("gd", "gd", "32")]
    assert LL.jobs(["adam"], "8", "m")[-1] == ("adam@m", "adam", "m")
    assert LL.centre_of(["gd", "adam@m"], "adam") == "adam@m" and LL.centre_of(["gd", "adam"], "gd") == "gd"
