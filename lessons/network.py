"""The small-network page's lessons: a classification task, a network and several optimizers,
each lesson a configuration of the page and a claim on the trained runs.

``runs`` maps an optimizer's name to its run (``surfaces.training.as_record``: per epoch
``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``; ``diverged_epoch``) and, when the
page's overfitting panel is on, ``L2_OFF`` and ``L2_ON`` to the first optimizer's runs with
λ = 0 and with the page's λ; when its edge-of-stability panel is on, ``EOS + name`` to each
optimizer's full-batch run with its sharpness (``surfaces.sharpness.eos_record``).  Every check
is ``check(runs) -> Verdict``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim.rules import OPTIMIZERS
from surfaces import network as N
from surfaces.sharpness import eos_record
from surfaces.training import as_record, default_init, fit, make_data

PAGE = "network"
L2_OFF, L2_ON = "l2:off", "l2:on"
EOS = "eos:"
Runs = Mapping[str, Mapping[str, Any]]
# The page's defaults, the first lesson: a bare URL opens on it.
BASE: dict[str, Any] = dict(data="moons", classes=2, m=300, test=0.25, seed=0, depth=2, width=16, act="tanh",
                            loss="cross_entropy", lam=0.0, opts=["gd", "momentum", "rmsprop", "adam"], batch="32",
                            epochs=100, compare=False)


def _last(rec, key: str) -> float:
    return float(rec[key][-1])


def _label(name: str) -> str:
    return OPTIMIZERS[name].label


def check_fit(runs: Runs, fast=("rmsprop", "adam"), slow=("gd", "momentum"), fit_below: float = 0.01,
              accuracy: float = 0.95, factor: float = 10.0) -> Verdict:
    """Every ``fast`` run ends with a training loss below ``fit_below`` and a test accuracy of at
    least ``accuracy``; every ``slow`` run's training loss is ≥ ``factor`` × the highest of theirs."""
    if v := missing(runs, (*fast, *slow), _label):
        return v
    worst = max(_last(runs[n], "train_loss") for n in fast)
    ok = all(_last(runs[n], "train_loss") < fit_below and _last(runs[n], "test_acc") >= accuracy for n in fast)
    ok &= all(_last(runs[n], "train_loss") >= factor * worst for n in slow)
    return Verdict(bool(ok), "; ".join(f"{_label(n)}: train loss {_last(runs[n], 'train_loss'):.3g}, test accuracy "
                                       f"{_last(runs[n], 'test_acc'):.0%}" for n in (*fast, *slow)))


def check_chance(runs: Runs, learn=("rmsprop", "adam", "nadam"), stuck=("gd", "momentum"), classes: int = 3,
                 accuracy: float = 0.85, chance: float = 0.5) -> Verdict:
    """Every ``stuck`` run ends below ``chance`` test accuracy with a training loss above 0.9 log K;
    every ``learn`` run ends at ``accuracy`` or better."""
    if v := missing(runs, (*learn, *stuck), _label):
        return v
    ok = all(_last(runs[n], "test_acc") < chance and _last(runs[n], "train_loss") > 0.9 * math.log(classes)
             for n in stuck)
    ok &= all(_last(runs[n], "test_acc") >= accuracy for n in learn)
    return Verdict(bool(ok), f"log K = {math.log(classes):.3g}; " + "; ".join(
        f"{_label(n)}: train loss {_last(runs[n], 'train_loss'):.3g}, test accuracy {_last(runs[n], 'test_acc'):.0%}"
        for n in (*stuck, *learn)))


def overfitting_verdict(plain: Mapping[str, Any], regularized: Mapping[str, Any]) -> Verdict:
    """The course's claim on two runs that differ only by λ: with λ > 0 the final test loss is
    lower and the train–test gap smaller than with λ = 0."""
    def final(r):
        tr, te = _last(r, "train_loss"), _last(r, "test_loss")
        return tr, te, te - tr

    tr0, te0, gap0 = final(plain)
    tr1, te1, gap1 = final(regularized)
    holds = te1 < te0 and gap1 < gap0
    detail = (f"test loss {te0:.3g} → {te1:.3g}, train–test gap {gap0:.3g} → {gap1:.3g} "
              f"(train loss {tr0:.3g} → {tr1:.3g}: λ trades a worse fit of the training set for a better test loss)")
    return Verdict(bool(holds), detail)


