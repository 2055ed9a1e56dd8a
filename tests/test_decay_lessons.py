"""The decay page's engine side: every schedule's α_t curve against its closed form (NumPy,
float64, written here), the curve is what a run used, schedule parameters are traced (no
recompilation), and each lesson preset reproduces its claim on fixed seeds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lessons.decay import LESSONS, check_bounces, check_plateaus, check_stall, check_too_large, run_lesson
from optim import OPTIMIZERS, SCHEDULES, run
from optim.metrics import drops, gd_stability_limit, settled_loss
from optim.runner import compile_count
from optim.schedules import schedule_curve
from surfaces import SURFACES
from ui.widgets import hparam_setting, optimizer_settings


def _cos(t, total, final):
    return final + (1 - final) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, total) / total))


CLOSED_FORMS = {
    "constant": lambda t, a, p: np.full_like(t, a),
    "time": lambda t, a, p: a / (1 + p["k"] * t),
    "step": lambda t, a, p: a * p["gamma"] ** np.floor(t / p["step_size"]),
    "exponential": lambda t, a, p: a * np.exp(-p["k"] * t),
    "cosine": lambda t, a, p: a * _cos(t, p["total"], p["final"]),
    "warmup": lambda t, a, p: a * np.minimum(1.0, (t + 1) / p["warmup"]),
    "warmup_cosine": lambda t, a, p: np.where(
        t < p["warmup"], a * (t + 1) / p["warmup"],
        a * _cos(np.maximum(t - p["warmup"], 0), p["total"] - p["warmup"], p["final"])),
}
# Two draws per parameter, away from the registry defaults.
DRAWS = {"k": (0.03, 0.0007), "gamma": (0.3, 0.8), "step_size": (40.0, 7.0), "total": (300.0, 120.0),
         "final": (0.05, 0.0), "warmup": (20.0, 3.0)}
bowl = SURFACES["bowl"]


def _params(name, i):
    return {h.name: DRAWS[h.name][i] for h in SCHEDULES[name].params}


def test_every_schedule_has_a_closed_form_and_test_values():
    assert set(CLOSED_FORMS) == set(SCHEDULES)
    assert {h.name for s in SCHEDULES.values() for h in s.params} <= set(DRAWS)


@pytest.mark.parametrize("i", [0, 1])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_curve_matches_the_closed_form(name, i):
    p, lr = _params(name, i), (0.07, 0.15)[i]
    t, alpha = schedule_curve(name, lr, p, 400)
    np.testing.assert_array_equal(t, np.arange(401))
    np.testing.assert_allclose(alpha, CLOSED_FORMS[name](t.astype(np.float64), lr, p), rtol=2e-5, atol=1e-7 * lr)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_the_curve_is_the_rate_the_run_used(name):
    p = _params(name, 0)
    tr = run("gd", bowl.grad, bowl.start, 64, loss_fn=bowl.f, schedule=name, schedule_params=p, lr=0.05)
    _, alpha = schedule_curve(name, 0.05, p, 64)
    np.testing.assert_allclose(np.asarray(tr.lr), alpha[:64], rtol=1e-6)


@pytest.mark.parametrize("name", [n for n, s in SCHEDULES.items() if s.params])
def test_schedule_parameters_are_traced(name):
    """Changing k, γ, s, T, a or w (and α₀, σ, the seed) reuses the compiled run."""
    def go(i, lr, noise, seed):
        tr = run("gd", bowl.grad, bowl.start, 32, loss_fn=bowl.f, schedule=name, schedule_params=_params(name, i),
                 noise=noise, seed=seed, lr=lr)
        return np.asarray(tr.lr)

    first = go(0, 0.05, 1.0, 0)
    before = compile_count()
    second = go(1, 0.02, 2.5, 7)
    assert compile_count() == before, "a schedule parameter recompiled the run"
    assert not np.allclose(first, second)


def test_stability_limit_of_gd_on_the_bowl():
    assert gd_stability_limit(bowl.f, bowl.minima[0]) == pytest.approx(2 / 20, rel=1e-5)


# --- the lessons -----------------------------------------------------------------------------------

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def lesson_runs():
    """Each lesson's runs on a few seeds (the lesson's own seed first)."""
    return {key: {seed: run_lesson(lesson, seed) for seed in SEEDS} for key, lesson in LESSONS.items()}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("key", list(LESSONS))
def test_the_lesson_reproduces_its_claim(lesson_runs, key, seed):
    lesson = LESSONS[key]
    verdict = lesson.verdict(lesson_runs[key][seed], bowl)
    assert verdict.holds is True, verdict.detail


def test_constant_lr_oscillates_final_loss_is_higher_than_with_exponential_decay(lesson_runs):
    runs = lesson_runs["oscillates"][LESSONS["oscillates"].settings["seed"]]
    assert runs["exponential"]["loss"][-1] < runs["constant"]["loss"][-1]
    for name in ("time", "step", "exponential"):
        assert 3 * settled_loss(runs[name]["loss"]) <= settled_loss(runs["constant"]["loss"]), name
    # the constant run is still moving at the end: it bounces, it does not crawl
    p = runs["constant"]["params"]
    assert np.mean(np.linalg.norm(np.diff(p[-50:], axis=0), axis=1)) > 0.1


def test_too_large_a_rate_diverges_with_a_constant_rate_and_recovers_with_decay(lesson_runs):
    v = LESSONS["too_large"].settings
    assert v["gd.lr"] > gd_stability_limit(bowl.f, bowl.minima[0])
    runs = lesson_runs["too_large"][v["seed"]]
    assert runs["constant"]["diverged_at"] is not None
    for name in ("time", "exponential"):
        assert runs[name]["diverged_at"] is None
        assert np.max(runs[name]["loss"]) > 2 * runs[name]["loss"][0], "the run is first thrown out"
        assert runs[name]["loss"][-1] <= v["tol"]


def test_too_fast_a_decay_stalls(lesson_runs):
    runs = lesson_runs["stall"][LESSONS["stall"].settings["seed"]]
    exp = runs["exponential"]
    # its whole budget: Σ α₀ e^(−kt) = α₀ / (1 − e^(−k)) ≈ α₀ / k, nearly all of it spent by t = 100
    v = LESSONS["stall"].settings
    budget = v["gd.lr"] / (1 - np.exp(-v["d.exponential.k"]))
    assert exp["lr"][-1] < 1e-9 and np.sum(exp["lr"]) == pytest.approx(budget, rel=1e-4)
    assert np.sum(exp["lr"][:100]) > 0.99 * budget
    assert settled_loss(exp["loss"]) > 3 * settled_loss(runs["time"]["loss"])


def test_step_decay_drops_where_the_rate_drops(lesson_runs):
    v = LESSONS["plateaus"].settings
    runs = lesson_runs["plateaus"][v["seed"]]
    s = int(v["d.step.step_size"])
    np.testing.assert_array_equal(drops(runs["step"]["lr"]), np.arange(s, v["steps"], s))
    loss = runs["step"]["loss"]
    assert np.mean(loss[75:150]) > 2 * np.mean(loss[225:300])


def test_every_lesson_value_is_a_valid_page_setting():
    """A preset writes its values into the page's widgets: each must be one the widget accepts."""
    settings = {s.key: s for name in OPTIMIZERS for s in optimizer_settings(name)}
    settings.update({s.key: s for s in (hparam_setting(f"d.{n}", h) for n, sc in SCHEDULES.items() for h in sc.params)})
    for lesson in LESSONS.values():
        values = lesson.settings
        for key, value in values.items():
            if key in settings:
                assert settings[key].parse(settings[key].encode(value)) == pytest.approx(value), (lesson.key, key)
        assert set(values["scheds"]) <= set(SCHEDULES) and values["surface"] in SURFACES


