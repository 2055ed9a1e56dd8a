"""Online runs (time-varying objectives, projection) against a NumPy loop, and the lesson "Adam can
fail" (Reddi et al., 2018) measured with the engine."""

from __future__ import annotations

import numpy as np
import pytest

from lessons import online as L
from optim import run, run_many
from optim.runner import compile_count
from surfaces.online import average_regret, reddi, slopes

P = reddi(3.0)


def np_online(rule, T, lr, beta2, x0=0.0, C=3.0, eps=1e-8):
    """Adam (β₁ = 0) or AMSGrad on Reddi's problem in NumPy float64, projected onto [−1, 1]."""
    x, s, s_max, xs, losses = x0, 0.0, 0.0, [x0], []
    for t in range(1, T + 1):
        c = C if t % 3 == 1 else -1.0
        losses.append(c * x)
        s = beta2 * s + (1 - beta2) * c * c
        s_hat = s / (1 - beta2**t)
        s_max = max(s_max, s_hat)
        den = np.sqrt((s_max if rule == "amsgrad" else s_hat) + eps)
        x = float(np.clip(x - lr * c / den, -1.0, 1.0))
        xs.append(x)
    return np.array(xs), np.array(losses)


@pytest.mark.parametrize("rule", ["adam", "amsgrad"])
def test_online_projected_run_matches_numpy_loop(rule):
    beta2 = 0.1
    tr = run(rule, P.grad, np.array([0.0]), 1200, loss_fn=P.loss, time_varying=True, project=P.box,
             lr=0.01, beta1=0.0, beta2=beta2, eps=1e-8)
    xs, losses = np_online(rule, 1200, 0.01, beta2)
    np.testing.assert_allclose(np.asarray(tr.params)[:, 0], xs, atol=1e-5)
    # loss[i] is the loss of round i + 1 at params[i]
    np.testing.assert_allclose(np.asarray(tr.loss)[:-1], losses, atol=1e-5)
    # the gradient of round t is read at params[t − 1]
    np.testing.assert_allclose(np.asarray(tr.grads)[:, 0], slopes(P, 1200))
    # the projection was active: the iterate sits on a bound
    assert np.isclose(np.abs(np.asarray(tr.params)).max(), 1.0)


def test_online_runs_do_not_recompile_and_run_many_matches():
    x0 = np.array([0.0])
    run("adam", P.grad, x0, 300, loss_fn=P.loss, time_varying=True, project=P.box, lr=0.01, beta1=0.0, beta2=0.1)
    n = compile_count()
    for kw in ({"lr": 0.02}, {"beta2": 0.999}, {"beta1": 0.5}):
        run("adam", P.grad, x0, 300, loss_fn=P.loss, time_varying=True, project=(-0.5, 0.5),
            **{"lr": 0.01, "beta1": 0.0, "beta2": 0.1, **kw})
    assert compile_count() == n
    many = run_many("adam", P.grad, np.array([[0.0], [0.5]]), 300, loss_fn=P.loss, time_varying=True,
                    project=P.box, lr=np.array([0.01, 0.02]), beta1=0.0, beta2=0.1)
    for i, (x, lr) in enumerate([(0.0, 0.01), (0.5, 0.02)]):
        one = run("adam", P.grad, np.array([x]), 300, loss_fn=P.loss, time_varying=True, project=P.box,
                  lr=lr, beta1=0.0, beta2=0.1)
        np.testing.assert_allclose(np.asarray(many.params[i]), np.asarray(one.params), atol=1e-6)


def test_average_regret_by_hand():
    x = np.array([0.0, 1.0, -1.0, 0.5])
    c = np.array([3.0, -1.0, -1.0, 3.0])
    played = np.cumsum(c * x)
    best = -np.abs(np.cumsum(c))  # min over [−1, 1] of (Σ c) x
    np.testing.assert_allclose(average_regret(P, x), (played - best) / np.arange(1, 5))
    with pytest.raises(ValueError, match="exceed 2"):
        reddi(2.0)


