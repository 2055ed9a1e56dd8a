"""The loss landscape page's lessons: the network page's task and optimizers (the same settings,
with the same meaning), their paths on a plane through one run's final weights, and claims
measured on that plane.

``runs`` maps a run's key to its record (``surfaces.landscape.path_record``: the curves of
``surfaces.training.as_record``, ``sharpness``) merged with its ``path_summary`` on the plane
(``travel``, ``kept``, ``gap_mean``, ``gap_max``, ``gap_start``).  A run's key is its optimizer's
name, or ``<optimizer>@<batch>`` for the first optimizer trained again with the second batch
size (``batch2``).  ``explained``: the PCA axes' shares (None on a random plane).  Every check is
``check(runs, explained) -> Verdict``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from lessons import network as NL
from lessons.core import Lesson, Verdict, missing
from optim.rules import OPTIMIZERS
from surfaces import landscape as L
from surfaces import network as N
from surfaces.training import default_init, fit, make_data

PAGE = "landscape"
PATH_POINTS = 100
NO_BATCH2 = "none"
LAST = "last"
Runs = Mapping[str, Mapping[str, Any]]
# The network page's defaults (a link of that page means the same here) and the plane's.
BASE: dict[str, Any] = {**NL.BASE, "batch2": NO_BATCH2, "centre": LAST, "plane": "pca", "grid": 25, "span": 1.25}


def label(key: str) -> str:
    """A run's name: the optimizer's, and its batch size for the second-batch run."""
    name, _, batch = key.partition("@")
    return OPTIMIZERS[name].label + (f", batch {batch}" if batch else "")


def _last(rec, key: str) -> float:
    return float(rec[key][-1])


def _fmt(runs: Runs, names, *keys) -> str:
    return "; ".join(f"{label(n)}: " + ", ".join(f"{k.replace('_', ' ')} {float(_get(runs[n], k)):.3g}" for k in keys)
                     for n in names)


def _get(rec, key):
    return rec[key][-1] if isinstance(rec[key], np.ndarray) else rec[key]


def check_four(runs: Runs, explained, fast=("rmsprop", "adam"), slow=("gd", "momentum"), share: float = 0.9,
               factor: float = 5.0) -> Verdict:
    """The PCA axes explain at least ``share`` of the paths together; each ``fast`` path travels
    at least ``factor`` × as far on the plane as the farthest ``slow`` one."""
    if v := missing(runs, (*fast, *slow), label):
        return v
    if explained is None:
        return Verdict(None, "the claim is about the PCA plane: choose it")
    far = max(runs[n]["travel"] for n in slow)
    ok = sum(explained) >= share and all(runs[n]["travel"] >= factor * far for n in fast)
    return Verdict(bool(ok), f"the two axes explain {explained[0]:.0%} + {explained[1]:.0%}; "
                   + _fmt(runs, (*slow, *fast), "travel", "train_loss"))


def check_adam_sgd(runs: Runs, explained, kept: float = 0.95, factor: float = 5.0, fit_below: float = 0.01) -> Verdict:
    """The plane keeps at least ``kept`` of both paths; Adam travels ≥ ``factor`` × as far as GD
    on it and ends with a train loss below ``fit_below``, GD at ``factor`` × that or more."""
    if v := missing(runs, ("gd", "adam"), label):
        return v
    gd, adam = runs["gd"], runs["adam"]
    ok = min(gd["kept"], adam["kept"]) >= kept and adam["travel"] >= factor * gd["travel"]
    ok &= _last(adam, "train_loss") < fit_below <= _last(gd, "train_loss") / factor
    return Verdict(bool(ok), _fmt(runs, ("gd", "adam"), "kept", "travel", "train_loss"))


def check_sharp_flat(runs: Runs, explained, small: str = "adam", large: str = "adam@m", fit_below: float = 0.01,
                     factor: float = 1.5) -> Verdict:
    """Both runs fit the training set (loss below ``fit_below``); the ``large`` batch's minimum is
    at least ``factor`` × as sharp as the ``small`` one's."""
    if v := missing(runs, (small, large), label):
        return v
    ok = all(_last(runs[n], "train_loss") < fit_below for n in (small, large))
    ok &= runs[large]["sharpness"] >= factor * runs[small]["sharpness"]
    return Verdict(bool(ok), _fmt(runs, (small, large), "train_loss", "sharpness"))


def check_deep(runs: Runs, explained, name: str = "adam", accuracy: float = 0.8, sharp: float = 0.5) -> Verdict:
    """The run learns (test accuracy ≥ ``accuracy``) into a sharp minimum (sharpness > ``sharp``)."""
    if v := missing(runs, (name,), label):
        return v
    r = runs[name]
    ok = _last(r, "test_acc") >= accuracy and r["sharpness"] > sharp
    return Verdict(bool(ok), _fmt(runs, (name,), "test_acc", "sharpness"))


