"""Why a run diverged (optim.metrics.diagnose_divergence), on real runs: the learning rate too
large for the curvature, a surface without a minimum in the run's direction, a loss that is not
finite at the start; and the race's outcome table that reports it."""

from __future__ import annotations

import numpy as np
import pytest

from optim import run, run_minibatch
from optim.metrics import curvature_along, diagnose_divergence, gd_stability_limit, outcome
from surfaces import SURFACES, parse_formula
from surfaces.data import make_model


def _run(surface, opt="gd", steps=300, x0=None, **hp):
    tr = run(opt, surface.grad, np.asarray(x0 if x0 is not None else surface.start, np.float32), steps,
             loss_fn=surface.f, **hp)
    return np.asarray(tr.loss), np.asarray(tr.params), tr.diverged_at


def test_gd_above_two_over_lambda_on_a_bowl_is_lr_too_large():
    bowl = SURFACES["bowl"]
    limit = gd_stability_limit(bowl.f, bowl.minima[0])
    loss, params, div = _run(bowl, lr=1.5 * limit)
    assert div is not None
    h = loss[:div]
    assert np.all(np.diff(h[-4:]) > 0)  # it rose step after step before the overflow
    d = diagnose_divergence(loss, params, div, bowl.f)
    assert d.cause == "lr" and d.message.startswith("lr too large for this curvature")
    # the curvature it measured is the bowl's, so the limit it quotes is 2/λ_max
    assert f"= {limit:.3g}" in d.message or f"= {2 / curvature_along(bowl.f, params[0], params[1] - params[0]):.3g}" \
        in d.message


def test_the_monkey_saddle_has_no_minimum_in_that_direction():
    s = SURFACES["monkey_saddle"]
    loss, params, div = _run(s, lr=0.01)
    assert div is not None and loss[div - 1] < loss[0]  # it went downhill all the way to the overflow
    d = diagnose_divergence(loss, params, div, s.f)
    assert d.cause == "unbounded" and "no minimum in that direction" in d.message
    assert "lr too large" not in d.message
    # the curvature along its last steps is negative: f = r³ cos 3θ falls faster and faster
    assert curvature_along(s.f, params[div - 10], params[div - 10] - params[div - 11]) < 0


def test_a_formula_that_overflows_at_the_start():
    s = parse_formula("exp(exp(exp(x)))", ((-3.0, 3.0), (-3.0, 3.0)))
    assert not np.isfinite(float(s.f(np.asarray(s.start, np.float32))))
    loss, params, div = _run(s, lr=0.01)
    assert div == 1
    d = diagnose_divergence(loss, params, div, s.f)
    assert d.cause == "start" and "not finite at the start" in d.message


def test_a_gradient_that_overflows_at_the_start():
    # exp(x²) at x = 9.5: f ≈ 5e39 overflows float32 already; at 9.3, f ≈ 4e37 is finite, f' = 2x f is not
    s = parse_formula("exp(x**2)", ((-10.0, 10.0), (-1.0, 1.0)), start=(9.3, 0.0))
    assert np.isfinite(float(s.f(np.asarray(s.start, np.float32))))
    loss, params, div = _run(s, lr=0.01)
    d = diagnose_divergence(loss, params, div, s.f)
    assert div == 1 and d.cause == "start" and "gradient is not finite" in d.message


def test_no_divergence_no_diagnosis():
    bowl = SURFACES["bowl"]
    loss, params, div = _run(bowl, lr=0.05)
    assert div is None and diagnose_divergence(loss, params, div, bowl.f) is None


def test_without_the_loss_the_tail_is_evaluated_and_says_the_same():
    for name, lr in (("monkey_saddle", 0.01), ("bowl", 0.15)):
        s = SURFACES[name]
        loss, params, div = _run(s, lr=lr)
        assert diagnose_divergence(None, params, div, s.f).cause == diagnose_divergence(loss, params, div, s.f).cause


def test_sgd_on_a_convex_loss_diverges_because_of_the_rate():
    model = make_model("linear", 200, 1.0, 0)
    tr = run_minibatch("gd", model.per_example_loss, model.surface.start, model.X, model.y, epochs=5, batch_size=1,
                       lr=1.0, record=("params",))
    assert tr.diverged_at is not None
    assert diagnose_divergence(None, np.asarray(tr.params), tr.diverged_at, model.loss).cause == "lr"


def test_a_loss_with_no_pattern_is_an_overflow():
    params = np.zeros((5, 2))
    d = diagnose_divergence(np.array([1.0, 2.0, 0.5, 0.5, 0.5]), params, 3)
    assert d.cause == "overflow"


@pytest.mark.parametrize("name,lr,cause", [("rosenbrock", 0.5, "lr"), ("monkey_saddle", 0.01, "unbounded")])
def test_the_outcome_verdict_reports_the_cause(name, lr, cause):
    s = SURFACES[name]
    loss, params, div = _run(s, lr=lr, steps=200)
    out = outcome(params, loss, div, s.domain, None, s.f)
    assert out.diagnosis.cause == cause
    assert out.verdict.startswith(f"diverged at step {div}: ") and out.diagnosis.message in out.verdict
