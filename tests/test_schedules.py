"""Learning-rate schedules against their closed forms, written here in NumPy float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim
from optim import SCHEDULES
from optim.schedules import full_schedule_params
from surfaces import SURFACES

T = np.arange(0, 1001, dtype=np.float64)


def _cos_factor(t, total, final):
    # Clamped at t = T, like the cosine schedule's min(t, T): the rate stays at a·α₀ afterwards.
    return final + (1 - final) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, total) / total))


def _warmup_cosine(t, lr, p):
    w, total, a = p["warmup"], p["total"], p["final"]
    return np.where(t < w, lr * (t + 1) / w, lr * _cos_factor(np.maximum(t - w, 0), total - w, a))


CLOSED_FORMS = {
    "constant": lambda t, lr, p: lr * np.ones_like(t),
    "time": lambda t, lr, p: lr / (1 + p["k"] * t),
    "step": lambda t, lr, p: lr * p["gamma"] ** np.floor(t / p["step_size"]),
    "exponential": lambda t, lr, p: lr * np.exp(-p["k"] * t),
    "cosine": lambda t, lr, p: lr * _cos_factor(t, p["total"], p["final"]),
    "warmup": lambda t, lr, p: lr * np.minimum(1.0, (t + 1) / p["warmup"]),
    "warmup_cosine": _warmup_cosine,
}

# Two draws per parameter (index 0 and 1), away from the defaults.
PARAM_DRAWS = {
    "k": (0.02, 0.0031),
    "gamma": (0.5, 0.83),
    "step_size": (100.0, 37.0),
    "total": (500.0, 777.0),
    "final": (0.0, 0.1),
    "warmup": (50.0, 13.0),
}


def draw(sched, i):
    for h in sched.params:
        assert h.name in PARAM_DRAWS, f"no test values registered for {sched.name}'s parameter {h.name!r}"
    return {h.name: PARAM_DRAWS[h.name][i] for h in sched.params}


@pytest.mark.parametrize("i", [0, 1])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_closed_form(name, i):
    assert name in CLOSED_FORMS, f"no closed form registered for schedule {name}"
    sched = SCHEDULES[name]
    p, lr = draw(sched, i), [0.1, 0.37][i]
    got = np.asarray(sched(T, lr, p))
    expected = CLOSED_FORMS[name](T, lr, p)
    assert got.shape == T.shape
    # float32 against float64; the absolute term covers cos(π·t/T) near its zero.
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7 * lr)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_starts_at_lr(name):
    sched = SCHEDULES[name]
    for i in (0, 1):
        p, lr = draw(sched, i), 0.2
        expected = lr / p["warmup"] if "warmup" in p else lr
        np.testing.assert_allclose(float(sched(0, lr, p)), expected, rtol=1e-6)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_defaults_reach_the_rule_and_stay_positive(name):
    sched = SCHEDULES[name]
    got = np.asarray(sched(T, 0.1))
    np.testing.assert_allclose(got, CLOSED_FORMS[name](T, 0.1, sched.defaults), rtol=2e-5, atol=1e-8)
    assert np.all(got >= 0) and np.all(got <= 0.1 * (1 + 1e-6))


@jax.jit
def _jitted_all(t, lr, params):
    return {name: s.fn(t, lr, params[name]) for name, s in SCHEDULES.items()}


def test_schedules_work_under_jit_with_traced_t_and_params():
    params = {name: draw(s, 1) for name, s in SCHEDULES.items()}
    got = _jitted_all(jnp.asarray(T, jnp.float32), 0.3, params)
    for name in SCHEDULES:
        np.testing.assert_allclose(np.asarray(got[name]), CLOSED_FORMS[name](T, 0.3, params[name]),
                                   rtol=2e-5, atol=1e-7 * 0.3, err_msg=name)
    # A traced scalar t, one step at a time, gives the same values.
    one = jax.jit(lambda t, lr, p: SCHEDULES["step"].fn(t, lr, p))
    for t in (0.0, 36.0, 37.0, 500.0):
        np.testing.assert_allclose(float(one(t, 0.3, params["step"])),
                                   CLOSED_FORMS["step"](np.float64(t), 0.3, params["step"]), rtol=1e-6)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_registry_entry_is_complete(name):
    s = SCHEDULES[name]
    assert s.name == name and s.label.strip() and s.latex.strip()
    assert s.fn.__doc__ and s.fn.__doc__.strip()
    for h in s.params:
        assert h.low <= h.default <= h.high, h
        if h.scale == "log":
            assert h.low > 0, h


def test_unknown_schedule_parameter_or_name_is_refused():
    with pytest.raises(ValueError, match="kk"):
        full_schedule_params(SCHEDULES["time"], {"kk": 1.0})
    with pytest.raises(ValueError, match="linear_decay"):
        optim.get_schedule("linear_decay")


rosen = SURFACES["rosenbrock"]


def test_run_records_the_step_schedule():
    """A run's traj.lr is the closed form of step decay at t = 0, 1, ..., steps − 1."""
    p = {"gamma": 0.5, "step_size": 50}
    traj = optim.run("gd", rosen.grad, np.array([-1.0, 1.0]), 300, schedule="step", schedule_params=p, lr=1e-3)
    np.testing.assert_allclose(np.asarray(traj.lr), CLOSED_FORMS["step"](np.arange(300.0), 1e-3, p), rtol=1e-6)
    # and GD used it: each update is lr_t times the gradient read at that step
    steps = -np.diff(np.asarray(traj.params), axis=0)
    np.testing.assert_allclose(steps, np.asarray(traj.lr)[:, None] * np.asarray(traj.grads), rtol=1e-4, atol=1e-7)