def test_lessons_are_full_configurations():
    for lesson in LESSONS.values():
        values = lesson.settings
        for key in ("surface", "opt", "steps", "noise", "seed", "tol", "scheds", "x0", "y0", f"{values['opt']}.lr"):
            assert key in values, (lesson.key, key)
        for name in values["scheds"]:
            for h in SCHEDULES[name].params:
                assert f"d.{name}.{h.name}" in values
        assert lesson.claim.strip() and lesson.title.strip()


# --- the checks say no when the claim does not hold -----------------------------------------------


def _rec(loss, lr=None, div=None):
    loss = np.asarray(loss, np.float64)
    return {"loss": loss, "lr": np.full(len(loss) - 1, 0.1) if lr is None else np.asarray(lr), "diverged_at": div}


def test_checks_refuse_when_the_claim_fails_or_a_run_is_missing():
    flat = _rec(np.full(101, 0.5))
    assert check_bounces({"constant": flat, "time": flat}).holds is False
    assert check_bounces({"time": flat}).holds is None
    assert check_stall({"exponential": flat}).holds is None
    assert check_too_large({"constant": flat, "time": _rec(np.full(101, 1e-6))}).holds is False  # no divergence
    assert check_too_large({"constant": _rec(np.full(101, 1.0), div=40),
                            "time": _rec(np.full(101, 1e-6))}).holds is True
    assert check_plateaus({"constant": flat, "step": flat}).holds is False  # the rate never drops
    slow = {**LESSONS["stall"].settings, "scheds": ["time", "exponential"], "d.exponential.k": 0.005}
    lesson = dataclasses.replace(LESSONS["stall"], settings=slow)
    assert lesson.verdict(run_lesson(lesson), bowl).holds is False  # a slow exponential decay does not stall
