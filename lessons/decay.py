"""The learning-rate decay page's lessons: each a full configuration of the page (surface,
optimizer, α₀, start, steps, gradient noise, seed, schedules with their parameters), the claim
it teaches, and a check that measures the claim on the runs.

The page's runs are one per schedule: ``runs`` maps a schedule's name to what
``optim.runner.surface_record`` returns (``loss`` (steps + 1,), ``lr`` (steps,), ``diverged_at``).
A lesson's check is ``check(runs, surface)``; the checks below take ``(runs, f*, tolerance)``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping

import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim.metrics import drops, settled_loss, window_mean
from optim.rules import OPTIMIZERS
from optim.runner import surface_record
from optim.schedules import SCHEDULES
from surfaces import SURFACES

PAGE = "decay"
Results = Mapping[str, Mapping[str, Any]]


def _gaps(results: Results, f_star: float) -> dict[str, np.ndarray]:
    return {k: np.asarray(r["loss"], np.float64) - f_star for k, r in results.items()}


def _label(name: str) -> str:
    return SCHEDULES[name].label


def _missing(results: Results, needed: tuple[str, ...]) -> Verdict | None:
    v = missing(results, needed, _label)
    return v and Verdict(None, v.detail + " to the schedules")


# --- the claims -----------------------------------------------------------------------------------


def check_bounces(results: Results, f_star: float = 0.0, tol: float = 0.0, factor: float = 3.0) -> Verdict:
    """Every decaying schedule settles ≥ ``factor``× lower than the constant rate (last 10 %).
    Each check takes (results, f*, tolerance) and uses what it needs."""
    if (v := _missing(results, ("constant",))) or len(results) < 2:
        return v or Verdict(None, "add a decaying schedule to compare with the constant rate")
    gaps = _gaps(results, f_star)
    const = settled_loss(gaps["constant"], results["constant"]["diverged_at"])
    parts, ok = [f"constant {const:.3g}"], True
    for name in results:
        if name == "constant":
            continue
        s = settled_loss(gaps[name], results[name]["diverged_at"])
        ok &= bool(const >= factor * s)
        parts.append(f"{_label(name).lower()} {s:.3g} ({const / s:.0f}× lower)" if s > 0 else
                     f"{_label(name).lower()} {s:.3g}")
    return Verdict(ok, "mean f − f* over the last 10 % of the steps: " + "; ".join(parts))


def check_stall(results: Results, f_star: float = 0.0, tol: float = 0.0, factor: float = 3.0,
                still: float = 0.01) -> Verdict:
    """Exponential decay stops moving (its loss changes < ``still`` between mid-run and the end)
    and ends ≥ ``factor``× above the slower time-based decay."""
    if v := _missing(results, ("exponential", "time")):
        return v
    gaps = _gaps(results, f_star)
    exp, n = gaps["exponential"], len(gaps["exponential"]) - 1
    w = max(1, n // 10)
    end, mid = settled_loss(exp, results["exponential"]["diverged_at"]), window_mean(exp, n // 2 - w, n // 2)
    change = abs(mid - end) / max(end, 1e-30)
    slow = settled_loss(gaps["time"], results["time"]["diverged_at"])
    ok = bool(change < still and end >= factor * slow)
    return Verdict(ok, f"exponential: mean f − f* {mid:.3g} at mid-run, {end:.3g} at the end "
                       f"({100 * change:.2g} % change: stalled); time-based ends at {slow:.3g} "
                       f"({end / max(slow, 1e-30):.0f}× lower)")


def check_too_large(results: Results, f_star: float = 0.0, tol: float = 1e-3) -> Verdict:
    """The constant rate diverges; every decaying schedule stays finite and ends with f − f* ≤ tol."""
    if (v := _missing(results, ("constant",))) or len(results) < 2:
        return v or Verdict(None, "add a decaying schedule to compare with the constant rate")
    div = results["constant"]["diverged_at"]
    ok = div is not None
    parts = [f"constant diverged at step {div}" if ok else "constant did not diverge"]
    gaps = _gaps(results, f_star)
    for name in results:
        if name == "constant":
            continue
        d = results[name]["diverged_at"]
        end = float(gaps[name][-1]) if d is None else float("inf")
        peak = float(np.nanmax(gaps[name][: d if d is not None else None]))
        ok &= d is None and end <= tol
        parts.append(f"{_label(name).lower()} {'diverged' if d is not None else 'recovered'} "
                     f"(peak f − f* {peak:.3g}, final {end:.2g})")
    return Verdict(bool(ok), "; ".join(parts) + f"; tolerance {tol:g}")


def check_plateaus(results: Results, f_star: float = 0.0, tol: float = 0.0, factor: float = 2.0) -> Verdict:
    """Step decay: the first drop of the rate lowers the mean loss ≥ ``factor``× (the second
    half of the plateau before it against the second half of the plateau after it), and at
    the end step decay sits ≥ ``factor``× below the constant rate."""
    if v := _missing(results, ("step", "constant")):
        return v
    gaps = _gaps(results, f_star)
    n = len(gaps["step"]) - 1
    cuts = [int(c) for c in drops(results["step"]["lr"])]
    if not cuts:
        return Verdict(False, "the rate never drops within the run: make s smaller or the run longer")
    edges = [0, *cuts, n]
    levels = [window_mean(gaps["step"], (a + b) // 2, b) for a, b in zip(edges[:-1], edges[1:])]
    step_end = settled_loss(gaps["step"], results["step"]["diverged_at"])
    const_end = settled_loss(gaps["constant"], results["constant"]["diverged_at"])
    ok = bool(levels[0] >= factor * levels[1] and const_end >= factor * step_end)
    return Verdict(ok, "step decay's plateaus (mean f − f*): " + " → ".join(f"{v:.3g}" for v in levels)
                   + f", drops at t = {', '.join(map(str, cuts))}; at the end {step_end:.3g} "
                     f"against constant {const_end:.3g} ({const_end / max(step_end, 1e-30):.0f}× lower)")


# --- the lessons ----------------------------------------------------------------------------------


def _on_surface(check: Callable[..., Verdict], tol: float, runs: Results, surface) -> Verdict:
    return check(runs, surface.min_value or 0.0, tol)


def _lesson(key: str, title: str, text: str, claim: str, schedules, *, lr: float, steps: int, noise: float,
            check: Callable[..., Verdict], tol: float, seed: int = 0, start=None, surface: str = "bowl",
            optimizer: str = "gd") -> Lesson:
    """A decay lesson, every setting of the page named: ``schedules`` are (name, {param: value})
    pairs, unnamed parameters at the registry's defaults; the optimizer's other hyperparameters
    at theirs; ``start`` None: the surface's own."""
    x0 = tuple(map(float, start or SURFACES[surface].start))
    opt = OPTIMIZERS[optimizer]
    settings = {"surface": surface, "opt": optimizer, "steps": steps, "noise": noise, "seed": seed, "tol": tol,
                "scheds": [name for name, _ in schedules], "x0": x0[0], "y0": x0[1],
                **{f"{optimizer}.{k}": float(v) for k, v in {**opt.defaults, "lr": lr}.items()}}
    if len(opt.conventions) > 1:
        settings[f"{optimizer}.convention"] = "course"
    for name, params in schedules:
        settings.update({f"d.{name}.{k}": float(v) for k, v in {**SCHEDULES[name].defaults, **params}.items()})
    return Lesson(key, title, text, PAGE, settings, claim, partial(_on_surface, check, tol))


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        _lesson(
            "oscillates", "Constant lr oscillates",
            "A constant rate keeps bouncing around the minimum; a decaying one settles.",
            "Noisy gradients (σ = 3, as in SGD) on the ill-conditioned bowl: with a constant α the run "
            "reaches the minimum, then keeps bouncing around it, as far as α·σ throws it. Every decay "
            "shrinks the bounces: over the last 10 % of the steps each one's mean loss is at least 3× "
            "below the constant rate's.",
            (("constant", {}), ("time", {"k": 0.05}), ("step", {"gamma": 0.5, "step_size": 50.0}),
             ("exponential", {"k": 0.01})),
            lr=0.07, steps=512, noise=3.0, check=check_bounces, tol=1e-2,
        ),
        _lesson(
            "stall", "Too fast a decay stalls",
            "Decay too fast and the run freezes before it gets there.",
            "Exponential decay with k = 0.05 spends its whole budget Σα_t ≈ α₀/k = 1.4 in the first "
            "hundred steps: the run freezes halfway down the valley, its loss stops changing (< 1 % "
            "from mid-run to the end) and ends at least 3× above the slower time-based decay "
            "(k = 0.01), which keeps moving.",
            (("constant", {}), ("time", {"k": 0.01}), ("exponential", {"k": 0.05})),
            lr=0.07, steps=512, noise=1.0, check=check_stall, tol=1e-2,
        ),
        _lesson(
            "too_large", "Too large a rate at the start",
            "A rate above the stability limit diverges; decayed, it comes back.",
            "α₀ = 0.15 is above GD's stability limit 2/λ_max = 0.1 on this bowl: with a constant rate the "
            "steep direction doubles every step and the run diverges. A decay brings α below the limit "
            "after a few steps: the run comes back from its excursion and converges (f − f* ≤ 10⁻³).",
            (("constant", {}), ("time", {"k": 0.1}), ("exponential", {"k": 0.03})),
            lr=0.15, steps=512, noise=0.0, start=(-2.8, 0.2), check=check_too_large, tol=1e-3,
        ),
        _lesson(
            "plateaus", "Step decay plateaus then drops",
            "Step decay: the loss sits on a plateau, then falls when the rate is cut.",
            "Step decay holds α for s = 150 steps: the noisy loss sits on a plateau (the noise floor of "
            "that α), then falls when α is cut by γ = 0.2. The first drop lowers the plateau at least 2×, "
            "and at the end step decay sits at least 2× below the constant rate. Later drops help less: "
            "α is by then too small to move the run along the flat direction.",
            (("constant", {}), ("step", {"gamma": 0.2, "step_size": 150.0})),
            lr=0.07, steps=512, noise=3.0, check=check_plateaus, tol=1e-2,
        ),
    ]
}


def schedule_params(settings: Mapping[str, Any], name: str) -> dict[str, float]:
    """The parameters of schedule ``name`` in the page's ``settings`` (``d.<name>.<param>``)."""
    return {h.name: float(settings[f"d.{name}.{h.name}"]) for h in SCHEDULES[name].params}


def run_lesson(lesson: Lesson, seed: int | None = None) -> dict[str, dict[str, Any]]:
    """One run per schedule of the lesson, as the page makes them (``surface_record``, same
    optimizer, start, noise and seed; ``seed`` replaces the lesson's)."""
    v = lesson.settings
    opt = v["opt"]
    hp = {h.name: float(v[f"{opt}.{h.name}"]) for h in OPTIMIZERS[opt].hparams}
    return {name: surface_record(SURFACES[v["surface"]], opt, (v["x0"], v["y0"]), int(v["steps"]), hp=hp,
                                 schedule=name, schedule_params=schedule_params(v, name), noise=float(v["noise"]),
                                 seed=int(v["seed"] if seed is None else seed))
            for name in v["scheds"]}


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(run_lesson(lesson), SURFACES[lesson.settings["surface"]])
