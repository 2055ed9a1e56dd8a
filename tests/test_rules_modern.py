"""The modern rules (optim/rules_modern.py) against independent oracles, in float32 and float64:
optax over 200 steps (the mapping of conventions beside each oracle), the formulas of their pages
written out by hand in NumPy float64 (first steps), and the engine around them (clipping,
schedules, no recompilation, the network).  Also: every registry entry runs in float64 under
``jax_enable_x64`` (float64 in, float64 out) and matches its oracle there."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import test_rules as classic

import optim
from optim import OPTIMIZERS, run, run_many, run_minibatch
from optim.rules_modern import MODERN, newton_schulz, points, sam_over, schedule_free_y
from optim.runner import compile_count
from surfaces import SURFACES
from surfaces.data import linear_loss, make_line

NAMES = [o.name for o in MODERN]
PAIRS = [(o.name, c) for o in MODERN for c in o.conventions]
STEPS = 200


@pytest.fixture(params=["float32", "float64"])
def precision(request):
    """Runs the test in float32, then with ``jax_enable_x64`` on and float64 parameters; the
    global flag is restored whatever happens."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", request.param == "float64")
    try:
        yield np.dtype(request.param)
    finally:
        jax.config.update("jax_enable_x64", before)


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


# --- oracles -------------------------------------------------------------------------------------------
# course: ε inside the root, sqrt(ŝ + ε) = optax's eps=0, eps_root=ε;  pytorch: sqrt(ŝ) + ε = eps=ε, eps_root=0.


def _sf_course(h):
    """Schedule-free over scale_by_rms with ε inside the root (optax's schedule_free_adamw puts it
    outside: that is the pytorch convention)."""
    base = optax.chain(optax.scale_by_rms(decay=h["beta2"], eps=h["eps"], eps_in_sqrt=True, bias_correction=True),
                       optax.add_decayed_weights(h["weight_decay"]), optax.scale_by_learning_rate(h["lr"]))
    return optax.contrib.schedule_free(base, learning_rate=h["lr"], b1=h["beta1"])


def _sam(base):
    """optax.contrib.sam in opaque mode: the adversarial step +ρ g/‖g‖ (normalize, then sgd(ρ),
    negated by sam), the gradient there, the base rule's update with it."""
    return lambda h: optax.contrib.sam(base(h), optax.chain(optax.contrib.normalize(), optax.sgd(h["rho"])),
                                       sync_period=2, opaque_mode=True)


