"""Training the small network as the network page does (viz.network.fit) and the course's claims
measured on it.

Already tested in tests/test_network.py, not repeated here: each loss against its course formula
in NumPy (test_loss_matches_course_formula), cross entropy = logistic under the label map
(test_cross_entropy_is_logistic_under_label_map), L2 adds exactly λ‖W‖² to the loss and 2λW to
the gradient (test_l2_adds_lambda_norm_and_two_lambda_w), Adam on XOR reaches test accuracy ≥ 0.95
(test_adam_learns_xor) and training is reproducible for a seed
(test_training_is_reproducible_and_does_not_recompile).  Here: the page's loop reproduces the
engine's ``train`` and keeps the right snapshots, the schedule drives it, divergence does not
raise, and the overfitting preset's claim holds on fixed seeds."""

import jax
import numpy as np
import pytest

from lessons.network import LESSONS, overfitting_verdict, values
from surfaces import network as N
from surfaces import training as T
from viz import network as V

# One small configuration shared by the tests (one compiled program per optimizer).
DATA = T.make_data("moons", 120, 0.15, seed=3, n_classes=2, test_fraction=0.25)
SIZES = (2, 8, 8, 1)
RUN = dict(epochs=12, batch_size=16, activation="tanh", loss="cross_entropy")


def _params(seed=0):
    return N.init_mlp(seed, SIZES, "xavier")


def _leaves_close(a, b, **tol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **tol)


@pytest.mark.parametrize("optimizer", ["adam", "nesterov"])
def test_fit_reproduces_the_engines_train(optimizer):
    """Same key: the same mini-batches and the same updates as surfaces.network.train (Nesterov
    reads its gradient at the look-ahead point: the step must go through the rule)."""
    params, hp = _params(), {"lr": 0.05}
    f = T.fit(params, DATA, optimizer, hp=hp, key=7, lam=1e-3, **RUN)
    r = N.train(params, DATA.X_train, DATA.y_train, optimizer, hp=hp, key=7, lam=1e-3,
                X_test=DATA.X_test, y_test=DATA.y_test, **RUN)
    _leaves_close(f.params, r.params, rtol=1e-4, atol=1e-5)
    for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
        np.testing.assert_allclose(getattr(f, name), getattr(r, name), rtol=1e-4, atol=1e-5, err_msg=name)
    assert int(f.diverged_step) == -1 and r.diverged_at is None
    assert float(f.test_acc[-1]) > float(f.test_acc[0])


def test_snapshots_are_the_parameters_at_their_epochs():
    params = _params()
    f = T.fit(params, DATA, "adam", hp={"lr": 0.05}, key=7, lam=1e-3, **RUN)
    np.testing.assert_array_equal(f.snap_epochs, np.arange(13))
    _leaves_close(jax.tree.map(lambda s: s[0], f.snapshots), params, rtol=0, atol=0)
    # the snapshot of epoch 5 is where a 5-epoch run (the same first 5 epochs of mini-batches) ends
    five = T.fit(params, DATA, "adam", hp={"lr": 0.05}, key=7, lam=1e-3, **{**RUN, "epochs": 5})
    _leaves_close(jax.tree.map(lambda s: s[5], f.snapshots), five.params, rtol=1e-5, atol=1e-6)
    # the grid's classes are the network's predictions at each snapshot
    for j in (0, 5, 12):
        p = jax.tree.map(lambda s, j=j: s[j], f.snapshots)
        want = N.predict(p, DATA.grid, "tanh", "cross_entropy").label
        np.testing.assert_array_equal(f.classes[j], np.asarray(want))
    assert f.classes.shape == (13, T.GRID**2) and f.classes.dtype == np.int8
    assert T.snapshot_epochs(300) == tuple(range(0, 301, 15)) and T.snapshot_epochs(7) == tuple(range(8))


def test_hyperparameters_and_lambda_do_not_recompile():
    T.fit(_params(), DATA, "adam", hp={"lr": 0.05}, key=7, lam=1e-3, **RUN)
    size = T.fit_cache_size()
    other = T.fit(_params(1), DATA, "adam", hp={"lr": 0.02, "beta1": 0.8}, key=8, lam=0.0, **RUN)
    assert T.fit_cache_size() == size
    assert np.all(np.isfinite(other.train_loss))


def test_the_number_of_epochs_does_not_recompile_and_a_shorter_run_is_a_prefix():
    """Epochs are a traced count in a loop of fixed length: 7 and 40 epochs share one program,
    and the 7-epoch run is the first 7 epochs of the 40-epoch one (same mini-batches)."""
    short = T.fit(_params(), DATA, "momentum", hp={"lr": 0.05}, key=7, **{**RUN, "epochs": 7})
    size = T.fit_cache_size()
    long = T.fit(_params(), DATA, "momentum", hp={"lr": 0.05}, key=7, **{**RUN, "epochs": 40})
    assert T.fit_cache_size() == size
    assert len(short.train_loss) == 8 and len(long.train_loss) == 41 and len(long.lr) == 40
    np.testing.assert_allclose(short.train_loss, long.train_loss[:8], rtol=1e-6)
    np.testing.assert_array_equal(long.snap_epochs, T.snapshot_epochs(40))
    T.timed_fit(_params(), DATA, "momentum", 25, RUN["batch_size"], {"lr": 0.05}, 7, RUN["activation"], RUN["loss"])
    programs = T.compiled_programs()
    T.timed_fit(_params(), DATA, "momentum", 33, RUN["batch_size"], {"lr": 0.01}, 8, RUN["activation"], RUN["loss"])
    assert T.compiled_programs() == programs  # the program compiled for 25 epochs serves 33