def check_l2(runs: Runs) -> Verdict:
    """``overfitting_verdict`` on the overfitting panel's two runs."""
    if L2_OFF not in runs or L2_ON not in runs:
        return Verdict(None, "the claim compares λ = 0 with λ > 0: turn the overfitting panel on and set λ > 0")
    return overfitting_verdict(runs[L2_OFF], runs[L2_ON])


def check_eos(runs: Runs, name: str = "gd", start_below: float = 0.8, band=(0.8, 1.3), most: float = 0.8) -> Verdict:
    """Progressive sharpening to the edge of stability, on ``name``'s full-batch run: its sharpness
    starts below ``start_below`` × its threshold θ (2/α for GD), reaches θ, and from the first
    measurement at or above θ on, at least ``most`` of the measurements lie within ``band`` × θ;
    the training loss is lower at the end than at that step, and rose at some step in between
    (it falls, but not monotonically)."""
    if EOS + name not in runs:
        return Verdict(None, f"the claim reads {_label(name)}'s full-batch run: choose {_label(name)} and turn the "
                             "edge-of-stability panel on")
    r = runs[EOS + name]
    th, s, steps, loss = r["threshold"], np.asarray(r["sharpness"]), np.asarray(r["sharp_steps"]), r["loss"]
    if r["diverged_at"] is not None:
        return Verdict(False, f"the run diverged at step {r['diverged_at']}")
    hit = np.flatnonzero(s >= th)
    if not hit.size:
        return Verdict(False, f"the sharpness went from {s[0]:.3g} to at most {np.max(s):.3g}, below θ = {th:.3g}")
    k, after = int(steps[hit[0]]), s[hit[0]:]
    inside = float(np.mean((after >= band[0] * th) & (after <= band[1] * th)))
    rises = int(np.sum(np.diff(loss[k:]) > 0))
    ok = s[0] < start_below * th and inside >= most and loss[-1] < loss[k] and rises > 0
    return Verdict(bool(ok), f"θ = {th:.3g}; sharpness {s[0]:.3g} at step 0, first ≥ θ at step {k}, then within "
                             f"[{band[0]:g}, {band[1]:g}]·θ at {inside:.0%} of the {len(after)} measurements "
                             f"(range {np.min(after):.3g}–{np.max(after):.3g}); training loss {loss[k]:.3g} at step "
                             f"{k}, {loss[-1]:.3g} at step {len(loss) - 1}, rising at {rises} of the "
                             f"{len(loss) - 1 - k} steps in between")


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "defaults", "Four optimizers on two moons",
            "Optimizers, losses and L2 side by side on a real classification task.",
            PAGE, BASE,
            "The same network (2 × 16 tanh), initialization and mini-batches, α = 0.01 for all: RMSprop and Adam, "
            "which rescale each weight's step, fit the two moons in 100 epochs (training loss below 0.01, test "
            "accuracy at least 95 %); GD and momentum, whose steps follow the gradient's small size, end with a "
            "training loss at least 10× higher.",
            check_fit,
        ),
        Lesson(
            "overfitting", "Overfitting: λ = 0 against λ > 0",
            "Few examples and a big network: L2 regularization lowers the test loss.",
            PAGE, {**BASE, "m": 80, "noise": 0.3, "test": 0.5, "depth": 3, "width": 64, "act": "relu", "lam": 0.01,
                   "opts": ["adam"], "epochs": 300, "compare": True},
            "40 training examples of noisy moons and a 3 × 64 ReLU network trained by Adam for 300 epochs. The "
            "course: adding λ‖W‖² to the loss reduces overfitting, so with λ = 0.01 the test loss is lower and the "
            "gap between train and test smaller than with λ = 0, all else equal.",
            check_l2,
        ),
        Lesson(
            "spirals", "Optimizers on three spirals",
            "Three interleaved spirals: GD stalls where adaptive methods learn.",
            PAGE, {**BASE, "data": "spirals", "classes": 3, "m": 600, "depth": 3, "width": 32,
                   "loss": "softmax_cross_entropy", "opts": ["gd", "momentum", "rmsprop", "adam", "nadam"],
                   "epochs": 200},
            "Three interleaved spirals (K = 3) and a 3 × 32 tanh network, α = 0.01 for all: after 200 epochs GD and "
            "momentum are still near chance (test accuracy below 50 %, training loss near log 3 ≈ 1.1, where it "
            "started); RMSprop, Adam and Nadam, which rescale each weight's step, learn the spirals (test accuracy "
            "of 85 % or more).",
            check_chance,
        ),
        Lesson(
            "eos", "The edge of stability",
            "Full-batch GD sharpens the loss until its curvature reaches 2/α, and stays there.",
            PAGE, {**BASE, "loss": "least_squares", "opts": ["gd"], "gd.lr": 0.15, "batch": "m", "eos": True,
                   "eos_steps": 2000},
            "Full-batch GD with α = 0.15 on the 2 × 16 tanh network, least squares, 2,000 steps. On a quadratic, "
            "GD diverges along any direction whose curvature exceeds 2/α ≈ 13.3. Here the sharpness λ_max(∇²L) "
            "starts below 0.8 × 2/α, rises to 2/α (progressive sharpening), and from then on stays within "
            "[0.8, 1.3] × 2/α for at least 80 % of the measurements (the edge of stability, Cohen et al. 2021), "
            "while the training loss keeps falling — lower at the end than when the sharpness reached 2/α — "
            "though not monotonically: it rises at some steps.",
            check_eos,
        ),
    ]
}


