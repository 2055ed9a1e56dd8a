"""The batch / SGD / mini-batch page's lessons: one optimizer on a real model and data set, with
several batch sizes, each lesson a configuration of the page and a claim on the runs.

``runs`` maps a batch choice ("1", "32", "m") to its ``viz.data.BatchRun`` (``loss_steps`` and the
full-data ``loss`` there, ``path``, ``n_batches``, ``steps``); ``l_star`` is the data set's
minimum L*.  Every check is ``check(runs, l_star) -> Verdict`` and reads the gap L − L* as a
fraction of the start's.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim import run_minibatch
from optim.metrics import path_length
from optim.rules import OPTIMIZERS
from surfaces.data import make_model
from viz.data import BatchRun, batch_size_of, loss_sample_steps, mean_losses, n_batches

PAGE = "data"
Runs = Mapping[str, BatchRun]
NAMES = {"1": "SGD", "m": "batch GD"}
# The page's defaults, the first lesson: a bare URL opens on it.  α = 0.05 lets batch GD get most
# of the way in 10 epochs while SGD's zig-zag stays visible.
BASE: dict[str, Any] = {"model": "linear", "m": 200, "noise": 1.0, "seed": 0, "sizes": ["1", "32", "m"],
                        "epochs": 10, "opt": "gd", "gd.lr": 0.05, "focus": "32"}


def _name(key: str) -> str:
    return NAMES.get(key, f"mini-batches of {key}")


def gap_at(run: BatchRun, l_star: float, step: int) -> float:
    """(L − L*) / (L − L*)₀ at the evaluated update nearest to ``step``."""
    gap = np.asarray(run.loss, np.float64) - l_star
    i = int(np.argmin(np.abs(np.asarray(run.loss_steps) - step)))
    return float(gap[i] / gap[0])


def last_epoch_span(run: BatchRun, l_star: float) -> float:
    """max / min of L − L* over the evaluated updates of the last epoch: how far the loss swings
    there (1 for a run with one update per epoch)."""
    gap = np.asarray(run.loss, np.float64) - l_star
    last = gap[np.asarray(run.loss_steps) >= run.steps - run.n_batches]
    return float(last.max() / max(last.min(), 1e-300))


def _diverged(runs: Runs) -> Verdict | None:
    """Verdict(False, …) naming the runs that diverged (no claim here holds for them), or None."""
    gone = [f"{_name(k)} at update {r.end + 1}" for k, r in runs.items() if r.end < r.steps]
    return Verdict(False, "diverged: " + ", ".join(gone)) if gone else None


def _rises(run: BatchRun) -> bool:
    return bool(np.any(np.diff(np.asarray(run.loss, np.float64)) > 0))


def check_three(runs: Runs, l_star: float, slow: float = 0.05, fast: float = 0.05, close: float = 0.01,
                swings: float = 10.0) -> Verdict:
    """Batch GD's loss never rises and it ends above ``slow`` of its starting gap; SGD is below
    ``fast`` after its first epoch and spans ≥ ``swings``× over its last epoch; the mini-batch run
    ends below ``close`` and spans less than ``swings``× over its last epoch."""
    if v := missing(runs, ("1", "m"), _name) or _diverged(runs):
        return v
    minis = [k for k in runs if k not in ("1", "m")]
    if not minis:
        return Verdict(None, "add a mini-batch size to compare with SGD and batch GD")
    sgd, full = runs["1"], runs["m"]
    ok = not _rises(full) and gap_at(full, l_star, full.steps) > slow
    ok &= gap_at(sgd, l_star, sgd.n_batches) < fast and last_epoch_span(sgd, l_star) >= swings
    parts = [f"batch GD ({full.steps} updates): {'rose' if _rises(full) else 'never rose'}, ends at "
             f"{gap_at(full, l_star, full.steps):.2%} of its start",
             f"SGD ({sgd.steps} updates): {gap_at(sgd, l_star, sgd.n_batches):.2%} after the first epoch, spans "
             f"{last_epoch_span(sgd, l_star):.3g}× over the last"]
    for k in minis:
        r = runs[k]
        ok &= gap_at(r, l_star, r.steps) < close and last_epoch_span(r, l_star) < swings
        parts.append(f"{_name(k)} ({r.steps} updates): ends at {gap_at(r, l_star, r.steps):.2%}, spans "
                     f"{last_epoch_span(r, l_star):.3g}× over the last epoch")
    return Verdict(bool(ok), "; ".join(parts) + " (L − L* as a share of the start's)")


def check_updates_count(runs: Runs, l_star: float, lr: float, far: float = 0.3, close: float = 0.01) -> Verdict:
    """Adam's steps are about α: batch GD's path is at most 1.5 α per update and it ends above ``far``
    of its starting gap; every other run is below ``close`` after the first epoch (SGD) or at the end."""
    if v := missing(runs, ("1", "m"), _name) or _diverged(runs):
        return v
    full = runs["m"]
    walked = path_length(full.path)
    ok = walked <= 1.5 * lr * full.steps and gap_at(full, l_star, full.steps) > far
    parts = [f"batch GD: {full.steps} updates, path {walked:.3g} (α·updates = {lr * full.steps:.3g}), ends at "
             f"{gap_at(full, l_star, full.steps):.2%}"]
    for k, r in runs.items():
        if k != "m":
            at = r.n_batches if k == "1" else r.steps
            ok &= gap_at(r, l_star, at) < close
            parts.append(f"{_name(k)}: {r.steps} updates, {gap_at(r, l_star, at):.2%} after "
                         f"{'the first epoch' if k == '1' else 'the last'}")
    return Verdict(bool(ok), "; ".join(parts) + " (L − L* as a share of the start's)")


def check_big(runs: Runs, l_star: float, close: float = 0.01, far: float = 0.1) -> Verdict:
    """After the first epoch every run but batch GD is below ``close`` of its starting gap; batch
    GD ends above ``far``."""
    if v := missing(runs, ("m",), _name) or _diverged(runs):
        return v
    full = runs["m"]
    ok = gap_at(full, l_star, full.steps) > far
    parts = [f"batch GD after {full.steps} updates: {gap_at(full, l_star, full.steps):.2%}"]
    for k, r in runs.items():
        if k != "m":
            ok &= gap_at(r, l_star, r.n_batches) < close
            parts.append(f"{_name(k)} after its first epoch ({r.n_batches} updates): "
                         f"{gap_at(r, l_star, r.n_batches):.2%}")
    return Verdict(bool(ok), "; ".join(parts) + " (L − L* as a share of the start's)")


def _adam(runs: Runs, l_star: float) -> Verdict:
    return check_updates_count(runs, l_star, LESSONS["adam"].settings["adam.lr"])


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "three", "The course's three",
            "Batch GD sees all m examples, SGD one, mini-batches 16 to 128: smooth and slow, fast and noisy, or "
            "fast with few oscillations.",
            PAGE, BASE,
            "Gradient descent at α = 0.05 for 10 epochs of 200 examples. Batch GD (10 updates) goes down smoothly, "
            "its loss never rises, but slowly: it ends above 5 % of its starting gap L − L*. SGD (2,000 updates) "
            "gets below 5 % within its first epoch but oscillates: over the last epoch its loss swings over more "
            "than a decade. Mini-batches of 32 (70 updates) end below 1 %, and swing less than 10× over the last "
            "epoch.",
            check_three,
        ),
        Lesson(
            "adam", "Mini-batch Adam",
            "Adam moves about α per update: what counts is how many updates an epoch makes.",
            PAGE, {**BASE, "opt": "adam", "adam.lr": 0.1},
            "Adam moves each parameter by about α per update, whatever the gradient's size, so what counts is the "
            "number of updates. At α = 0.1 for 10 epochs, batch GD (10 updates, a path of at most 1.5 α per update) "
            "is still above 30 % of its starting gap; mini-batches of 32 (70 updates) end below 1 %; SGD (2,000 "
            "updates) is below 1 % after its first epoch.",
            _adam,
        ),
        Lesson(
            "big", "5,000 examples",
            "With 5,000 examples an epoch of batch GD is one update: SGD and mini-batches are done before it starts.",
            PAGE, {**BASE, "m": 5000, "sizes": ["1", "128", "m"], "epochs": 5, "focus": "128"},
            "With m = 5,000 an epoch is 5,000 SGD updates, 40 mini-batches of 128, or a single batch-GD update. "
            "After their first epoch SGD and the mini-batches are below 1 % of their starting gap L − L*; batch GD, "
            "after all 5 epochs (5 updates), is still above 10 %.",
            check_big,
        ),
    ]
}


def values(lesson: Lesson) -> dict[str, Any]:
    """Every setting of the page the runs depend on: the lesson's, the page's defaults for the rest."""
    return {**BASE, **lesson.settings}


def run_lesson(lesson: Lesson) -> tuple[dict[str, BatchRun], float]:
    """(runs, L*) as the page makes them: one ``run_minibatch`` per batch size, the full-data loss at
    ``loss_sample_steps``."""
    v = values(lesson)
    model = make_model(v["model"], int(v["m"]), float(v["noise"]), int(v["seed"]))
    opt = v["opt"]
    hp = {h.name: float(v.get(f"{opt}.{h.name}", h.default)) for h in OPTIMIZERS[opt].hparams}
    runs = {}
    for key in v["sizes"]:
        b = batch_size_of(key, model.m)
        tr = run_minibatch(opt, model.per_example_loss, model.surface.start, model.X, model.y,
                           epochs=int(v["epochs"]), batch_size=b, seed=int(v["seed"]), record=("params", "lr"), **hp)
        path = np.asarray(tr.params)
        steps = loss_sample_steps(len(path) - 1, n_batches(model.m, b))
        runs[key] = BatchRun(key, b, model.m, path, np.asarray(tr.lr), steps, mean_losses(model, path[steps]), 0.0,
                             len(path) - 1 if tr.diverged_at is None else tr.diverged_at - 1)
    return runs, float(mean_losses(model, [model.optimum])[0])


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(*run_lesson(lesson))