ORACLES = {
    ("amsgrad", "course"): lambda h: optax.amsgrad(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    ("amsgrad", "pytorch"): lambda h: optax.amsgrad(h["lr"], h["beta1"], h["beta2"], eps=h["eps"], eps_root=0.0),
    # optax's ρ is our β (the averaging coefficient of both running means).
    ("adadelta", "course"): lambda h: optax.adadelta(h["lr"], rho=h["beta"], eps=h["eps"]),
    ("radam", "course"): lambda h: optax.radam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    ("radam", "pytorch"): lambda h: optax.radam(h["lr"], h["beta1"], h["beta2"], eps=h["eps"], eps_root=0.0),
    ("lion", "course"): lambda h: optax.lion(h["lr"], h["beta1"], h["beta2"], weight_decay=h["weight_decay"]),
    # optax's params are y; what the rule records is x = (y − (1 − β₁) z) / β₁ (schedule_free_eval_params).
    ("schedule_free", "course"): _sf_course,
    ("schedule_free", "pytorch"): lambda h: optax.contrib.schedule_free_adamw(
        h["lr"], b1=h["beta1"], b2=h["beta2"], eps=h["eps"], weight_decay=h["weight_decay"]),
    # On a vector, optax's Muon is its fallback adamw(nesterov=True) = Nadam with ε outside the root
    # (pytorch); the course convention's fallback is the course Nadam (optax.nadam, ε inside).
    ("muon", "course"): lambda h: optax.nadam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    ("muon", "pytorch"): lambda h: optax.contrib.muon(h["lr"], beta=h["beta"], eps=h["eps"], adam_b1=h["beta1"],
                                                      adam_b2=h["beta2"]),
    ("sam", "course"): _sam(lambda h: optax.sgd(h["lr"])),
}
EVAL_POINT = {"schedule_free"}  # compared on optax's evaluation point x


def oracle_path(key, grad_fn, x0, hp, steps):
    tx = ORACLES[key](hp)

    def body(carry, _):
        p, s = carry
        u, s = tx.update(grad_fn(p), s, p, grad_fn=lambda q, i: grad_fn(q))
        p = optax.apply_updates(p, u)
        seen = optax.contrib.schedule_free_eval_params(s, p) if key[0] in EVAL_POINT else p
        return (p, s), seen

    _, ps = jax.lax.scan(body, (x0, tx.init(x0)), None, length=steps)
    return classic._stack(x0, ps)


@partial(jax.jit, static_argnames=("key", "steps"))
def both_paths(key, x0, hp, which, steps=STEPS):
    opt = OPTIMIZERS[key[0]].with_options(convention=key[1])
    grad_fn = lambda p: classic.problem_grad(p, which)  # noqa: E731
    return classic.rule_path(opt, grad_fn, x0, hp, steps).params, oracle_path(key, grad_fn, x0, hp, steps)


def _lr_range(name, problem):
    """Rules that normalize their step (ε, sign, orthogonalization) move about α per step; GD under
    SAM takes GD's, small enough to stay outside the ρ-ball of the minimum for 200 steps (inside
    it, SAM circles chaotically and float32 rounding grows); Adadelta's step is its own running
    size times α."""
    if name == "sam":
        return (1e-3, 4e-3) if problem == "quadratic" else (5e-5, 3e-4)
    if name == "adadelta":
        return (0.1, 0.3)
    if name == "radam":  # its first steps are momentum alone, at GD's scale on Rosenbrock
        return (1e-3, 4e-3) if problem == "quadratic" else (5e-5, 2e-4)
    return (1e-3, 4e-3) if problem == "quadratic" else (1e-3, 5e-3)


DRAWS = {**classic.DRAWS, "rho": lambda rng: float(rng.uniform(0.01, 0.2))}


def draw_hp(name, problem, seed):
    rng = np.random.default_rng(seed)
    hp = {"lr": classic._log_uniform(rng, *_lr_range(name, problem))}
    for h in OPTIMIZERS[name].hparams[1:]:
        assert h.name in DRAWS, f"no draw range for {h.name!r} of {name}"
        hp[h.name] = DRAWS[h.name](rng)
    return hp


def test_every_registry_entry_has_an_oracle():
    """Each entry is checked against optax here or in test_rules.py."""
    covered = {k[0] for k in ORACLES} | {k[0] for k in classic.ORACLES}
    assert set(OPTIMIZERS) <= covered, set(OPTIMIZERS) - covered
    assert set(PAIRS) <= set(ORACLES)


@pytest.mark.parametrize("problem", list(classic.PROBLEMS))
@pytest.mark.parametrize("name,convention", PAIRS)
def test_modern_rule_matches_optax(name, convention, problem, precision):
    which, x0 = classic.PROBLEMS[problem]
    x0 = jnp.asarray(x0, precision)
    for seed in range(2):
        hp = draw_hp(name, problem, seed)
        got, expected = (np.asarray(a) for a in both_paths((name, convention), x0, hp, which))
        assert got.dtype == precision and got.shape == (STEPS + 1, 2)
        assert np.all(np.isfinite(expected))
        np.testing.assert_allclose(got, expected, **_tol(precision), err_msg=f"{name} {convention} {problem} {hp}")
        assert np.max(np.abs(expected[-1] - expected[0])) > 1e-2  # the path moved


@pytest.mark.parametrize("name", [n for n in NAMES if len(OPTIMIZERS[n].conventions) > 1])
def test_conventions_are_told_apart(name):
    which, x0 = classic.PROBLEMS["quadratic"]
    hp = {**draw_hp(name, "quadratic", 0), "eps": 0.5}
    got = {c: both_paths((name, c), jnp.asarray(x0), hp, which) for c in OPTIMIZERS[name].conventions}
    # by 10× the tolerance of the oracle comparison
    assert not np.allclose(np.asarray(got["course"][0]), np.asarray(got["pytorch"][1]), rtol=1e-3, atol=1e-4)
    assert not np.allclose(np.asarray(got["pytorch"][0]), np.asarray(got["course"][1]), rtol=1e-3, atol=1e-4)


# --- every registry entry in float64 -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_run_in_float64_gives_float64(name, precision):
    """float64 in, float64 out (and float32 stays float32, x64 on or off): params, loss, gradients,
    learning rates and every floating leaf of the state."""
    s = SURFACES["bowl"]
    x0 = np.asarray([-2.0, 1.0], precision)
    traj = run(name, s.grad, x0, 20, loss_fn=s.f, lr=0.01)
    for a in (traj.params, traj.loss, traj.grads, traj.lr):
        assert np.asarray(a).dtype == precision
    for leaf in jax.tree.leaves(traj.state):
        assert np.asarray(leaf).dtype in (precision, np.int32)
    assert traj.diverged_at is None and np.all(np.isfinite(np.asarray(traj.params)))


@pytest.mark.parametrize("name,convention", classic.PAIRS)
def test_classic_rule_matches_optax_in_float64(name, convention):
    jax.config.update("jax_enable_x64", True)
    try:
        for problem, (which, x0) in classic.PROBLEMS.items():
            hp = classic.draw_hp(OPTIMIZERS[name], problem, 0)
            traj, expected = classic.both_paths((name, convention), jnp.asarray(x0, jnp.float64), hp, which)
            got = np.asarray(classic._compared((name, convention), traj, hp))
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, np.asarray(expected), **_tol(np.float64))
    finally:
        jax.config.update("jax_enable_x64", False)