def test_adam_can_fail_holds_with_the_papers_settings():
    lesson = L.LESSONS["adam_fails"]
    assert lesson.settings["steps"] >= 3000 and lesson.settings["C"] > 2
    runs = L.run_lesson(lesson)
    v = L.check_adam_fails(runs)
    assert L.measure(lesson) == v
    assert v.holds is True, v.detail
    assert runs["adam"]["x"][-1] > 0.5 and runs["amsgrad"]["x"][-1] < -0.5
    assert runs["adam_large_beta2"]["x"][-1] < -0.5
    # the numbers the claim box would show are the runs'
    assert f"{runs['adam']['x'][-1]:+.3f}" in v.detail
    # and the same loop in NumPy agrees on where Adam and AMSGrad end
    for rule in ("adam", "amsgrad"):
        xs, _ = np_online(rule, 3000, 0.01, 0.1)
        assert abs(xs[-1] - runs[rule]["x"][-1]) < 1e-3


def test_the_check_refuses_what_is_not_the_claim():
    runs = L.run_lesson(L.LESSONS["adam_fails"])
    swapped = {**runs, "adam": runs["amsgrad"]}
    assert L.check_adam_fails(swapped).holds is False
    assert L.check_adam_fails({"adam": runs["adam"]}).holds is None


def test_the_pages_why_measures_the_cycles_of_the_lessons_runs():
    """The online page explains the drift by the first ten cycles of three rounds: Adam's step on the
    large gradient's round is smaller than its two steps up together (it nets upwards), AMSGrad's and
    the large β₂'s net downwards.  AMSGrad's steps by the formula: ŝ_max = C² from round 1 on, so it
    moves −α C / C = −α, then +α / C twice."""
    runs = L.run_lesson(L.LESSONS["adam_fails"])
    down, up, net = L.cycles(runs["adam"]["x"])
    assert down < 0 < up and net > 0 and -down < 2 * up
    assert L.cycles(runs["adam_large_beta2"]["x"])[2] < 0
    lr, C = L.BASE["lr"], L.BASE["C"]
    np.testing.assert_allclose(L.cycles(runs["amsgrad"]["x"]), (-lr, lr / C, -lr + 2 * lr / C), rtol=1e-4)
    x = np.array([0.0, -1.0, 0.5, 1.0, -0.5, 0.0, 0.5])
    assert L.cycles(x, 5) == pytest.approx((-1.25, 0.75, 0.25))  # two whole cycles


# --- Sign descent: Lion beside Adam on the race page ----------------------------------------------------


def test_sign_steps_fit_the_decay_and_measure_the_deviation_by_hand():
    from lessons import race as R

    lr, lam = 0.1, 0.5
    w = [np.array([1.0, -2.0])]
    for s in ([1, -1], [-1, -1], [1, 1]):  # ΔW = −α (s + λ W)
        w.append(w[-1] - lr * (np.array(s, float) + lam * w[-1]))
    rec = {"params": np.array(w), "lr": np.full(3, lr), "diverged_at": None, "loss": np.zeros(4)}
    got_lam, worst = R.sign_steps(rec)
    assert got_lam == pytest.approx(lam) and worst < 1e-12
    rec["params"] = rec["params"].copy()
    rec["params"][2, 0] += 0.03  # one coordinate's step off by 0.3 α (and the next one too)
    assert R.sign_steps(rec)[1] > 0.2


def test_the_sign_descent_check_measures_the_lessons_runs_and_refuses_adam_as_lion():
    from lessons import race as R
    from surfaces import SURFACES

    lesson = R.LESSONS["sign_descent"]
    runs = R.run_lesson(lesson)
    v = lesson.verdict(runs, SURFACES["bowl"])
    assert v.holds is True, v.detail
    steps = np.abs(np.diff(runs["lion"]["params"], axis=0))
    np.testing.assert_allclose(steps, 0.01, rtol=1e-4)  # every coordinate, every step: α
    a = np.abs(np.diff(runs["adam"]["params"], axis=0))
    assert a[0] == pytest.approx([0.01, 0.01], rel=1e-4) and np.all(a[-1] < 1e-4)
    assert lesson.verdict({**runs, "lion": runs["adam"]}, SURFACES["bowl"]).holds is False
    assert lesson.verdict({"adam": runs["adam"]}, SURFACES["bowl"]).holds is None
    # with a weight decay the steps are ±α − αλW, and the check finds λ
    import dataclasses
    decayed = dataclasses.replace(lesson, settings={**lesson.settings, "lion.weight_decay": 0.1})
    lam, worst = R.sign_steps(R.run_lesson(decayed)["lion"])
    assert lam == pytest.approx(0.1, rel=1e-3) and worst < 1e-3
