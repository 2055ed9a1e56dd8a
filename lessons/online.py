"""The online page's lessons ("Where Adam fails", url path ``online``).

"Adam can fail": Reddi, Kale & Kumar (2018).  On f_t(x) = C x when t mod 3 = 1, else −x, projected
onto [−1, 1], with the paper's β₁ = 0 and β₂ = 1/(1 + C²), Adam's second moment forgets the rare
large gradient C within a round or two, so the two small gradients −1 push harder than the large
one pulls: Adam drifts to +1, the worst point.  AMSGrad keeps the largest ŝ and finds −1; so does
Adam with a large β₂ (Zhang et al., 2022: the failure needs β₂ small for the problem).

The page's settings (``v`` below): ``C``, ``steps``, ``lr``, ``x0``, ``beta1``, ``paper`` (β₂ =
1/(1 + C²) when true, else ``beta2``), ``beta2_large`` and ``runs``, the names of ``VARIANTS`` to
run.  A check is ``check(runs) -> Verdict`` on ``runs``: {variant name: {"x": iterates (steps + 1,),
"regret": average regret (steps,)}} as ``run_lesson`` (and the page, through ``run_variant``)
makes them.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim import run
from surfaces.online import average_regret, reddi

PAGE = "online"
EPS = 1e-8


def beta2_of(v: Mapping[str, Any]) -> float:
    """The small β₂ of the page: the paper's 1/(1 + C²), or the slider's."""
    return 1.0 / (1.0 + float(v["C"]) ** 2) if v["paper"] else float(v["beta2"])


class Variant(NamedTuple):
    """A run the page offers: the optimizer, its legend label and its hyperparameters, both
    functions of the page's settings ``v`` (the learning rate is the page's α for every run)."""

    optimizer: str
    label: Callable[[Mapping[str, Any]], str]
    hp: Callable[[Mapping[str, Any]], dict[str, float]]


def _adam_like(v):
    return {"beta1": float(v["beta1"]), "beta2": beta2_of(v), "eps": EPS}


VARIANTS: dict[str, Variant] = {
    "adam": Variant("adam", lambda v: f"Adam (β₂ = {beta2_of(v):.3g})", _adam_like),
    "amsgrad": Variant("amsgrad", lambda v: f"AMSGrad (β₂ = {beta2_of(v):.3g})", _adam_like),
    "adam_large_beta2": Variant("adam", lambda v: f"Adam, large β₂ = {float(v['beta2_large']):g}",
                                lambda v: {**_adam_like(v), "beta2": float(v["beta2_large"])}),
    "rmsprop": Variant("rmsprop", lambda v: f"RMSprop (β = {beta2_of(v):.3g})",
                       lambda v: {"beta": beta2_of(v), "eps": EPS}),
    "adamax": Variant("adamax", lambda v: f"Adamax (β₂ = {beta2_of(v):.3g})", _adam_like),
    "radam": Variant("radam", lambda v: f"RAdam (β₂ = {beta2_of(v):.3g})", _adam_like),
    "adagrad": Variant("adagrad", lambda v: "AdaGrad", lambda v: {"eps": EPS}),
    "lion": Variant("lion", lambda v: f"Lion (β₁ = {float(v['beta1']):g})", lambda v: {"beta1": float(v["beta1"])}),
    "gd": Variant("gd", lambda v: "Online gradient descent", lambda v: {}),
}
# The runs the lesson "Adam can fail" compares.
RUNS = ("adam", "amsgrad", "adam_large_beta2")


def bucket(steps: int) -> int:
    """The step count a run is compiled for (a power of two, at least 512): the steps slider
    moves within it without compiling; a run of ``steps`` is the first rows of the bucket's."""
    return max(512, 2 ** math.ceil(math.log2(max(int(steps), 1))))


