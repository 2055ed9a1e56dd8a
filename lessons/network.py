"""The small-network page's lessons: a classification task, a network and several optimizers,
each lesson a configuration of the page and a claim on the trained runs.

``runs`` maps an optimizer's name to its run (``surfaces.training.as_record``: per epoch
``train_loss``, ``test_loss``, ``train_acc``, ``test_acc`` and ``lr`` (the rate of the epoch's
first update); ``diverged_epoch``; ``update_sv``, per weight matrix the singular values of its
last update) and, when the
page's overfitting panel is on, ``L2_OFF`` and ``L2_ON`` to the first optimizer's runs with
λ = 0 and with the page's λ; when its edge-of-stability panel is on, ``EOS + name`` to each
optimizer's full-batch run with its sharpness (``surfaces.sharpness.eos_record``).  When SAM is
among the optimizers (``measures_sharpness``), every run's record also holds ``lambda_max``, the
sharpness λ_max(∇²J) at its final weights (``run_record``).  Every check is
``check(runs) -> Verdict``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim.rules import OPTIMIZERS
from optim.schedules import SCHEDULES
from surfaces import network as N
from surfaces.sharpness import eos_record, final_sharpness
from surfaces.training import Data, Fit, as_record, default_init, fit, make_data, schedule_of

PAGE = "network"
L2_OFF, L2_ON = "l2:off", "l2:on"
EOS = "eos:"
LAMBDA_MAX = "lambda_max"
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


def check_no_schedule(runs: Runs, free: str = "schedule_free", scheduled: str = "adamw", decayed: float = 0.01,
                      factor: float = 1.0, accuracy: float = 0.0) -> Verdict:
    """``free`` ran at a constant α and ``scheduled`` decayed its α to at most ``decayed`` × α₀ by
    its last epoch; ``free`` ends with a training loss at most ``factor`` × ``scheduled``'s and a
    test accuracy at most ``accuracy`` below it."""
    if v := missing(runs, (scheduled, free), _label):
        return v
    f, s = runs[free], runs[scheduled]
    lr_f, lr_s = np.asarray(f["lr"], np.float64), np.asarray(s["lr"], np.float64)
    constant = bool(np.all(lr_f == lr_f[0]))
    decay = float(lr_s[-1] / lr_s[0]) if lr_s[0] > 0 else 1.0
    tr_f, tr_s = _last(f, "train_loss"), _last(s, "train_loss")
    ac_f, ac_s = _last(f, "test_acc"), _last(s, "test_acc")
    ok = (constant and decay <= decayed and f["diverged_epoch"] is None and s["diverged_epoch"] is None
          and tr_f <= factor * tr_s and ac_f >= ac_s - accuracy)
    return Verdict(bool(ok), f"{_label(free)}: α = {lr_f[-1]:.3g} " + ("throughout" if constant else
                   f"at the last epoch (from {lr_f[0]:.3g})") + f", train loss {tr_f:.3g}, test accuracy {ac_f:.1%}; "
                   f"{_label(scheduled)}: α from {lr_s[0]:.3g} to {lr_s[-1]:.3g} at the last epoch ({decay:.2%} of "
                   f"α₀), train loss {tr_s:.3g}, test accuracy {ac_s:.1%}; ratio of the train losses "
                   f"{tr_f / tr_s:.3g}")


def measures_sharpness(opts) -> bool:
    """Whether the page measures each run's sharpness at its final weights: when SAM, the rule that
    seeks flat minima, is among the optimizers ``opts``."""
    return "sam" in opts


def run_record(f: Fit, data: Data, activation: str, loss: str, lam: float, sharp: bool,
               compile_seconds: float = 0.0, seconds: float = 0.0) -> dict[str, Any]:
    """A run as the page caches it and the checks read it: ``as_record`` and, when ``sharp``,
    ``lambda_max``: λ_max(∇²J) of the run's training objective (its λ included) on the whole
    training set at its final weights (``surfaces.sharpness.final_sharpness``)."""
    rec = as_record(f, compile_seconds, seconds)
    if sharp:
        rec[LAMBDA_MAX] = final_sharpness(f.params, data.X_train, data.y_train, activation, loss, lam)
    return rec


def check_flat_network(runs: Runs, base: str = "gd", flat: str = "sam", factor: float = 2.0) -> Verdict:
    """Neither run diverged; ``flat`` ends in a minimum at least ``factor`` × flatter than
    ``base``'s (``lambda_max`` at the final weights ≤ ``base``'s / ``factor``); and on this split its
    test loss is lower, its train–test gap (test − train loss) smaller and its test accuracy no lower."""
    if v := missing(runs, (base, flat), _label):
        return v
    b, f = runs[base], runs[flat]
    if LAMBDA_MAX not in b or LAMBDA_MAX not in f:
        return Verdict(None, "the claim reads the sharpness at the final weights, measured when SAM is among the "
                             "optimizers")
    lb, lf = float(b[LAMBDA_MAX]), float(f[LAMBDA_MAX])
    te_b, te_f = _last(b, "test_loss"), _last(f, "test_loss")
    gap_b, gap_f = te_b - _last(b, "train_loss"), te_f - _last(f, "train_loss")
    ac_b, ac_f = _last(b, "test_acc"), _last(f, "test_acc")
    alive = b["diverged_epoch"] is None and f["diverged_epoch"] is None
    ok = alive and 0 < factor * lf <= lb and te_f < te_b and gap_f < gap_b and ac_f >= ac_b
    ratio = f"{lb / lf:.3g}× flatter" if lf > 0 and math.isfinite(lb) else "no ratio"
    return Verdict(bool(ok), ("" if alive else "a run diverged; ") + f"λ_max at the final weights: {_label(base)} "
                   f"{lb:.3g}, {_label(flat)} {lf:.3g} ({ratio}); test loss {te_b:.3g} → {te_f:.3g}, train–test gap "
                   f"{gap_b:.3g} → {gap_f:.3g}, test accuracy {ac_b:.1%} → {ac_f:.1%}")


def sv_median(rec, layer: int) -> float:
    """The median singular value of weight matrix ``layer``'s last update over its largest (1: every
    direction of the step the same size; near 0: a few directions carry it)."""
    sv = np.asarray(rec["update_sv"][layer], np.float64)
    return float(np.median(sv) / sv[0]) if sv.size and sv[0] > 0 else 0.0


def check_orthogonal(runs: Runs, layer: int = 1, even: float = 0.5, uneven: float = 0.1,
                     other: str = "adamw") -> Verdict:
    """The median singular value of Muon's last update of weight matrix ``layer`` is at least
    ``even`` × its largest; ``other``'s at most ``uneven`` × its largest."""
    if v := missing(runs, ("muon", other), _label):
        return v
    if len(runs["muon"]["update_sv"]) <= layer + 1:
        return Verdict(None, "the claim reads the hidden-to-hidden weights: choose two hidden layers or more")
    m_m, m_o = sv_median(runs["muon"], layer), sv_median(runs[other], layer)
    n = len(runs["muon"]["update_sv"][layer])
    above = {k: int(np.sum(np.asarray(runs[k]["update_sv"][layer]) >= 0.5 * runs[k]["update_sv"][layer][0]))
             for k in ("muon", other)}
    ok = m_m >= even and m_o <= uneven and runs["muon"]["diverged_epoch"] is None
    return Verdict(bool(ok), f"the last update of layer {layer + 1}'s {n} × {n} weights: median singular value "
                   f"{m_m:.2f} × the largest for {_label('muon')} ({above['muon']} of {n} at least half the largest), "
                   f"{m_o:.2g} × for {_label(other)} ({above[other]} of {n})")


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
        Lesson(
            "no_schedule", "No schedule needed: schedule-free AdamW",
            "Schedule-free AdamW averages its iterates instead of decaying α: at a constant α it ends below AdamW "
            "with a cosine schedule fitted to the run, and far below AdamW at the same constant α (set the schedule "
            "to constant: AdamW then ends at least 5× higher).",
            PAGE, {**BASE, "opts": ["adamw", "schedule_free"], "adamw.lr": 0.05, "schedule_free.lr": 0.05,
                   "sched": "cosine", "sched.cosine.total": 800.0, "sched.cosine.final": 0.0},
            "The 2 × 16 tanh network on the two moons, 100 epochs of 8 mini-batches, α₀ = 0.05 for both. AdamW "
            "follows a cosine schedule fitted to the run: T = 800 updates, α from 0.05 down to 0 at the end. "
            "Schedule-free AdamW ignores the schedule and keeps α = 0.05 throughout: the loss is evaluated at the "
            "average of its iterates, which does the decay's work. After 100 epochs its training loss is below "
            "AdamW's, and its test accuracy is no lower.",
            check_no_schedule,
        ),
        Lesson(
            "orthogonal", "Orthogonalized updates: Muon",
            "Muon replaces each weight matrix's momentum by its nearest orthogonal matrix: its step moves most "
            "directions by about the same amount, where AdamW's step is carried by a few.",
            PAGE, {**BASE, "data": "blobs", "classes": 8, "m": 600, "loss": "softmax_cross_entropy",
                   "opts": ["muon", "adamw"]},
            "Eight Gaussian blobs, the 2 × 16 tanh network, 100 epochs, each rule at its default α (Muon 0.02, "
            "AdamW 0.01). The panel below the boundaries draws the singular values of the last update ΔW of the "
            "16 × 16 weights between the hidden layers. Muon's step is U Vᵀ of its momentum (Newton–Schulz): its "
            "median singular value is at least half its largest. AdamW scales each weight apart, and a few "
            "directions carry its step: its median singular value is at most a tenth of its largest.",
            check_orthogonal,
        ),
        Lesson(
            "flat_network", "Flat minima on a network: SAM",
            "SAM against GD on a small, noisy training set: at the same α it ends in a minimum at least twice as "
            "flat, here with a lower test loss; flatter helps the test set, but does not guarantee it.",
            PAGE, {**BASE, "m": 80, "noise": 0.3, "test": 0.5, "depth": 3, "width": 64, "act": "relu",
                   "opts": ["gd", "sam"], "gd.lr": 0.1, "sam.lr": 0.1, "sam.rho": 0.15, "epochs": 300},
            "40 noisy training moons and the 3 × 64 ReLU network of the overfitting lesson, 300 epochs of "
            "mini-batches of 32, λ = 0. GD and SAM over GD start from the same weights, see the same mini-batches "
            "and take the same α = 0.1; SAM takes each gradient at W + ρ g/‖g‖ with ρ = 0.15. The sharpness "
            "λ_max(∇²J), the largest curvature of the training loss at the weights where a run ends, is at least 2× "
            "smaller for SAM than for GD: a flatter minimum. On this split SAM also generalizes better: its test "
            "loss is lower, its train–test gap smaller, and its test accuracy no lower. Flatter does not guarantee "
            "it: with seed 10 (another split, initialization and mini-batches) SAM still ends at least 2× flatter, "
            "but its test loss ends above GD's.",
            check_flat_network,
        ),
    ]
}


