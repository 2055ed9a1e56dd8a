"""Learning-rate decay lessons as data: each a full configuration (surface, optimizer, α₀,
start, steps, gradient noise, seed, schedules with their parameters), the claim it teaches,
and a check that measures the claim on the runs.  The page shows the check's verdict; the
tests assert it on fixed seeds.

A run result is a mapping with ``loss`` (steps + 1,), ``lr`` (steps,) and ``diverged_at``
(int or None): what ``ui.cache.trajectory`` returns, and what ``run_lesson`` returns here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optim.rules import OPTIMIZERS
from optim.runner import run
from optim.schedules import SCHEDULES
from surfaces import SURFACES

Results = Mapping[str, Mapping[str, Any]]


class Verdict(NamedTuple):
    """Whether the claim holds on these runs (None: the runs it compares are not all there)."""

    holds: bool | None
    detail: str


# --- measures -------------------------------------------------------------------------------------


def schedule_curve(name: str, lr: float, params: Mapping[str, float] | None, steps: int):
    """(t, α_t) for t = 0, 1, …, steps, from the registry's schedule (t = updates already made)."""
    t = np.arange(steps + 1, dtype=np.float32)
    return t, np.asarray(SCHEDULES[name](t, float(lr), params), np.float64)


def settled_loss(loss, diverged_at: int | None = None, frac: float = 0.1) -> float:
    """The mean of f − f* over the last ``frac`` of the steps: where a run has settled
    (or keeps bouncing).  Infinite for a run that diverged."""
    if diverged_at is not None:
        return float("inf")
    loss = np.asarray(loss, np.float64)
    w = max(1, int(round(frac * (len(loss) - 1))))
    return float(np.mean(loss[-w:]))


def window_mean(loss, start: int, stop: int) -> float:
    return float(np.mean(np.asarray(loss, np.float64)[max(start, 0):stop]))


def drops(lr) -> np.ndarray:
    """The steps t at which the rate falls below the previous step's (step decay's drops)."""
    lr = np.asarray(lr, np.float64)
    return np.flatnonzero(lr[1:] < lr[:-1] * (1 - 1e-6)) + 1


def gd_stability_limit(f: Callable, point) -> float:
    """2 / λ_max of the Hessian of f at ``point``: plain GD with a larger α diverges there."""
    h = jax.hessian(f)(jnp.asarray(point, jnp.float32))
    lam = float(jnp.max(jnp.linalg.eigvalsh(h)))
    return 2.0 / lam if lam > 0 else float("inf")


def _gaps(results: Results, f_star: float) -> dict[str, np.ndarray]:
    return {k: np.asarray(r["loss"], np.float64) - f_star for k, r in results.items()}


def _label(name: str) -> str:
    return SCHEDULES[name].label


def _missing(results: Results, needed: tuple[str, ...]) -> Verdict | None:
    absent = [n for n in needed if n not in results]
    if absent:
        return Verdict(None, "the claim compares " + ", ".join(_label(n) for n in needed) + ": add "
                       + ", ".join(_label(n) for n in absent) + " to the schedules")
    return None


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


@dataclass(frozen=True)
class DecayLesson:
    """A full configuration of the decay page and the claim it demonstrates.

    ``schedules``: (name, ((param, value), …)) pairs, unset parameters at their registry
    defaults.  ``hp``: the optimizer's hyperparameters other than α₀ (registry defaults else).
    ``start`` None: the surface's own start."""

    key: str
    title: str
    claim: str
    schedules: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    lr: float
    steps: int
    noise: float
    check: Callable[..., Verdict] = field(compare=False, repr=False)
    seed: int = 0
    start: tuple[float, float] | None = None
    surface: str = "bowl"
    optimizer: str = "gd"
    hp: tuple[tuple[str, float], ...] = ()
    tol: float = 1e-3

    @property
    def schedule_names(self) -> list[str]:
        return [name for name, _ in self.schedules]

    def schedule_params(self, name: str) -> dict[str, float]:
        return {**SCHEDULES[name].defaults, **dict(dict(self.schedules).get(name, ()))}

    @property
    def hparams(self) -> dict[str, float]:
        return {**OPTIMIZERS[self.optimizer].defaults, **dict(self.hp), "lr": self.lr}

    @property
    def x0(self) -> tuple[float, float]:
        return tuple(map(float, self.start or SURFACES[self.surface].start))

    def page_values(self) -> dict[str, Any]:
        """The decay page's settings (widget keys = URL parameters) for this configuration."""
        opt = OPTIMIZERS[self.optimizer]
        out = {"surface": self.surface, "opt": self.optimizer, "steps": self.steps, "noise": self.noise,
               "seed": self.seed, "tol": self.tol, "scheds": self.schedule_names, "x0": self.x0[0],
               "y0": self.x0[1], **{f"{opt.name}.{k}": float(v) for k, v in self.hparams.items()}}
        if len(opt.conventions) > 1:
            out[f"{opt.name}.convention"] = "course"
        for name in self.schedule_names:
            out.update({f"d.{name}.{k}": float(v) for k, v in self.schedule_params(name).items()})
        return out

    def verdict(self, results: Results, f_star: float = 0.0) -> Verdict:
        """The check of the claim on ``results`` (schedule name → run result)."""
        return self.check(results, f_star, self.tol)