# --- Muon on matrices ----------------------------------------------------------------------------------

CW = jnp.asarray(np.linspace(0.5, 3.0, 12).reshape(4, 3), jnp.float32)
CV = jnp.asarray(np.linspace(1.0, 2.0, 15).reshape(3, 5), jnp.float32)


def tree_grad(p):
    """∇ of ½ Σ c_w w² + ½ Σ c_v v² + Σ (b − 1)²: a tall matrix, a wide one and a vector."""
    out = {"w": CW * p["w"], "v": CV * p["v"]}
    if "b" in p:
        out["b"] = 2.0 * (p["b"] - 1.0)
    return out


@partial(jax.jit, static_argnames=("convention",))
def muon_paths(x0, hp, convention):
    opt = OPTIMIZERS["muon"].with_options(convention=convention)
    return classic.rule_path(opt, tree_grad, x0, hp, STEPS).params, oracle_path(("muon", "pytorch"), tree_grad,
                                                                             x0, hp, STEPS)


@pytest.mark.parametrize("with_vector", [True, False])
def test_muon_on_matrices_matches_optax(with_vector, precision):
    """optax.contrib.muon on a pytree of a 4×3 and a 3×5 matrix (and a vector, its Adam fallback):
    the pytorch convention throughout; the course convention wherever ε's place does not matter
    (matrices only)."""
    rng = np.random.default_rng(3)
    x0 = {"w": rng.normal(size=(4, 3)), "v": rng.normal(size=(3, 5))}
    if with_vector:
        x0["b"] = rng.normal(size=(3,))
    x0 = jax.tree.map(lambda a: jnp.asarray(a, precision), x0)
    hp = {"lr": 0.01, "beta": 0.9, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8}
    got, expected = muon_paths(x0, hp, "pytorch" if with_vector else "course")
    for k in x0:
        assert got[k].dtype == precision
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(expected[k]),
                                   **(_tol(precision) if precision == np.float64 else dict(rtol=2e-4, atol=2e-5)))
        assert np.max(np.abs(np.asarray(expected[k][-1] - expected[k][0]))) > 0.1


