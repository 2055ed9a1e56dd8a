"""Update rules against independent oracles: optax (full trajectories) and the course's formulas
written out by hand in NumPy float64 (first steps).  Parametrized over the registry, so a new
optimizer or convention fails here until an oracle is registered for it."""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim
from optim import OPTIMIZERS
from optim.rules import CLIPS, full_hp
from optim.rules_modern import MODERN
from surfaces import SURFACES

# The rules of optim/rules_modern.py have their oracles in test_rules_modern.py (which checks that
# every registry entry has one there or here); the generic tests below run over the whole registry.
CLASSIC = [name for name in OPTIMIZERS if name not in {o.name for o in MODERN}]
PAIRS = [(name, conv) for name in CLASSIC for conv in OPTIMIZERS[name].conventions]
STEPS = 200

# --- problems (module-level functions: compilations are cached across tests) -------------------

_ROT = np.array([[math.cos(0.6), -math.sin(0.6)], [math.sin(0.6), math.cos(0.6)]])
A_NP = _ROT @ np.diag([1.0, 10.0]) @ _ROT.T  # SPD, eigenvalues 1 and 10, axes rotated
A = jnp.asarray(A_NP, jnp.float32)


def quad_grad(p):
    """∇ ½ pᵀ A p = A p."""
    return A @ p


rosen_grad = SURFACES["rosenbrock"].grad


def problem_grad(p, which):
    """The quadratic's gradient (which = 0) or Rosenbrock's (which = 1).  ``which`` is traced, so
    that one compilation per rule serves both problems."""
    return jnp.where(which == 0, quad_grad(p), rosen_grad(p))


# name -> (which, start)
PROBLEMS = {
    "quadratic": (0, np.array([2.0, -1.5], np.float32)),
    # Above the valley (y = x²): the adaptive rules, moving about α per step, stay on their way down
    # into it for 200 steps instead of bouncing across its floor, where float32 rounding grows.
    "rosenbrock": (1, np.array([-0.5, 2.0], np.float32)),
}


# --- oracles ------------------------------------------------------------------------------------


def _adagrad_eps_outside(lr, eps):
    """Hand oracle (optax has no AdaGrad with ε outside the root): s := s + g², u = −α g / (√s + ε)."""

    def init(params):
        return jax.tree.map(jnp.zeros_like, params)

    def update(g, s, params=None):
        s = jax.tree.map(lambda s, g: s + g * g, s, g)
        return jax.tree.map(lambda g, s: -lr * g / (jnp.sqrt(s) + eps), g, s), s

    return optax.GradientTransformation(init, update)


# (optimizer, convention) -> optax transformation built from the run's hyperparameters.
ORACLES = {
    ("gd", "course"): lambda h: optax.sgd(h["lr"]),
    ("momentum", "course"): lambda h: optax.sgd(h["lr"] * (1 - h["beta"]), momentum=h["beta"]),
    ("momentum", "pytorch"): lambda h: optax.sgd(h["lr"], momentum=h["beta"]),
    # Compared on the look-ahead point φ = W − αβv (see LOOKAHEAD), which follows optax's Nesterov.
    ("nesterov", "course"): lambda h: optax.sgd(h["lr"] * (1 - h["beta"]), momentum=h["beta"], nesterov=True),
    ("nesterov", "pytorch"): lambda h: optax.sgd(h["lr"], momentum=h["beta"], nesterov=True),
    ("rmsprop", "course"): lambda h: optax.rmsprop(h["lr"], decay=h["beta"], eps=h["eps"], eps_in_sqrt=True),
    ("rmsprop", "pytorch"): lambda h: optax.rmsprop(h["lr"], decay=h["beta"], eps=h["eps"], eps_in_sqrt=False),
    ("adam", "course"): lambda h: optax.adam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    ("adam", "pytorch"): lambda h: optax.adam(h["lr"], h["beta1"], h["beta2"], eps=h["eps"], eps_root=0.0),
    ("nadam", "course"): lambda h: optax.nadam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    ("nadam", "pytorch"): lambda h: optax.nadam(h["lr"], h["beta1"], h["beta2"], eps=h["eps"], eps_root=0.0),
    ("adamax", "course"): lambda h: optax.adamax(h["lr"], h["beta1"], h["beta2"], h["eps"]),
    # optax's AdaGrad is α g / √(s + ε) (with 0 where s = 0, where g = 0 too): the course's form.
    ("adagrad", "course"): lambda h: optax.adagrad(h["lr"], initial_accumulator_value=0.0, eps=h["eps"]),
    ("adagrad", "pytorch"): lambda h: _adagrad_eps_outside(h["lr"], h["eps"]),
    ("adamw", "course"): lambda h: optax.adamw(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"],
                                               weight_decay=h["weight_decay"]),
    ("adamw", "pytorch"): lambda h: optax.adamw(h["lr"], h["beta1"], h["beta2"], eps=h["eps"], eps_root=0.0,
                                                weight_decay=h["weight_decay"]),
}