def values(lesson: Lesson) -> dict[str, Any]:
    """Every setting of the page for ``lesson``: its own, the first lesson's for the rest, and the
    noise of its data set unless it names one."""
    return {"noise": N.DATASETS[lesson.settings["data"]].noise, **BASE, **lesson.settings}


def run_lesson(lesson: Lesson) -> dict[str, dict[str, Any]]:
    """The lesson's runs as the page makes them (each optimizer at its default hyperparameters,
    a constant rate; and the λ = 0 / λ pair when the overfitting panel is on)."""
    v = values(lesson)
    k = int(v["classes"])
    data = make_data(v["data"], int(v["m"]), float(v["noise"]), int(v["seed"]), k, float(v["test"]))
    sizes = N.mlp_sizes(int(v["depth"]), int(v["width"]), 2, N.LOSSES[v["loss"]].n_outputs(k))
    batch = len(data.y_train) if v["batch"] == "m" else int(v["batch"])

    def hp(name: str) -> dict[str, float]:  # the hyperparameters the lesson sets (the defaults for the rest)
        return {h.name: v[f"{name}.{h.name}"] for h in OPTIMIZERS[name].hparams if f"{name}.{h.name}" in v}

    def one(name: str, lam: float) -> dict[str, Any]:
        params = N.init_mlp(int(v["seed"]), sizes, default_init(v["act"]))
        return as_record(fit(params, data, name, int(v["epochs"]), batch, hp(name), int(v["seed"]), v["act"],
                             v["loss"], lam))

    runs = {name: one(name, float(v["lam"])) for name in v["opts"]}
    if v.get("eos"):
        for name in v["opts"]:
            params = N.init_mlp(int(v["seed"]), sizes, default_init(v["act"]))
            runs[EOS + name] = eos_record(params, data.X_train, data.y_train, name, int(v["eos_steps"]), hp(name),
                                          v["act"], v["loss"], seed=int(v["seed"]))
    if v["compare"] and float(v["lam"]) > 0:
        runs[L2_OFF], runs[L2_ON] = one(v["opts"][0], 0.0), runs[v["opts"][0]]
    return runs


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(run_lesson(lesson))