def run_variant(name: str, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One variant's online run from the page's settings: the gradient of round t read at the
    iterate x_t, the update projected onto [−1, 1]; ``x`` (steps + 1,) the iterates x_1 …, and
    ``regret`` (steps,) the average regret R_T / T for T = 1 … steps."""
    variant = VARIANTS[name]
    problem = reddi(float(v["C"]))
    steps = int(v["steps"])
    tr = run(variant.optimizer, problem.grad, np.array([float(v["x0"])]), bucket(steps), loss_fn=problem.loss,
             time_varying=True, project=problem.box, record=("params",), lr=float(v["lr"]), **variant.hp(v))
    x = np.asarray(tr.params)[: steps + 1, 0]
    return {"x": x, "regret": average_regret(problem, x[:-1])}


def cycles(x, n: int = 10) -> tuple[float, float, float]:
    """Over the first ``n`` cycles of three rounds (round 3k + 1 has the large gradient C, the two
    after it −1), from the iterates ``x``: (the mean step on the large-gradient rounds, the mean
    step on the others, the mean net move of a cycle).  The steps are the iterate's moves, after
    projection: read them before a run reaches a bound."""
    n = min(n, (len(x) - 1) // 3)
    d = np.diff(np.asarray(x, np.float64)[: 3 * n + 1]).reshape(n, 3)
    return float(d[:, 0].mean()), float(d[:, 1:].mean()), float(d.sum(1).mean())


def check_adam_fails(runs: Mapping[str, Any], margin: float = 0.5) -> Verdict:
    """Adam ends above +margin, AMSGrad below −margin, Adam with the large β₂ below −margin; and
    Adam's average regret at the end exceeds both of the others'."""
    absent = missing(runs, RUNS, lambda n: {"adam": "Adam", "amsgrad": "AMSGrad",
                                            "adam_large_beta2": "Adam with a large β₂"}[n])
    if absent:
        return absent
    end = {k: float(np.asarray(runs[k]["x"])[-1]) for k in RUNS}
    regret = {k: float(np.asarray(runs[k]["regret"])[-1]) for k in RUNS}
    ok = (end["adam"] > margin and end["amsgrad"] < -margin and end["adam_large_beta2"] < -margin
          and regret["adam"] > max(regret["amsgrad"], regret["adam_large_beta2"]))
    return Verdict(bool(ok), "final x: Adam {adam:+.3f}, AMSGrad {amsgrad:+.3f}, Adam with the large β₂ "
                   "{adam_large_beta2:+.3f}; ".format(**end) + "average regret: Adam {adam:.3f}, AMSGrad "
                   "{amsgrad:.3f}, Adam with the large β₂ {adam_large_beta2:.3f}".format(**regret))


# The page's defaults: the first lesson's settings (a bare URL opens on it).
BASE: dict[str, Any] = {"C": 3.0, "steps": 3000, "lr": 0.01, "x0": 0.0, "beta1": 0.0, "paper": True, "beta2": 0.1,
                        "beta2_large": 0.999, "runs": list(RUNS)}

LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "adam_fails", "Adam can fail",
            "A rare large gradient against frequent small ones: Adam forgets the large one and walks to the "
            "worst point; AMSGrad remembers it.",
            PAGE, dict(BASE),
            "f_t(x) = 3x every third round, −x otherwise, x in [−1, 1]: the best point is −1. With β₁ = 0 and "
            "β₂ = 1/(1 + C²) = 0.1, after 3,000 rounds Adam's iterate ends above +0.5, AMSGrad's below −0.5, and "
            "Adam with β₂ = 0.999 below −0.5 too; Adam's average regret stays the largest.",
            check_adam_fails,
        ),
    ]
}


def values(lesson: Lesson) -> dict[str, Any]:
    """Every setting of the page for ``lesson``: its own, the page's defaults for the rest."""
    return {**BASE, **lesson.settings}


def run_lesson(lesson: Lesson) -> dict[str, dict[str, np.ndarray]]:
    """The runs of the lesson's variants from its settings, as the page makes them."""
    v = values(lesson)
    return {name: run_variant(name, v) for name in v["runs"]}


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(run_lesson(lesson))