def _nesterov_lookahead(traj, hp):
    """φ_t = W_t − α β v_t: the point where the course's NAG takes its gradient."""
    return traj.params - hp["lr"] * hp["beta"] * traj.state.v


# (optimizer, convention) -> what of the trajectory the oracle's parameters are compared with.
LOOKAHEAD = {("nesterov", "course"): _nesterov_lookahead}


def _stack(first, rest):
    return jax.tree.map(lambda a, b: jnp.concatenate([jnp.asarray(a)[None], b]), first, rest)


def oracle_path(key, grad_fn, x0, hp, steps):
    """optax's parameters after 0..steps updates."""
    tx = ORACLES[key](hp)

    def body(carry, _):
        p, s = carry
        u, s = tx.update(grad_fn(p), s, p)
        p = optax.apply_updates(p, u)
        return (p, s), p

    _, ps = jax.lax.scan(body, (x0, tx.init(x0)), None, length=steps)
    return _stack(x0, ps)


def rule_path(opt, grad_fn, x0, hp, steps):
    """The rule's parameters and states after 0..steps updates, through ``opt.step`` in a scan.
    (Compiled together with optax's path, with the problem traced: one compilation per rule and
    convention.  ``optim.run`` is tested against hand loops in test_runner.py.)"""

    def body(carry, _):
        p, s = opt.step(grad_fn, *carry, hp)
        return (p, s), (p, s)

    s0 = opt.init(x0)
    _, (ps, ss) = jax.lax.scan(body, (x0, s0), None, length=steps)
    return Path(_stack(x0, ps), _stack(s0, ss))


class Path(NamedTuple):
    params: Any
    state: Any


@partial(jax.jit, static_argnames=("key", "steps"))
def both_paths(key, x0, hp, which, steps=STEPS):
    """(the rule's path, optax's path) on problem ``which``: hyperparameters and problem traced."""
    opt = OPTIMIZERS[key[0]].with_options(convention=key[1])
    grad_fn = lambda p: problem_grad(p, which)  # noqa: E731
    return rule_path(opt, grad_fn, x0, hp, steps), oracle_path(key, grad_fn, x0, hp, steps)


@partial(jax.jit, static_argnames=("key", "steps"))
def both_tree_paths(key, x0, hp, steps):
    opt = OPTIMIZERS[key[0]].with_options(convention=key[1])
    return rule_path(opt, tree_grad, x0, hp, steps), oracle_path(key, tree_grad, x0, hp, steps)


# --- hyperparameter draws -----------------------------------------------------------------------


def _lr_range(opt, problem):
    # Rosenbrock's curvature reaches ~2000 at the start: plain gradient steps need a small α to
    # stay on a smooth (non-chaotic) path; rules that normalize the gradient (those with ε) move
    # about α per step whatever the gradient, so they take a larger α.
    adaptive = any(h.name == "eps" for h in opt.hparams)
    # Adaptive rules with a constant α end in a limit cycle around the minimum, where float32
    # rounding is amplified; their α keeps the 200 steps on the way down.
    # AdaGrad's step shrinks like α/√t and settles: it takes a larger α, without which its path is
    # too short for ε's place to show.
    if problem == "quadratic":
        if opt.name == "adagrad":
            return (0.05, 0.5)
        return (1e-3, 4e-3) if adaptive else (5e-3, 5e-2)
    return (1e-3, 5e-3) if adaptive else (5e-5, 3e-4)