def values(lesson: Lesson) -> dict[str, Any]:
    """Every setting of the page for ``lesson``: its own, the first lesson's for the rest, and the
    noise of its data set unless it names one."""
    return {"noise": N.DATASETS[lesson.settings["data"]].noise, **BASE, **lesson.settings}


def schedule(v: Mapping[str, Any]) -> tuple[str, dict[str, float]]:
    """The page's schedule in settings ``v`` (``sched``, ``sched.<name>.<param>``; constant by
    default) with its parameters, the schedule's defaults for those not named."""
    name = v.get("sched", "constant")
    return name, {h.name: float(v.get(f"sched.{name}.{h.name}", h.default)) for h in SCHEDULES[name].params}


def run_lesson(lesson: Lesson) -> dict[str, dict[str, Any]]:
    """The lesson's runs as the page makes them (each optimizer at its default hyperparameters but
    those the lesson sets, the page's schedule but for the rules that are their own
    (``schedule_of``), with their sharpness at the end when SAM is among them; and the λ = 0 / λ
    pair when the overfitting panel is on)."""
    v = values(lesson)
    k = int(v["classes"])
    data = make_data(v["data"], int(v["m"]), float(v["noise"]), int(v["seed"]), k, float(v["test"]))
    sizes = N.mlp_sizes(int(v["depth"]), int(v["width"]), 2, N.LOSSES[v["loss"]].n_outputs(k))
    batch = len(data.y_train) if v["batch"] == "m" else int(v["batch"])

    def hp(name: str) -> dict[str, float]:  # the hyperparameters the lesson sets (the defaults for the rest)
        return {h.name: v[f"{name}.{h.name}"] for h in OPTIMIZERS[name].hparams if f"{name}.{h.name}" in v}

    def one(name: str, lam: float) -> dict[str, Any]:
        params = N.init_mlp(int(v["seed"]), sizes, default_init(v["act"]))
        f = fit(params, data, name, int(v["epochs"]), batch, hp(name), int(v["seed"]), v["act"], v["loss"], lam,
                *schedule_of(name, *schedule(v)))
        return run_record(f, data, v["act"], v["loss"], lam, measures_sharpness(v["opts"]))

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