SHARP = f"α = {L.SHARP_ALPHA:g}"
LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "four", "The landscape of four optimizers",
            "The real loss surface of the network page's network, with four optimizers' paths on it.",
            PAGE, BASE,
            "The network page's run (2 × 16 tanh on two moons, α = 0.01 for all), drawn on the plane of the PCA of "
            "all four paths through Adam's final weights: its two axes explain at least 90 % of the paths, so the "
            "picture is faithful; RMSprop and Adam travel at least 5× as far on it as GD and momentum, which stay "
            "on the slope near the start.",
            check_four,
        ),
        Lesson(
            "adam_sgd", "Adam vs SGD on the same landscape",
            "Mini-batch GD and Adam from the same weights: one plane, two very different walks.",
            PAGE, {**BASE, "opts": ["gd", "adam"]},
            "Mini-batch GD and Adam, same start, mini-batches and α = 0.01: the plane keeps at least 95 % of both "
            "paths; Adam travels at least 5× as far on it and ends with a train loss below 0.01, GD with one at "
            "least 5× higher.",
            check_adam_sgd,
        ),
        Lesson(
            "sharp_flat", "Sharp vs flat: small and large batches",
            "Adam with mini-batches of 8 and with the whole batch: both fit, one minimum is flatter.",
            PAGE, {**BASE, "opts": ["adam"], "batch": "8", "batch2": "m", "epochs": 500, "plane": "random",
                   "span": 1.0},
            "Adam for 500 epochs with mini-batches of 8 and with the whole batch (m): both fit the training set "
            f"(loss below 0.01), but the full batch's minimum is sharper: stepping every filter by a quarter of its "
            f"own norm ({SHARP}, 16 random filter-normalized directions, Li et al.) raises its loss at least 1.5× as "
            "much as the small batch's. Measured on this task and seed, not a law: try other data sets.",
            check_sharp_flat,
        ),
        Lesson(
            "deep", "A deep, narrow network on three spirals",
            "Six hidden layers of 8 units learn the spirals into a sharp minimum.",
            PAGE, {**BASE, "data": "spirals", "classes": 3, "m": 600, "depth": 6, "width": 8,
                   "loss": "softmax_cross_entropy", "opts": ["adam"], "epochs": 200},
            "Three spirals and a deep, narrow network (6 hidden layers of 8 tanh units), Adam for 200 epochs: it "
            "learns them (test accuracy of 80 % or more), into a sharp minimum: stepping every filter by a quarter "
            f"of its own norm ({SHARP}) raises the loss by more than 0.5 on average (on the four optimizers' "
            "landscape of the moons, Adam's minimum rises by less than 0.05).",
            check_deep,
        ),
    ]
}


def values(lesson: Lesson) -> dict[str, Any]:
    """Every setting of the page for ``lesson``: its own, the page's defaults for the rest, and the
    noise of its data set unless it names one."""
    return {"noise": N.DATASETS[lesson.settings["data"]].noise, **BASE, **lesson.settings}


def jobs(opts, batch: str, batch2: str) -> list[tuple[str, str, str]]:
    """(run key, optimizer, batch size) of each run: every optimizer at ``batch``, and the first
    again at ``batch2`` unless it is ``NO_BATCH2`` or the same."""
    out = [(o, o, batch) for o in opts]
    if opts and batch2 not in (NO_BATCH2, batch):
        out.append((f"{opts[0]}@{batch2}", opts[0], batch2))
    return out


def centre_of(keys: list[str], centre: str) -> str:
    """The run whose final weights are the plane's centre: ``centre``'s main run, else the last."""
    return centre if centre in keys else keys[-1]


def run_lesson(lesson: Lesson) -> tuple[dict[str, dict[str, Any]], Any]:
    """The lesson's runs and plane as the page makes them: (runs, explained)."""
    v = values(lesson)
    k = int(v["classes"])
    data = make_data(v["data"], int(v["m"]), float(v["noise"]), int(v["seed"]), k, float(v["test"]))
    sizes = N.mlp_sizes(int(v["depth"]), int(v["width"]), 2, N.LOSSES[v["loss"]].n_outputs(k))
    m = len(data.y_train)
    recs = {}
    for key, opt, b in jobs(v["opts"], v["batch"], v["batch2"]):
        params = N.init_mlp(int(v["seed"]), sizes, default_init(v["act"]))
        f = fit(params, data, opt, int(v["epochs"]), m if b == "m" else int(b), None, int(v["seed"]), v["act"],
                v["loss"], float(v["lam"]), path_points=PATH_POINTS)
        recs[key] = L.path_record(f, data.X_train, data.y_train, v["act"], v["loss"])
    keys = list(recs)
    centre = recs[centre_of(keys, v["centre"])]["path"]
    ls = L.landscape([r["path"] for r in recs.values()], L.final(centre), data.X_train, data.y_train,
                     data.X_test, data.y_test, v["act"], v["loss"], v["plane"], int(v["grid"]), float(v["span"]),
                     int(v["seed"]))
    return {key: {**rec, **L.path_summary(ls, i)} for i, (key, rec) in enumerate(recs.items())}, ls.explained


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(*run_lesson(lesson))