def _log_uniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


DRAWS = {
    "beta": lambda rng: float(rng.uniform(0.5, 0.95)),
    "beta1": lambda rng: float(rng.uniform(0.5, 0.95)),
    "beta2": lambda rng: float(rng.uniform(0.9, 0.999)),
    # ε large enough that its place (inside or outside the root) changes the path beyond the
    # tolerance, so the test tells the two conventions apart.
    "eps": lambda rng: _log_uniform(rng, 1e-2, 1e-1),
    "weight_decay": lambda rng: float(rng.uniform(0.01, 0.3)),
}


def draw_hp(opt, problem, seed):
    rng = np.random.default_rng(seed)
    hp = {"lr": _log_uniform(rng, *_lr_range(opt, problem))}
    for h in opt.hparams:
        if h.name == "lr":
            continue
        assert h.name in DRAWS, f"no draw range registered for hyperparameter {h.name!r} of {opt.name}"
        hp[h.name] = DRAWS[h.name](rng)
    return hp


def _compared(key, traj, hp):
    return LOOKAHEAD.get(key, lambda traj, hp: traj.params)(traj, hp)


# --- optax oracle over full trajectories ---------------------------------------------------------


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name,convention", PAIRS)
def test_rule_matches_optax(name, convention, problem):
    key = (name, convention)
    assert key in ORACLES, f"no oracle registered for {name} ({convention})"
    which, x0 = PROBLEMS[problem]
    opt = OPTIMIZERS[name]
    for seed in range(3):
        hp = draw_hp(opt, problem, seed)
        traj, expected = both_paths(key, jnp.asarray(x0), hp, which)
        expected = np.asarray(expected)
        assert np.all(np.isfinite(expected))
        got = np.asarray(_compared(key, traj, hp))
        assert got.shape == (STEPS + 1, 2)
        np.testing.assert_array_equal(got[0], x0)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=f"{key} {problem} hp={hp}")
        # The path must actually move, or the comparison proves nothing.
        assert np.max(np.abs(expected[-1] - expected[0])) > 1e-2


@pytest.mark.parametrize("name", [n for n in CLASSIC if len(OPTIMIZERS[n].conventions) > 1])
def test_conventions_are_told_apart(name):
    """Each convention's oracle rejects the other conventions' paths (by 10x the tolerance): the
    optax comparison above can tell the conventions apart."""
    which, x0 = PROBLEMS["quadratic"]
    opt = OPTIMIZERS[name]
    hp = {**draw_hp(opt, "quadratic", 0), **({"eps": 0.1} if "eps" in opt.defaults else {})}
    results = {c: both_paths((name, c), jnp.asarray(x0), hp, which) for c in opt.conventions}
    for c in opt.conventions:
        for other in opt.conventions:
            if other != c:
                got = np.asarray(_compared((name, c), results[c][0], hp))
                assert not np.allclose(got, np.asarray(results[other][1]), rtol=1e-3, atol=1e-4), (c, other)


# --- the course's formulas, by hand, first three steps --------------------------------------------


def _gd(g, w, st, h, t):
    return w - h["lr"] * g(w)


def _momentum(g, w, st, h, t):
    st["v"] = h["beta"] * st.get("v", 0.0) + (1 - h["beta"]) * g(w)
    return w - h["lr"] * st["v"]


def _nesterov(g, w, st, h, t):
    v = st.get("v", np.zeros_like(w))
    st["v"] = h["beta"] * v + (1 - h["beta"]) * g(w - h["lr"] * h["beta"] * v)
    return w - h["lr"] * st["v"]


def _rmsprop(g, w, st, h, t):
    d = g(w)
    st["s"] = h["beta"] * st.get("s", 0.0) + (1 - h["beta"]) * d**2
    return w - h["lr"] * d / np.sqrt(st["s"] + h["eps"])


def _adam_moments(d, st, h):
    st["v"] = h["beta1"] * st.get("v", 0.0) + (1 - h["beta1"]) * d
    st["s"] = h["beta2"] * st.get("s", 0.0) + (1 - h["beta2"]) * d**2


