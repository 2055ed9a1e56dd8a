"""Hostile and odd input, property-based: every optimizer × surface × hyperparameters drawn
across and beyond their ranges (0, negative, huge, tiny ε), 0 to 2,000 steps.  Never an
exception, every non-finite value reported as divergence, every figure's JSON finite.

CI runs a fixed number of examples; a bigger run: HYPOTHESIS_PROFILE=big python -m pytest
tests/test_hostile.py."""

import json
import os

import numpy as np
import plotly.io as pio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optim import OPTIMIZERS, SCHEDULES, run
from optim.metrics import outcome
from surfaces import SURFACES
from viz.race import RunView, loss_figure, race_figure
from viz.style import Style

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("big", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WILD = st.one_of(
    st.sampled_from([0.0, -1.0, -1e-3, 1e-30, 1e-12, 1.0, 10.0, 1e6, 1e30, 2.0, 0.999999, 1.0 - 1e-7]),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)
STEPS = st.sampled_from([0, 1, 2, 37, 2000])


def _finite_json(fig) -> bool:
    text = pio.to_json(fig.to_dict(), validate=False)
    return "NaN" not in text and "Infinity" not in text and json.loads(text) is not None


@given(name=st.sampled_from(sorted(OPTIMIZERS)), surface=st.sampled_from(sorted(SURFACES)),
       data=st.data(), steps=STEPS, noise=st.sampled_from([0.0, 0.0, 1.0, 1e10]),
       start=st.tuples(WILD, WILD), sched=st.sampled_from(sorted(SCHEDULES)))
def test_any_run_ends_in_a_number_or_a_reported_divergence(name, surface, data, steps, noise, start, sched):
    opt, s = OPTIMIZERS[name], SURFACES[surface]
    hp = {h.name: data.draw(WILD, label=h.name) for h in opt.hparams}
    sp = {h.name: data.draw(WILD, label=h.name) for h in SCHEDULES[sched].params}
    tr = run(name, s.grad, start, steps, loss_fn=s.f, schedule=sched, schedule_params=sp, noise=noise, **hp)
    p, loss = np.asarray(tr.params), np.asarray(tr.loss)
    assert p.shape == (steps + 1, 2) and loss.shape == (steps + 1,)
    k = tr.diverged_at
    if not np.isfinite(loss[0]):
        # a start where the surface overflows: the first step is refused, nothing moves
        assert steps == 0 or k == 1
        assert np.all(p == p[0])
    elif k is None:
        assert np.all(np.isfinite(p)) and np.all(np.isfinite(loss))
    else:
        assert 1 <= k <= steps
        assert np.all(np.isfinite(p[:k])) and np.all(np.isfinite(loss[:k]))
        assert np.all(p[k:] == p[k - 1]), "frozen from the diverging step on"
    end = k - 1 if k else steps
    o = outcome(p, loss, k, s.domain, None)
    run_view = RunView(name, opt.label, p, loss, end, o.verdict if k else "", 0)
    assert _finite_json(race_figure("data:image/png;base64,", s.domain, s.minima, start, [run_view], Style()))
    assert _finite_json(loss_figure([run_view], s.min_value, s.minima, Style()))
