"""The tuning page's lesson: random search against grid search when one hyperparameter matters
much more than the other (Bergstra & Bengio, 2012).

A check is ``check(comparison) -> Verdict`` on the page's ``optim.search.SearchComparison``
(the best score so far of both searches, per seed, with the same budget of trials).
"""

from __future__ import annotations

from typing import Any

from lessons.core import Lesson, Verdict
from optim import OPTIMIZERS, search
from surfaces import SURFACES

PAGE = "tuning"
# The page's defaults for what the lesson leaves unnamed.
BUDGET, SEEDS, SHIFT = 16, 50, True


def check_random_wins(cmp: search.SearchComparison, factor: float = 2.0, share: float = 0.6) -> Verdict:
    """Random search's median best is ≥ ``factor``× below grid search's, and random search ends
    better on at least ``share`` of the seeds."""
    g, r = cmp.medians()
    wins = cmp.random_wins()
    ok = r * factor <= g and wins >= share
    return Verdict(bool(ok), f"median best after {cmp.grid_best.shape[1]} trials over {len(cmp.seeds)} seeds: grid "
                   f"{g:.3g}, random {r:.3g} ({g / max(r, 1e-300):.2g}× lower); random search ends better on "
                   f"{wins:.0%} of the seeds")


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "classic", "The classic case: one hyperparameter matters",
            "Sweep the learning rate on a log scale; random search beats grid search when one parameter matters "
            "most.",
            PAGE, {"surface": "bowl", "opt": "rmsprop", "steps": 200, "hx": "lr", "xlo": 1e-4, "xhi": 1.0,
                   "hy": "eps", "ylo": 1e-12, "yhi": 1e-2},
            "RMSprop on the bowl, α from 10⁻⁴ to 1 against ε from 10⁻¹² to 10⁻²: the loss after 200 steps depends "
            "on α and hardly on ε. With 16 trials a 4 × 4 grid tries only 4 values of α, random search 16: over 50 "
            "seeds random search's median best loss is at least 2× lower than the grid's, and it ends better on at "
            "least 60 % of the seeds.",
            check_random_wins,
        ),
    ]
}


def run_lesson(lesson: Lesson, budget: int = BUDGET, seeds: int = SEEDS, shift: bool = SHIFT
               ) -> search.SearchComparison:
    """Grid against random search as the page runs them (the optimizer's other hyperparameters at
    their defaults, from the surface's start)."""
    v: dict[str, Any] = lesson.settings
    surface, opt = SURFACES[v["surface"]], OPTIMIZERS[v["opt"]]
    hps = {h.name: h for h in opt.hparams}
    ax = search.Axis.of(hps[v["hx"]], v["xlo"], v["xhi"])
    ay = search.Axis.of(hps[v["hy"]], v["ylo"], v["yhi"])
    fixed = {k: h.default for k, h in hps.items() if k not in (v["hx"], v["hy"])}
    fn = search.run_score_fn(v["opt"], surface, surface.start, int(v["steps"]), ax, ay, fixed, convention="course")
    return search.compare_searches(fn, budget, range(seeds), shift)


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the comparison its settings make."""
    return lesson.verdict(run_lesson(lesson))