def _adam(g, w, st, h, t):
    _adam_moments(g(w), st, h)
    v_hat = st["v"] / (1 - h["beta1"] ** t)
    s_hat = st["s"] / (1 - h["beta2"] ** t)
    return w - h["lr"] * v_hat / np.sqrt(s_hat + h["eps"])


def _adamw(g, w, st, h, t):
    _adam_moments(g(w), st, h)
    v_hat = st["v"] / (1 - h["beta1"] ** t)
    s_hat = st["s"] / (1 - h["beta2"] ** t)
    return w - h["lr"] * (v_hat / np.sqrt(s_hat + h["eps"]) + h["weight_decay"] * w)


def _nadam(g, w, st, h, t):
    d = g(w)
    _adam_moments(d, st, h)
    b1 = h["beta1"]
    v_bar = b1 * st["v"] / (1 - b1 ** (t + 1)) + (1 - b1) * d / (1 - b1**t)
    s_hat = st["s"] / (1 - h["beta2"] ** t)
    return w - h["lr"] * v_bar / np.sqrt(s_hat + h["eps"])


def _adamax(g, w, st, h, t):
    # The course's Adamax has no ε (u := max(β₂ u, |dW|)); the rule adds ε to |dW| to keep u > 0,
    # so this comparison uses a negligible ε (HAND_HP_OVERRIDES).
    d = g(w)
    st["v"] = h["beta1"] * st.get("v", 0.0) + (1 - h["beta1"]) * d
    st["u"] = np.maximum(h["beta2"] * st.get("u", 0.0), np.abs(d))
    return w - h["lr"] / (1 - h["beta1"] ** t) * st["v"] / st["u"]


def _adagrad(g, w, st, h, t):
    d = g(w)
    st["s"] = st.get("s", 0.0) + d**2
    return w - h["lr"] * d / np.sqrt(st["s"] + h["eps"])


HAND = {"gd": _gd, "momentum": _momentum, "nesterov": _nesterov, "rmsprop": _rmsprop, "adam": _adam,
        "adamw": _adamw, "nadam": _nadam, "adamax": _adamax, "adagrad": _adagrad}
# ε = 1e-2 so that a misplaced ε (outside the root) shows beyond the tolerance.
HAND_HP = {"lr": 0.1, "beta": 0.8, "beta1": 0.7, "beta2": 0.95, "eps": 1e-2, "weight_decay": 0.1}
HAND_HP_OVERRIDES = {"adamax": {"eps": 1e-10}}
HAND_DIAG = np.array([1.0, 4.0])


def hand_grad(w):
    """∇ ½ (x² + 4 y²) in NumPy float64."""
    return HAND_DIAG * w


def hand_grad_jax(w):
    return jnp.asarray(HAND_DIAG, jnp.float32) * w


@pytest.mark.parametrize("name", CLASSIC)
def test_first_three_steps_match_course_formula_by_hand(name):
    assert name in HAND, f"no hand-written course formula registered for {name}"
    opt = OPTIMIZERS[name]
    hp = {h.name: {**HAND_HP, **HAND_HP_OVERRIDES.get(name, {})}[h.name] for h in opt.hparams}
    w0 = np.array([1.0, -2.0])
    expected, w, st = [w0], w0.copy(), {}
    for t in range(1, 4):
        w = HAND[name](hand_grad, w, st, hp, t)
        expected.append(w)
    params, state = jnp.asarray(w0, jnp.float32), opt.init(jnp.asarray(w0, jnp.float32))
    got = [np.asarray(params)]
    for _ in range(3):
        params, state = opt.step(hand_grad_jax, params, state, hp)
        got.append(np.asarray(params))
    assert int(state.t) == 3
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=2e-6, atol=1e-7)
    assert not np.allclose(expected[1], expected[0])


# --- gradient clipping ---------------------------------------------------------------------------


def _clip_threshold_name(opt):
    extra = [h.name for h in opt.all_hparams if h not in opt.hparams]
    assert len(extra) == 1, extra
    return extra[0]