def test_muon_step_of_a_matrix_has_singular_values_near_one():
    """The first update of a matrix is −α · sqrt(max(1, n_out/n_in)) · NS(dW): its singular values,
    over α and the width factor, lie in the quintic's band (about 0.7 to 1.2) for a dW whose
    singular values span two decades (five iterations lift a singular value of about 1/500 of the
    Frobenius norm into the band; smaller ones stay below it)."""
    rng = np.random.default_rng(0)
    w0 = jnp.asarray(rng.normal(size=(3, 6)), jnp.float32)
    d = jnp.asarray(np.diag([10.0, 1.0, 0.1]) @ rng.normal(size=(3, 6)), jnp.float32)
    opt = OPTIMIZERS["muon"]
    hp = {**opt.defaults, "lr": 0.1}
    w1, _ = opt.step(lambda p: d, w0, opt.init(w0), hp)
    sv = np.linalg.svd(np.asarray(w0 - w1) / (0.1 * np.sqrt(6 / 3)), compute_uv=False)
    sd = np.linalg.svd(np.asarray(d), compute_uv=False)
    assert sd.max() > 50 * sd.min()
    assert np.all((sv > 0.6) & (sv < 1.25)), sv


def test_newton_schulz_of_a_row_vector_normalizes_it():
    """A 1 × n matrix has one singular value: orthogonalizing it keeps its direction and sets its
    length to the quintic's value (what Muon would do to the 2-D surfaces' point as a matrix)."""
    g = jnp.asarray([[3.0, -4.0]])
    for scale in (1e-3, 1.0, 1e3):
        x = np.asarray(newton_schulz(scale * g, 1e-8))
        np.testing.assert_allclose(x / np.linalg.norm(x), np.asarray(g) / 5.0, rtol=1e-5)
        assert 0.6 < np.linalg.norm(x) < 1.25
        np.testing.assert_allclose(np.linalg.norm(x), np.linalg.norm(np.asarray(newton_schulz(g, 1e-8))), rtol=1e-4)


# --- SAM over other bases --------------------------------------------------------------------------------

SAM_BASES = {
    "momentum": lambda h: optax.sgd(h["lr"] * (1 - h["beta"]), momentum=h["beta"]),
    "adam": lambda h: optax.adam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
}


@pytest.mark.parametrize("base", list(SAM_BASES))
def test_sam_over_a_base_matches_optax_contrib_sam(base):
    opt = sam_over(base)
    assert opt.name == f"sam_{base}" and "rho" in opt.defaults
    which, x0 = classic.PROBLEMS["quadratic"]
    hp = {**opt.defaults, "lr": 0.01, "rho": 0.1}  # stays outside the ρ-ball of the minimum
    tx = _sam(SAM_BASES[base])(hp)
    grad_fn = lambda p: classic.problem_grad(p, which)  # noqa: E731

    @jax.jit
    def paths(x0):
        def body(carry, _):
            p, s = carry
            u, s = tx.update(grad_fn(p), s, p, grad_fn=lambda q, i: grad_fn(q))
            return (optax.apply_updates(p, u), s), optax.apply_updates(p, u)

        return classic.rule_path(opt, grad_fn, x0, hp, STEPS).params, jax.lax.scan(
            body, (x0, tx.init(x0)), None, length=STEPS)[1]

    got, expected = paths(jnp.asarray(x0))
    np.testing.assert_allclose(np.asarray(got[1:]), np.asarray(expected), rtol=1e-4, atol=1e-5)
    # and it is not the base rule alone
    plain = run(base, grad_fn, x0, STEPS, **{k: v for k, v in hp.items() if k != "rho"})
    assert not np.allclose(np.asarray(plain.params), np.asarray(got), atol=1e-4)
    # SAM through run, as a page would call it
    np.testing.assert_allclose(np.asarray(run(opt, grad_fn, x0, STEPS, **hp).params), np.asarray(got),
                               rtol=1e-4, atol=1e-5)


def test_sam_refuses_bases_that_read_gradients_elsewhere():
    for base in ("nesterov", "schedule_free", "sam"):
        with pytest.raises(ValueError, match="SAM over"):
            sam_over(base)


# --- the formulas of the pages, by hand, first steps ------------------------------------------------------