def test_the_schedule_sets_the_learning_rate_of_every_update():
    """Step decay with γ = 0.01 every 3 epochs of updates: the per-epoch learning rate follows
    α γ^⌊t/s⌋, and once it is tiny the weights barely move."""
    nb = -(-len(DATA.y_train) // RUN["batch_size"])
    sp = {"gamma": 0.01, "step_size": 3.0 * nb}
    f = T.fit(_params(), DATA, "gd", hp={"lr": 0.5}, key=7, schedule="step", schedule_params=sp, **RUN)
    t = np.arange(RUN["epochs"]) * nb  # updates made before each epoch's first update
    np.testing.assert_allclose(f.lr, 0.5 * 0.01 ** np.floor(t / sp["step_size"]), rtol=1e-6)
    w = [np.concatenate([np.ravel(x[j]) for x in jax.tree.leaves(f.snapshots)]) for j in (0, 3, 9, 12)]
    assert np.linalg.norm(w[1] - w[0]) > 1e3 * np.linalg.norm(w[3] - w[2])


def test_divergence_is_reported_not_raised():
    f = T.fit(_params(), DATA, "gd", hp={"lr": 1e4}, key=7, **{**RUN, "loss": "least_squares"})
    e = int(f.diverged_epoch)
    assert 1 <= e <= 2 and int(f.diverged_step) >= 1
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(f.snapshots))
    rec = T.as_record(f)
    assert rec["diverged_epoch"] == e
    assert "diverged in epoch" in V.NetRun("gd", "GD", rec).note


def _overfitting_pair(seed):
    o = values(LESSONS["overfitting"])
    data = T.make_data(o["data"], o["m"], o["noise"], seed, 2, o["test"])
    params = N.init_mlp(seed, N.mlp_sizes(o["depth"], o["width"]), T.default_init(o["act"]))
    runs = [T.fit(params, data, o["opts"][0], o["epochs"], int(o["batch"]), None, seed, o["act"], o["loss"], lam)
            for lam in (0.0, o["lam"])]
    return data, [V.NetRun(o["opts"][0], f"λ = {lam}", T.as_record(f), lam=lam)
                  for f, lam in zip(runs, (0.0, o["lam"]), strict=True)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overfitting_preset_l2_lowers_the_test_loss_and_the_gap(seed):
    """The page's overfitting preset (40 training examples of noisy moons, a 3 × 64 ReLU network,
    Adam, 300 epochs): without L2 the network fits the training set almost exactly and its test
    loss climbs; with λ = 0.01 the test loss is lower and the train–test gap smaller."""
    data, (plain, reg) = _overfitting_pair(seed)
    assert len(data.y_train) == 40
    tr0, te0 = float(plain.rec["train_loss"][-1]), float(plain.rec["test_loss"][-1])
    tr1, te1 = float(reg.rec["train_loss"][-1]), float(reg.rec["test_loss"][-1])
    assert tr0 < 0.1 and te0 > 3 * tr0  # λ = 0 overfits: near-zero training loss, far higher test loss
    assert te1 < 0.8 * te0
    assert te1 - tr1 < 0.5 * (te0 - tr0)
    assert tr1 > tr0  # the price: a worse fit of the training set
    assert overfitting_verdict(plain.rec, reg.rec).holds
    assert not overfitting_verdict(reg.rec, plain.rec).holds


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_the_last_update_is_the_change_of_the_last_step(optimizer):
    """``Fit.last_update`` is W after the last update minus W before it: the path kept at every
    update (k = 1) says the same; its singular values per weight matrix are ``update_sv``."""
    nb = -(-len(DATA.y_train) // RUN["batch_size"])
    f = T.fit(_params(), DATA, optimizer, hp={"lr": 0.02}, key=7, path_points=RUN["epochs"] * nb, **RUN)
    assert int(f.path_steps[1]) == 1 and int(f.path_steps[-1]) == RUN["epochs"] * nb
    before, after = (jax.tree.map(lambda s, j=j: s[j], f.path) for j in (-2, -1))
    _leaves_close(f.last_update, jax.tree.map(lambda a, b: a - b, after, before), rtol=1e-5, atol=1e-7)
    rec = T.as_record(f)
    assert len(rec["update_sv"]) == len(SIZES) - 1
    for layer, sv in zip(f.last_update, rec["update_sv"], strict=True):
        np.testing.assert_allclose(sv, np.linalg.svd(np.asarray(layer["W"], np.float64), compute_uv=False), rtol=1e-9)
        assert np.all(np.diff(sv) <= 0) and sv[0] > 0


def test_a_diverged_run_keeps_its_last_finite_update():
    f = T.fit(_params(), DATA, "gd", hp={"lr": 1e4}, key=7, **{**RUN, "loss": "least_squares"})
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(f.last_update))


def test_schedule_free_is_its_own_schedule():
    assert T.schedule_of("schedule_free", "cosine", {"total": 10.0}) == ("constant", {})
    assert T.schedule_of("schedule_free", "cosine", (("total", 10.0),)) == ("constant", ())
    assert T.schedule_of("adamw", "cosine", {"total": 10.0}) == ("cosine", {"total": 10.0})
