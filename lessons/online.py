"""The lessons of online learning (the page ``online`` is still to come: these lessons are not on
the home page's path yet).

"Adam can fail": Reddi, Kale & Kumar (2018).  On f_t(x) = C x when t mod 3 = 1, else −x, projected
onto [−1, 1], with the paper's β₁ = 0 and β₂ = 1/(1 + C²), Adam's second moment forgets the rare
large gradient C within a round or two, so the two small gradients −1 push harder than the large
one pulls: Adam drifts to +1, the worst point.  AMSGrad keeps the largest ŝ and finds −1; so does
Adam with a large β₂ (Zhang et al., 2022: the failure needs β₂ small for the problem).

A check is ``check(runs) -> Verdict`` on ``runs``: {run name: {"x": iterates (steps + 1,),
"regret": average regret (steps,)}} as ``measure`` makes them (the names: ``RUNS``).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim import run
from surfaces.online import average_regret, reddi

PAGE = "online"

# name -> (optimizer, its hyperparameters given C): the runs the lesson compares.
RUNS = {
    "adam": ("adam", lambda C: {"beta1": 0.0, "beta2": 1 / (1 + C * C)}),
    "amsgrad": ("amsgrad", lambda C: {"beta1": 0.0, "beta2": 1 / (1 + C * C)}),
    "adam_large_beta2": ("adam", lambda C: {"beta1": 0.0, "beta2": 0.999}),
}


def check_adam_fails(runs: Mapping[str, Any], margin: float = 0.5) -> Verdict:
    """Adam ends above +margin, AMSGrad below −margin, Adam with the large β₂ below −margin; and
    Adam's average regret at the end exceeds both of the others'."""
    absent = missing(runs, tuple(RUNS))
    if absent:
        return absent
    end = {k: float(np.asarray(runs[k]["x"])[-1]) for k in RUNS}
    regret = {k: float(np.asarray(runs[k]["regret"])[-1]) for k in RUNS}
    ok = (end["adam"] > margin and end["amsgrad"] < -margin and end["adam_large_beta2"] < -margin
          and regret["adam"] > max(regret["amsgrad"], regret["adam_large_beta2"]))
    return Verdict(bool(ok), "final x: Adam {adam:+.3f}, AMSGrad {amsgrad:+.3f}, Adam with β₂ = 0.999 "
                   "{adam_large_beta2:+.3f}; ".format(**end) + "average regret: Adam {adam:.3f}, AMSGrad "
                   "{amsgrad:.3f}, Adam with β₂ = 0.999 {adam_large_beta2:.3f}".format(**regret))


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "adam_fails", "Adam can fail",
            "A rare large gradient against frequent small ones: Adam forgets the large one and walks to the "
            "worst point; AMSGrad remembers it.",
            PAGE, {"C": 3.0, "steps": 3000, "lr": 0.01, "x0": 0.0},
            "f_t(x) = 3x every third round, −x otherwise, x in [−1, 1]: the best point is −1. With β₁ = 0 and "
            "β₂ = 1/(1 + C²) = 0.1, after 3,000 rounds Adam's iterate ends above +0.5, AMSGrad's below −0.5, and "
            "Adam with β₂ = 0.999 below −0.5 too; Adam's average regret stays the largest.",
            check_adam_fails,
        ),
    ]
}


def measure(lesson: Lesson) -> dict[str, dict[str, np.ndarray]]:
    """The runs of ``RUNS`` from the lesson's settings: the engine's online runs (the gradient of
    round t at the iterate x_t, projected onto the box after each update), as the page makes them."""
    v = lesson.settings
    problem = reddi(float(v["C"]))
    out = {}
    for name, (opt, hp) in RUNS.items():
        tr = run(opt, problem.grad, np.array([float(v["x0"])]), int(v["steps"]), loss_fn=problem.loss,
                 time_varying=True, project=problem.box, record=("params", "loss"), lr=float(v["lr"]),
                 eps=1e-8, **hp(problem.C))
        x = np.asarray(tr.params)[:, 0]
        out[name] = {"x": x, "regret": average_regret(problem, x[:-1])}
    return out