def _hand_clip(g, mode, c):
    if mode == "value":
        return np.clip(g, -c, c)
    return g * c / max(np.linalg.norm(g), c)


def _hand_gd_clipped(w0, steps, lr, mode, c):
    w = np.asarray(w0, np.float64)
    out = [w]
    for _ in range(steps):
        x, y = w
        g = np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
        w = w - lr * _hand_clip(g, mode, c)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("mode", ["value", "norm"])
def test_clipped_gd_matches_hand_loop_with_step(mode):
    """Through opt.step with a threshold c in hp."""
    opt = OPTIMIZERS["gd"].with_options(clip=mode)
    c, lr, x0 = 0.3, 0.05, np.array([-1.5, 2.0])
    expected = _hand_gd_clipped(x0, 20, lr, mode, c)
    params, state = jnp.asarray(x0, jnp.float32), opt.init(jnp.asarray(x0, jnp.float32))
    got = [np.asarray(params)]
    for _ in range(20):
        params, state = opt.step(rosen_grad, params, state, {"lr": lr, _clip_threshold_name(opt): c})
        got.append(np.asarray(params))
    got = np.array(got)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    seen = np.diff(got, axis=0) / -lr  # the gradient GD applied
    if mode == "value":
        assert np.max(np.abs(seen)) <= c * (1 + 1e-4)
    else:
        assert np.max(np.linalg.norm(seen, axis=1)) <= c * (1 + 1e-4)
    # Rosenbrock's gradient there is far above c: clipping was active.
    assert np.linalg.norm(np.asarray(rosen_grad(jnp.asarray(x0, jnp.float32)))) > 10 * c


@pytest.mark.parametrize("mode", ["value", "norm"])
def test_clipped_gd_run_default_threshold_matches_hand_loop(mode):
    opt = OPTIMIZERS["gd"].with_options(clip=mode)
    c = opt.defaults[_clip_threshold_name(opt)]
    x0 = np.array([-1.5, 2.0])
    traj = optim.run("gd", rosen_grad, x0, 30, clip=mode, lr=0.05)
    np.testing.assert_allclose(np.asarray(traj.params), _hand_gd_clipped(x0, 30, 0.05, mode, c),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["value", "norm"])
def test_run_accepts_the_clipping_threshold_of_the_registry(mode):
    """A page builds a slider per entry of ``all_hparams`` and passes the values to ``run`` as
    hyperparameters; the clipping threshold must reach the rule like any other."""
    opt = OPTIMIZERS["gd"].with_options(clip=mode)
    c, x0 = 0.3, np.array([-1.5, 2.0])
    traj = optim.run(opt, rosen_grad, x0, 30, **{"lr": 0.05, _clip_threshold_name(opt): c})
    np.testing.assert_allclose(np.asarray(traj.params), _hand_gd_clipped(x0, 30, 0.05, mode, c),
                               rtol=1e-5, atol=1e-5)


def big_grad(p):
    """A gradient far above any clipping threshold used here, varying with p."""
    return 100.0 * (A @ p) + jnp.array([50.0, -80.0])