LESSONS: dict[str, DecayLesson] = {
    lesson.key: lesson
    for lesson in [
        DecayLesson(
            "oscillates", "Constant lr oscillates",
            "Noisy gradients (σ = 3, as in SGD) on the ill-conditioned bowl: with a constant α the run "
            "reaches the minimum, then keeps bouncing around it, as far as α·σ throws it. Every decay "
            "shrinks the bounces: over the last 10 % of the steps each one's mean loss is at least 3× "
            "below the constant rate's.",
            (("constant", ()), ("time", (("k", 0.05),)), ("step", (("gamma", 0.5), ("step_size", 50.0))),
             ("exponential", (("k", 0.01),))),
            lr=0.07, steps=512, noise=3.0, check=check_bounces, tol=1e-2,
        ),
        DecayLesson(
            "stall", "Too fast a decay stalls",
            "Exponential decay with k = 0.05 spends its whole budget Σα_t ≈ α₀/k = 1.4 in the first "
            "hundred steps: the run freezes halfway down the valley, its loss stops changing (< 1 % "
            "from mid-run to the end) and ends at least 3× above the slower time-based decay "
            "(k = 0.01), which keeps moving.",
            (("constant", ()), ("time", (("k", 0.01),)), ("exponential", (("k", 0.05),))),
            lr=0.07, steps=512, noise=1.0, check=check_stall, tol=1e-2,
        ),
        DecayLesson(
            "too_large", "Too large a rate at the start",
            "α₀ = 0.15 is above GD's stability limit 2/λ_max = 0.1 on this bowl: with a constant rate the "
            "steep direction doubles every step and the run diverges. A decay brings α below the limit "
            "after a few steps: the run comes back from its excursion and converges (f − f* ≤ 10⁻³).",
            (("constant", ()), ("time", (("k", 0.1),)), ("exponential", (("k", 0.03),))),
            lr=0.15, steps=512, noise=0.0, start=(-2.8, 0.2), check=check_too_large, tol=1e-3,
        ),
        DecayLesson(
            "plateaus", "Step decay plateaus then drops",
            "Step decay holds α for s = 150 steps: the noisy loss sits on a plateau (the noise floor of "
            "that α), then falls when α is cut by γ = 0.2. The first drop lowers the plateau at least 2×, "
            "and at the end step decay sits at least 2× below the constant rate. Later drops help less: "
            "α is by then too small to move the run along the flat direction.",
            (("constant", ()), ("step", (("gamma", 0.2), ("step_size", 150.0)))),
            lr=0.07, steps=512, noise=3.0, check=check_plateaus, tol=1e-2,
        ),
    ]
}


def run_lesson(lesson: DecayLesson, seed: int | None = None) -> dict[str, dict[str, Any]]:
    """One run per schedule of the lesson (same optimizer, start, noise and seed), as NumPy.
    Every field is recorded, as the page's cached runs do: both share one compilation."""
    s = SURFACES[lesson.surface]
    out = {}
    for name in lesson.schedule_names:
        tr = run(lesson.optimizer, s.grad, np.asarray(lesson.x0, np.float32), lesson.steps, loss_fn=s.f,
                 schedule=name, schedule_params=lesson.schedule_params(name), noise=lesson.noise,
                 seed=lesson.seed if seed is None else seed, **lesson.hparams)
        out[name] = {"params": np.asarray(tr.params), "loss": np.asarray(tr.loss), "lr": np.asarray(tr.lr),
                     "diverged_at": tr.diverged_at}
    return out