HAND_HP = {"lr": 0.1, "beta": 0.8, "beta1": 0.7, "beta2": 0.95, "eps": 1e-2, "weight_decay": 0.1, "rho": 0.3}
HAND_DIAG = classic.HAND_DIAG  # ∇ ½ (x² + 4 y²)


def _amsgrad(g, w, st, h, t):
    d = g(w)
    classic._adam_moments(d, st, h)
    st["m"] = np.maximum(st.get("m", 0.0), st["s"] / (1 - h["beta2"] ** t))
    return w - h["lr"] * st["v"] / (1 - h["beta1"] ** t) / np.sqrt(st["m"] + h["eps"])


def _adadelta(g, w, st, h, t):
    d, b = g(w), h["beta"]
    st["s"] = b * st.get("s", 0.0) + (1 - b) * d**2
    delta = -np.sqrt(st.get("d", 0.0) + h["eps"]) / np.sqrt(st["s"] + h["eps"]) * d
    st["d"] = b * st.get("d", 0.0) + (1 - b) * delta**2
    return w + h["lr"] * delta


def _radam(g, w, st, h, t):
    classic._adam_moments(g(w), st, h)
    b2 = h["beta2"]
    v_hat, s_hat = st["v"] / (1 - h["beta1"] ** t), st["s"] / (1 - b2**t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    st.setdefault("rectified", []).append(rho >= 5)
    if rho < 5:
        return w - h["lr"] * v_hat
    r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return w - h["lr"] * r * v_hat / np.sqrt(s_hat + h["eps"])


def _lion(g, w, st, h, t):
    d, m = g(w), st.get("m", 0.0)
    c = h["beta1"] * m + (1 - h["beta1"]) * d
    st["m"] = h["beta2"] * m + (1 - h["beta2"]) * d
    return w - h["lr"] * (np.sign(c) + h["weight_decay"] * w)


def _schedule_free(g, w, st, h, t):
    x, z = w, st.get("z", w)
    y = (1 - h["beta1"]) * z + h["beta1"] * x
    d = g(y)
    st["s"] = h["beta2"] * st.get("s", 0.0) + (1 - h["beta2"]) * d**2
    s_hat = st["s"] / (1 - h["beta2"] ** t)
    st["z"] = z - h["lr"] * (d / np.sqrt(s_hat + h["eps"]) + h["weight_decay"] * y)
    st["wsum"] = st.get("wsum", 0.0) + h["lr"] ** 2  # constant α: α_max = α
    c = h["lr"] ** 2 / st["wsum"]
    return (1 - c) * x + c * st["z"]


def _ns(G, eps):
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G / (np.linalg.norm(G) + eps)
    for _ in range(5):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X


def _muon(g, w, st, h, t):
    """On a 2 × 3 matrix (wide: no transpose; width factor sqrt(3/2))."""
    d, b = g(w), h["beta"]
    st["v"] = b * st.get("v", 0.0) + (1 - b) * d
    v_bar = b * st["v"] / (1 - b ** (t + 1)) + (1 - b) * d / (1 - b**t)
    return w - h["lr"] * np.sqrt(3 / 2) * _ns(v_bar, h["eps"])


def _sam_gd(g, w, st, h, t):
    d = g(w)
    return w - h["lr"] * g(w + h["rho"] * d / np.linalg.norm(d))


HAND = {"amsgrad": _amsgrad, "adadelta": _adadelta, "radam": _radam, "lion": _lion,
        "schedule_free": _schedule_free, "muon": _muon, "sam": _sam_gd}
HAND_STEPS = {"radam": 8}  # ρ_t < 5 for t ≤ 5 (β₂ = 0.95): 8 steps see both branches
MUON_DIAG = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, 1.5]])