@pytest.mark.parametrize("mode", ["value", "norm"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_rule_sees_the_clipped_gradient(name, mode):
    """step(clipping entry, g) == step(plain entry, clip(g)), for three steps."""
    c = 0.7
    base = OPTIMIZERS[name]
    clipping = base.with_options(clip=mode)
    hp = {**base.defaults, "lr": 0.05}
    hp_c = {**hp, _clip_threshold_name(clipping): c}

    def pre_clipped(p):
        return jnp.asarray(_hand_clip(np.asarray(big_grad(p), np.float64), mode, c), jnp.float32)

    x0 = jnp.array([0.5, -0.3])
    p1, s1 = x0, clipping.init(x0)
    p2, s2 = x0, base.init(x0)
    for _ in range(3):
        p1, s1 = clipping.step(big_grad, p1, s1, hp_c)
        p2, s2 = base.step(pre_clipped, p2, s2, hp)
        np.testing.assert_allclose(np.asarray(p1), np.asarray(p2), rtol=1e-5, atol=1e-6)
    # The gradient is far above c, so clipping changed what the rule read.
    assert not np.allclose(np.asarray(pre_clipped(x0)), np.asarray(big_grad(x0)))


# --- registry and options ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_registry_entry_is_complete(name):
    opt = OPTIMIZERS[name]
    assert opt.name == name
    assert opt.label.strip()
    assert opt.hparams and opt.hparams[0].name == "lr"
    names = [h.name for h in opt.hparams]
    assert len(names) == len(set(names))
    for h in opt.all_hparams:
        assert h.low <= h.default <= h.high, h
        assert h.low < h.high, h
        assert h.scale in ("linear", "log", "log1m"), h
        if h.scale == "log":  # a log slider needs positive bounds
            assert h.low > 0, h
        if h.scale == "log1m":  # a slider on log(1 − β) needs β < 1
            assert h.high < 1, h
        assert h.symbol
    lr = next(h for h in opt.hparams if h.name == "lr")
    assert lr.scale == "log"
    latex = dict(opt.latex)
    assert set(latex) == set(opt.conventions)
    assert opt.conventions[0] == "course" and opt.convention == "course"
    for conv in opt.conventions:
        assert latex[conv] and all(eq.strip() for eq in latex[conv])
        assert opt.with_options(convention=conv).equations == tuple(latex[conv])
    assert opt.step_fn.__doc__ and opt.step_fn.__doc__.strip()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_with_options_refuses_unknown_convention_and_clip(name):
    opt = OPTIMIZERS[name]
    with pytest.raises(ValueError, match="keras"):
        opt.with_options(convention="keras")
    with pytest.raises(ValueError, match="sometimes"):
        opt.with_options(clip="sometimes")
    for clip in CLIPS:
        assert opt.with_options(clip=clip).clip == clip


def test_gd_has_no_pytorch_convention():
    with pytest.raises(ValueError):
        OPTIMIZERS["gd"].with_options(convention="pytorch")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_full_hp_refuses_unknown_name(name):
    opt = OPTIMIZERS[name]
    with pytest.raises(ValueError, match="learning_rate"):
        full_hp(opt, {"learning_rate": 0.1})
    assert full_hp(opt, {"lr": 0.5})["lr"] == 0.5
    assert set(full_hp(opt, {})) == {h.name for h in opt.hparams}


def test_run_refuses_unknown_optimizer_and_hyperparameter():
    with pytest.raises(ValueError, match="sgdx"):
        optim.run("sgdx", quad_grad, np.zeros(2), 3)
    with pytest.raises(ValueError, match="betaa"):
        optim.run("adam", quad_grad, np.zeros(2), 3, betaa=0.9)


# --- pytrees ---------------------------------------------------------------------------------------

TREE_CW = jnp.asarray(np.linspace(0.5, 3.0, 6).reshape(3, 2), jnp.float32)


def tree_grad(p):
    """∇ of ½ Σ c_w w² + ½ Σ 2 (b − 1)²."""
    return {"w": TREE_CW * p["w"], "b": 2.0 * (p["b"] - 1.0)}


@pytest.mark.parametrize("name,convention", [("adam", "course"), ("momentum", "course")])
def test_rule_on_a_dict_pytree_matches_optax(name, convention):
    rng = np.random.default_rng(7)
    x0 = {"w": rng.normal(size=(3, 2)).astype(np.float32), "b": rng.normal(size=(2,)).astype(np.float32)}
    hp = draw_hp(OPTIMIZERS[name], "quadratic", 1)
    traj, expected = both_tree_paths((name, convention), jax.tree.map(jnp.asarray, x0), hp, 100)
    assert set(traj.params) == {"w", "b"}
    assert traj.params["w"].shape == (101, 3, 2) and traj.params["b"].shape == (101, 2)
    for k in ("w", "b"):
        np.testing.assert_array_equal(np.asarray(traj.params[k][0]), x0[k])
        np.testing.assert_allclose(np.asarray(traj.params[k]), np.asarray(expected[k]), rtol=1e-4, atol=1e-5)
    state_v = traj.state.v
    assert state_v["w"].shape == (101, 3, 2)