@pytest.mark.parametrize("name", NAMES)
def test_first_steps_match_the_formula_by_hand(name):
    opt = OPTIMIZERS[name]
    hp = {h.name: HAND_HP[h.name] for h in opt.hparams}
    if name == "muon":
        w0, diag = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0]]), MUON_DIAG
    else:
        w0, diag = np.array([1.0, -2.0]), HAND_DIAG
    steps = HAND_STEPS.get(name, 3)
    expected, w, st = [w0], w0.copy(), {}
    for t in range(1, steps + 1):
        w = HAND[name](lambda p: diag * p, w, st, hp, t)
        expected.append(w)
    if name == "radam":
        assert not st["rectified"][0] and st["rectified"][-1]
    params = jnp.asarray(w0, jnp.float32)
    state, got = opt.init(params), [w0]
    for _ in range(steps):
        params, state = opt.step(lambda p: jnp.asarray(diag, jnp.float32) * p, params, state, hp)
        got.append(np.asarray(params))
    assert int(state.t) == steps
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected[1], expected[0])


def test_schedule_free_points():
    """The run records x (the average, where the loss is evaluated); ``points`` names x, y and z."""
    opt, s = OPTIMIZERS["schedule_free"], SURFACES["bowl"]
    hp = {**opt.defaults, "lr": 0.05}
    traj = run("schedule_free", s.grad, s.start, 30, loss_fn=s.f, **hp)
    pts = points("schedule_free", traj.params, traj.state, hp)
    np.testing.assert_array_equal(np.asarray(pts["x"]), np.asarray(traj.params))
    np.testing.assert_allclose(np.asarray(traj.loss), np.asarray(jax.vmap(s.f)(pts["x"])), rtol=1e-6)
    y = (1 - hp["beta1"]) * np.asarray(traj.state.z) + hp["beta1"] * np.asarray(traj.params)
    np.testing.assert_allclose(np.asarray(pts["y"]), y, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(schedule_free_y(traj.params, traj.state, hp["beta1"])), y, rtol=1e-6)
    # the recorded gradient is at x; the rule's own is at y (different points after the first step)
    assert not np.allclose(np.asarray(pts["y"][5]), np.asarray(pts["x"][5]))
    assert set(points("adam", traj.params, traj.state, hp)) == {"W"}


# --- the engine around the new rules ------------------------------------------------------------------------

rosen = SURFACES["rosenbrock"]


@pytest.mark.parametrize("name", NAMES)
def test_no_recompilation_when_a_hyperparameter_changes(name):
    opt = OPTIMIZERS[name]
    x0 = np.array([-1.0, 1.5])
    base = {**opt.defaults, "lr": 1e-4}
    run(name, rosen.grad, x0, 40, loss_fn=rosen.f, **base)
    n = compile_count()
    for h in opt.hparams:
        v = base[h.name]
        new = v * 0.5 if v > 0 else 0.1 * h.high
        run(name, rosen.grad, x0, 40, loss_fn=rosen.f, **{**base, h.name: new})
        assert compile_count() == n, h.name
    # run_many with one value per run of every hyperparameter: one program for all values
    hs = {h.name: np.linspace(0.5, 1.0, 3) * (base[h.name] or h.high * 0.1) for h in opt.hparams}
    run_many(name, rosen.grad, np.stack([x0] * 3), 40, loss_fn=rosen.f, **hs)
    m = compile_count()
    run_many(name, rosen.grad, np.stack([x0] * 3), 40, loss_fn=rosen.f, **{k: v * 0.9 for k, v in hs.items()})
    assert compile_count() == m


def _hand_loop(opt, grad_fn, x0, steps, hp, lr_t):
    params, state, out = jnp.asarray(x0, jnp.float32), opt.init(jnp.asarray(x0, jnp.float32)), [np.asarray(x0)]
    for t in range(steps):
        params, state = opt.step(grad_fn, params, state, {**hp, "lr": lr_t(t)})
        out.append(np.asarray(params))
    return np.array(out)


@pytest.mark.parametrize("name", NAMES)
def test_clipping_and_schedules_reach_the_rule(name):
    """run with clipping by norm and an exponential decay == the entry's step called by hand with
    the clipping entry and α_t = α₀ e^(−k t)."""
    opt = OPTIMIZERS[name].with_options(clip="norm")
    hp = {**opt.defaults, "lr": 2e-3 if name in ("sam", "radam") else 0.02, "clip_at": 0.5}
    k = 0.05
    x0 = np.array([-1.0, 1.5], np.float32)
    traj = run(name, rosen.grad, x0, 30, clip="norm", schedule="exponential", schedule_params={"k": k}, **hp)
    expected = _hand_loop(opt, rosen.grad, x0, 30, hp, lambda t: np.float32(hp["lr"] * np.exp(-k * t)))
    np.testing.assert_allclose(np.asarray(traj.params), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(traj.lr), hp["lr"] * np.exp(-k * np.arange(30)), rtol=1e-5)
    # the gradient is far above the threshold on the first steps: clipping was active (sign-like rules,
    # Lion and Adadelta, hardly change their path under it, hence no comparison with the unclipped run)
    norms = np.linalg.norm(np.asarray(jax.vmap(rosen.grad)(jnp.asarray(expected, jnp.float32))), axis=1)
    assert norms[:10].min() > 10 * hp["clip_at"]


X_LINE, Y_LINE = make_line(40, noise=0.5, seed=3)


@pytest.mark.parametrize("name", NAMES)
def test_minibatch_runs_and_reproduces_full_batch(name):
    """run_minibatch with one batch of the whole set == run on the mean loss's gradient."""
    def mean_loss(p):
        return jnp.mean(jax.vmap(linear_loss, (None, 0, 0))(p, X_LINE, Y_LINE))

    hp = {**OPTIMIZERS[name].defaults, "lr": 0.01}
    x0 = np.array([0.5, 1.0])
    mb = run_minibatch(name, linear_loss, x0, X_LINE, Y_LINE, epochs=30, batch_size=40, **hp)
    full = run(name, jax.grad(mean_loss), x0, 30, loss_fn=mean_loss, **hp)
    np.testing.assert_allclose(np.asarray(mb.params), np.asarray(full.params), rtol=1e-5, atol=1e-6)
    small = run_minibatch(name, linear_loss, x0, X_LINE, Y_LINE, epochs=10, batch_size=8, **hp)
    assert small.diverged_at is None and float(small.loss[-1]) < float(small.loss[0])


@pytest.mark.parametrize("name", NAMES)
def test_every_new_rule_trains_the_network(name):
    """surfaces/training.fit with each new rule: finite, the training loss goes down, and a new
    value of a hyperparameter compiles nothing."""
    from surfaces import network as N
    from surfaces import training as T

    data = T.make_data("moons", 120, 0.1, 0, 2)
    params = N.init_mlp(jax.random.key(0), [2, 8, 8, 2], "he")
    hp = {**OPTIMIZERS[name].defaults, "lr": 1e-3 if name in ("lion", "schedule_free", "muon") else 1e-2}
    if name == "adadelta":
        hp["lr"] = 1.0
    fit = T.fit(params, data, name, epochs=15, batch_size=32, hp=hp)
    loss = np.asarray(fit.train_loss)
    assert int(fit.diverged_step) == -1 and np.all(np.isfinite(loss))
    assert loss[-1] < loss[0]
    n = T.fit_cache_size()
    T.fit(params, data, name, epochs=15, batch_size=32, hp={**hp, "lr": hp["lr"] * 0.5})
    assert T.fit_cache_size() == n


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_registry_metadata(name):
    opt = OPTIMIZERS[name]
    assert 1800 < opt.year <= 2026
    assert opt.paper.strip() and opt.idea.strip()
    assert len(opt.idea) < 220  # one line on a page


def test_optim_exports_the_modern_rules():
    assert set(NAMES) == {"amsgrad", "adadelta", "radam", "lion", "schedule_free", "muon", "sam"}
    assert all(optim.get_optimizer(n) is OPTIMIZERS[n] for n in NAMES)


@pytest.mark.parametrize("name,convention", PAIRS)
def test_stepping_through_a_modern_rule_shows_its_equations(name, convention):
    """The race page's step-through: rules without numbered templates show their registry equations."""
    from optim.explain import TEMPLATES, substituted

    assert (name, convention) not in TEMPLATES
    eqs = substituted(name, convention, OPTIMIZERS[name].defaults, {}, 0)
    assert eqs == list(OPTIMIZERS[name].with_options(convention=convention).equations)
